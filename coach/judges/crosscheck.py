"""The judge that checks itself: where the built-in rules and a model judge disagree sharply.

The built-in judge costs well under a millisecond, so it reads every reply a model judges.
The model's verdict stands; a sharp disagreement is stored with the rating and shown, in
words the user can act on. Two kinds count:
- the rules see a horseman or a dismissal, and the model gives that reply a strong positive
  level (2 on a criterion that rewards something said);
- the two overall scores differ by more than `MARGIN` points.
"""

from __future__ import annotations

from coach.core.rubric import CRITERIA, Rating
from coach.judges.acts.policy import FLAG_OF

MARGIN = 35.0  # overall points (0-100); about three criterion levels

def _cut(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def disagreement(model: Rating, builtin: Rating) -> str:
    """One line saying how the built-in rules disagree with the model's rating, or "".

    Both must be scored; otherwise there is nothing to compare.
    """
    if model.status != "scored" or builtin.status != "scored":
        return ""
    strong = [c for c in CRITERIA if c.inverse_of is None and model.level(c.key) == 2]
    harm = list(builtin.flags)  # flags are the four horsemen
    dismissed = builtin.level("no_dismissing") == 0
    if strong and (harm or dismissed):
        seen = harm[0] if harm else "a dismissal"
        quote = _harm_quote(builtin, harm[0] if harm else "minimizing")
        where = f" in '{_cut(quote)}'" if quote else ""
        names = " and ".join(c.name.lower() for c in strong[:2])
        return (
            f"The built-in rules see {seen}{where}; the model rated {names} 2. "
            "Read the reply again as your partner would hear it."
        )
    if model.overall is not None and builtin.overall is not None:
        gap = model.overall - builtin.overall
        if abs(gap) > MARGIN:
            higher, lower = ("model", "built-in rules") if gap > 0 else ("built-in rules", "model")
            return (
                f"The {higher} rated this {abs(gap):.0f} points above the {lower} "
                f"({model.overall:.0f} against {builtin.overall:.0f}); the model's rating stands."
            )
    return ""


def _harm_quote(rating: Rating, flag: str) -> str:
    """The sentence the rules tagged with the harm (a flag, or "minimizing" for a dismissal),
    when the rating carries act tags."""
    return next(
        (a.quote for a in rating.acts if FLAG_OF.get(a.kind, a.kind) == flag), ""
    )

