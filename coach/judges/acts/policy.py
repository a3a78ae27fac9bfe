"""The scoring policy: from the acts of a reply to levels, flags and an overall score.

This is the one place the interactions are written down.

1. **Levels from acts.** Each act raises (listening acts) or lowers (harmful acts) the
   criteria in `RAISES` / `LOWERS`. A positive criterion takes its strongest act; an
   inverse criterion ("no unasked fixing", "stays with them", "no dismissing") starts at 2
   and takes its worst. Giving them what they just asked for (the tagger's `ANSWERS_ASK`
   reasons: "Can we walk after tea?" -> "I'd love that. After tea tomorrow.") also
   validates the need they named (`ANSWER_RAISES`): it takes the bid seriously.
2. **Stock phrases count for little.** A sentence made only of stock phrases ("I hear
   you. That makes sense.") raises a criterion to 1 at most, and all the stock phrases of
   a reply together lift its overall score by at most `STOCK_LIFT` points: saying them
   again never lifts a level.
3. **Harm caps.** A horseman (contempt, criticism, defensiveness, stonewalling) or a
   dismissal ("no dismissing" at 0) means the listening in the same reply is not taken
   at face value: stock phrases count for nothing, other listening counts as weak (1) -
   and with contempt, brief kind words ("oh no", "poor you") count for nothing either -
   the overall is capped (`CAPS`), and then each flag costs `FLAG_COST` points, so a
   hurtful reply always scores below one that merely does nothing.
   **Taken back in the same breath.** When the listener owns or says sorry for the hurt
   later in the same reply ("You're being dramatic. Sorry, that was unkind. What
   happened?"), and nothing hurtful follows, the repair counts: the flags stay (the words
   landed) and each still costs `FLAG_COST`, but the listening after it is taken at face
   value and the cap is `REPAIRED_CAP`, so a caught slip scores above a reply that only
   hurts and below one that never slipped.
4. **Nothing to listen with.** A reply with no listening act at all ("Ok.", advice only, a
   question about the weather) is capped at `EMPTY_CAP`, however little harm it does.
5. **Restraint is not earned by a reply that hurts.** The inverse criteria credit what a
   listener holds back (advice, talk of oneself, brushing it off). A horseman (contempt,
   criticism, defensiveness, stonewalling) or a dismissal is no listening held back, so
   in such a reply every inverse criterion is at most `HARM_RESTRAINT` (1) and is marked
   as not earned: "Honestly you always take everything so personally." gives no advice,
   but it is not "no unasked fixing" done well, and the debrief must not praise it.
6. **Small mercies.** Advice offered after asking whether they want it is tentative (1),
   not unasked (0); a word about oneself that turns straight back to them with an open
   question is brief (1), not self-focus (0).

Pure functions over `ReplyActs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from coach.core.rubric import CRITERIA, MAX_LEVEL, CriterionScore, overall_score
from coach.judges.acts.tagger import ANSWERS_ASK, ReplyActs, Sentence, Tag

# act -> criterion -> level reached at (strength 1, strength 2)
RAISES: dict[str, dict[str, tuple[int, int]]] = {
    "care": {"warmth": (1, 2)},
    "affirmation": {"warmth": (1, 1)},
    "apology": {"warmth": (1, 2), "validation": (1, 1)},
    "ownership": {"validation": (2, 2), "understanding": (1, 1)},
    "validation": {"validation": (1, 2)},
    "understanding_claim": {"understanding": (1, 1), "validation": (1, 1)},
    "simple_reflection": {"understanding": (1, 1)},
    "complex_reflection": {"understanding": (2, 2), "validation": (1, 1)},
    "open_question": {"exploration": (1, 2)},
    "closed_question": {"exploration": (1, 2)},
    "asks_needs": {"asks_needs": (2, 2)},
    "offer_presence": {"asks_needs": (1, 2), "warmth": (1, 1)},
}
# Giving them what they just asked for ("Can we walk after tea?" -> "I'd love that. After tea
# tomorrow.") turns toward their bid: it is warm, and it takes the need seriously.
ANSWER_RAISES: dict[str, tuple[int, int]] = {"validation": (1, 1)}
# act -> criterion -> level fallen to at (strength 1, strength 2)
LOWERS: dict[str, dict[str, tuple[int, int]]] = {
    "advice": {"no_fixing": (1, 0)},
    "self_focus": {"stays_with_them": (1, 0)},
    "defensiveness": {"stays_with_them": (0, 0)},
    "minimizing": {"no_dismissing": (1, 0)},
    "contempt": {"no_dismissing": (0, 0)},
    "blame": {"no_dismissing": (1, 0)},  # "it's your own fault" dismisses the hurt
}
FLAG_OF: dict[str, str] = {
    "contempt": "contempt",
    "blame": "criticism",
    "defensiveness": "defensiveness",
    "withdrawal": "stonewalling",
}
FLAG_ORDER = ("criticism", "contempt", "defensiveness", "stonewalling")
# The highest overall a reply can reach with each kind of harm in it.
CAPS: dict[str, float] = {
    "contempt": 20.0,
    "criticism": 25.0,
    "defensiveness": 30.0,
    "stonewalling": 30.0,
    "dismissal": 40.0,
}
FLAG_COST = 10.0
STOCK_LIFT = 10.0
EMPTY_CAP = 20.0
REPAIRED_CAP = 60.0
REPAIRED_NOTE = (
    "You took back what hurt, in the same reply: that repair counts. The words before it "
    "still landed."
)
HARM_RESTRAINT = 1  # the most an inverse criterion reaches in a reply that hurts (rule 5)
NOT_EARNED = "not earned in a reply that hurts"
NOT_EARNED_NOTE = (
    "Holding back advice or talk of yourself earns at most 1/2 in a reply that hurts: "
    "it is not listening."
)
POSITIVE_CRITERIA = tuple(c.key for c in CRITERIA if c.inverse_of is None)
INVERSE_CRITERIA = tuple(c.key for c in CRITERIA if c.inverse_of is not None)


@dataclass(frozen=True)
class Verdict:
    """What the policy made of a reply's acts."""

    scores: dict[str, CriterionScore]
    flags: list[str]
    overall_cap: float | None
    notes: list[str]
    harmful: bool
    harm_quotes: dict[str, str]  # flag -> the first sentence that raised it


def _levels(
    acts: ReplyActs, *, use_stock: bool, harmful: bool, sneer: bool = False
) -> dict[str, tuple[int, list[tuple[Tag, Sentence]]]]:
    """Level per criterion and the tags that set it."""
    best: dict[str, tuple[int, list[tuple[Tag, Sentence]]]] = {
        k: (0, []) for k in POSITIVE_CRITERIA
    } | {k: (MAX_LEVEL, []) for k in INVERSE_CRITERIA}
    for sent in acts.sentences:
        for tag in sent.tags:
            raises = RAISES.get(tag.act, {})
            if tag.why in ANSWERS_ASK:
                raises = raises | ANSWER_RAISES
            for key, (weak, strong) in raises.items():
                if tag.stock and (harmful or not use_stock):
                    continue
                if sneer and tag.strength == 1:
                    continue  # brief kind words in a sneering reply are part of the sneer
                level = strong if tag.strength == 2 else weak
                if tag.stock or harmful:
                    level = min(level, 1)
                cur, why = best[key]
                if level > cur:
                    best[key] = (level, [(tag, sent)])
                elif level == cur and level > 0:
                    why.append((tag, sent))
            for key, (weak, strong) in LOWERS.get(tag.act, {}).items():
                level = strong if tag.strength == 2 else weak
                cur, why = best[key]
                if level < cur:
                    best[key] = (level, [(tag, sent)])
                elif level == cur and level < MAX_LEVEL:
                    why.append((tag, sent))
    return best


def _mercies(levels: dict[str, tuple[int, list]], acts: ReplyActs) -> dict[str, str]:
    notes = {}
    fix, _ = levels["no_fixing"]
    if fix == 0 and levels["asks_needs"][0] == 2:
        levels["no_fixing"] = (1, levels["no_fixing"][1])
        notes["no_fixing"] = "but asks what they want first"
    stay, why = levels["stays_with_them"]
    if (
        stay == 0
        and levels["exploration"][0] == 2
        and len(acts.sentences) > 1
        and not acts.has("defensiveness")
    ):
        levels["stays_with_them"] = (1, why)
        notes["stays_with_them"] = "returns to them with a question"
    return notes


def _restraint_not_earned(
    levels: dict[str, tuple[int, list]], notes: dict[str, str]
) -> None:
    """Rule 5: in a reply that hurts, no inverse criterion is above HARM_RESTRAINT."""
    for key in INVERSE_CRITERIA:
        level, why = levels[key]
        if level > HARM_RESTRAINT:
            levels[key] = (HARM_RESTRAINT, why)
            notes[key] = NOT_EARNED


def _score(level: int, why: list[tuple[Tag, Sentence]], extra: str = "") -> CriterionScore:
    if not why:  # most criteria of most replies: nothing to quote
        return CriterionScore(level=level, evidence=[], note=extra)
    evidence = list(dict.fromkeys(s.text for _, s in why))
    reasons = list(dict.fromkeys(t.why + (" (a stock phrase)" if t.stock else "") for t, _ in why))
    if extra:
        reasons.append(extra)
    return CriterionScore(level=level, evidence=evidence, note="; ".join(reasons))


def _dismisses(tag: Tag) -> bool:
    """A strong minimizing or contemptuous act: a dismissal (rule 3)."""
    return tag.act in ("minimizing", "contempt") and tag.strength == 2


def _hurts(sent: Sentence) -> bool:
    return any(t.act in FLAG_OF or _dismisses(t) for t in sent.tags)


def repaired(acts: ReplyActs) -> bool:
    """Whether the reply takes back its hurt: after its last hurtful sentence comes one
    that owns it or says sorry for one's part (rule 3, "taken back")."""
    hurt = [i for i, s in enumerate(acts.sentences) if _hurts(s)]
    if not hurt:
        return False
    after = acts.sentences[hurt[-1] + 1 :]
    return any(
        t.act in ("ownership", "apology") and not t.stock for s in after for t in s.tags
    )


def judge_acts(acts: ReplyActs) -> Verdict:
    """Levels per criterion, horsemen flags and the overall cap, from a reply's acts."""
    raised = {FLAG_OF.get(t.act) for s in acts.sentences for t in s.tags}
    flags = [f for f in FLAG_ORDER if f in raised]
    dismissal = any(_dismisses(t) for s in acts.sentences for t in s.tags)
    harmful = bool(flags) or dismissal
    mended = harmful and repaired(acts)
    levels = _levels(acts, use_stock=True, harmful=harmful and not mended,
                     sneer="contempt" in flags and not mended)
    notes_by_key = _mercies(levels, acts)
    if harmful:
        _restraint_not_earned(levels, notes_by_key)
    scores = {c.key: _score(*levels[c.key], notes_by_key.get(c.key, "")) for c in CRITERIA}
    notes: list[str] = []
    caps = [CAPS[f] for f in flags]
    if dismissal:
        caps.append(CAPS["dismissal"])
    if mended:
        caps = [REPAIRED_CAP]
        notes.append(REPAIRED_NOTE)
    raising = acts.tags(*RAISES)
    if harmful and any(n == NOT_EARNED for n in notes_by_key.values()):
        notes.append(NOT_EARNED_NOTE)
    if harmful and any(t.stock for t, _ in raising):
        notes.append("Stock phrases in a reply that also hurts count for nothing.")
    # With stock phrases only, `overall` allows EMPTY_CAP + STOCK_LIFT; with nothing, EMPTY_CAP.
    if not raising:
        caps.append(EMPTY_CAP)
    cap = min(caps) if caps else None
    quotes: dict[str, str] = {}
    for tag, sent in acts.tags(*FLAG_OF):
        quotes.setdefault(FLAG_OF[tag.act], sent.text)
    return Verdict(scores, flags, cap, notes, harmful, quotes)


def overall(acts: ReplyActs, verdict: Verdict, weights: Mapping[str, float]) -> float:
    """The overall 0-100 score under the policy (see the module docstring)."""
    raw = overall_score(verdict.scores, weights)
    if any(t.stock for t, _ in acts.tags(*RAISES)) and not verdict.harmful:
        plain = _levels(acts, use_stock=False, harmful=False)
        _mercies(plain, acts)
        no_stock = {k: CriterionScore(level=v[0]) for k, v in plain.items()}
        base = overall_score(no_stock, weights)
        if not any(not t.stock for t, _ in acts.tags(*RAISES)):
            base = min(base, EMPTY_CAP)
        raw = min(raw, base + STOCK_LIFT)
    if verdict.overall_cap is not None:
        raw = min(raw, verdict.overall_cap)
    # After the cap, so that a hurtful reply always scores below an empty one.
    raw -= FLAG_COST * len(verdict.flags)
    return round(max(raw, 0.0), 1)
