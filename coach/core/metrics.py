"""Session-level metrics and the debrief. Pure functions over turns.

Norms come from motivational-interviewing coding (MITI 4.2): a reflection-to-question ratio
of 1:1 is fair and 2:1 good; complex reflections at 40% of all reflections is fair, 50% good.
"""

from __future__ import annotations

from dataclasses import dataclass

from coach.core.rubric import BY_KEY, CRITERIA, TIPS, Act
from coach.core.scenario import Scenario
from coach.core.session import Turn, mean_levels, mean_overall, user_turns

MITI_NORMS = {
    "reflection_to_question": {"fair": 1.0, "good": 2.0},
    "complex_reflection_share": {"fair": 0.40, "good": 0.50},
}


STRONG_LEVEL = 1.5  # a mean level from here on is a strength; below it, something to try
# a listening criterion this high (partly, on average) makes restraint a strength too
LISTENED_LEVEL = 0.5


def level_band(mean: float) -> int:
    """A mean level (0-2) as the level it is nearest to: 0 not yet, 1 partly, 2 strong.

    The same line the debrief draws: "went well" from STRONG_LEVEL, "try next" below it.
    """
    return 2 if mean >= STRONG_LEVEL else 1 if mean >= 0.5 else 0


@dataclass(frozen=True)
class SessionMetrics:
    replies: int
    reflections: int
    complex_reflections: int
    questions: int
    open_questions: int
    reflection_to_question: float | None
    complex_reflection_share: float | None
    open_question_share: float | None
    advice_before_validation: int
    user_word_share: float | None

    def miti_band(self, name: str) -> str:
        """'good', 'fair' or 'below fair' against the MITI norms ('n/a' with no data)."""
        value = getattr(self, name)
        if value is None:
            return "n/a"
        norms = MITI_NORMS[name]
        return (
            "good"
            if value >= norms["good"]
            else "fair"
            if value >= norms["fair"]
            else ("below fair")
        )


@dataclass(frozen=True)
class ReplyFeatures:
    """Counts used by the session metrics (MITI-style), from the act tags."""

    questions: int
    open_questions: int
    reflections: int
    complex_reflections: int
    advice: int = 0


def features_of(acts: list[Act]) -> ReplyFeatures:
    """MITI-style counts from a rating's act tags (one per sentence and kind)."""
    kinds = [a.kind for a in acts]
    opens = kinds.count("open_question")
    closed = kinds.count("closed_question")
    simple = kinds.count("simple_reflection")
    cplx = kinds.count("complex_reflection")
    return ReplyFeatures(opens + closed, opens, simple + cplx, cplx, kinds.count("advice"))



def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 2) if b else None


def session_metrics(path: list[Turn]) -> SessionMetrics:
    """Metrics for one branch's conversation."""
    users = user_turns(path)
    refl = cplx = qs = open_qs = advice_first = 0
    validated = False
    for t in users:
        # The counts come from the act tags of the rating the user saw, so the debrief and
        # the ratings agree (a model judge's rating carries the built-in tags of the same
        # reply, and older rows are tagged when loaded). An unscored reply counts for nothing.
        r = t.rating
        if r is None or r.status != "scored":
            continue
        f = features_of(r.acts)
        refl += f.reflections
        cplx += f.complex_reflections
        qs += f.questions
        open_qs += f.open_questions
        if r is not None and r.status == "scored":
            if r.level("no_fixing") == 0 and not validated:
                advice_first += 1
            if (r.level("validation") or 0) >= 1 or (r.level("understanding") or 0) >= 1:
                validated = True
    user_words = sum(len(t.text.split()) for t in users)
    all_words = sum(len(t.text.split()) for t in path)
    return SessionMetrics(
        replies=len(users),
        reflections=refl,
        complex_reflections=cplx,
        questions=qs,
        open_questions=open_qs,
        # with no question at all the ratio has no value (the counts are still shown)
        reflection_to_question=_ratio(refl, qs),
        complex_reflection_share=_ratio(cplx, refl),
        open_question_share=_ratio(open_qs, qs),
        advice_before_validation=advice_first,
        user_word_share=_ratio(user_words, all_words),
    )


@dataclass(frozen=True)
class Debrief:
    ended: str | None
    mean_levels: dict[str, float | None]
    overall: float | None
    hidden_need: str
    went_well: list[str]
    try_next: list[str]
    best_reply: str | None
    metrics: SessionMetrics


def debrief(scenario: Scenario, path: list[Turn]) -> Debrief:
    """Summarize a branch: scores per criterion, the hidden need, strengths, what to try."""
    users = user_turns(path)
    means = mean_levels(users)
    scored = {k: v for k, v in means.items() if v is not None}
    # Restraint (the inverse criteria: no advice, no talk of oneself, no brushing off) is a
    # strength only beside some listening: "Ok." every turn holds back everything and hears
    # nothing, and a reply that hurts does not earn it at all (the judge caps it at 1).
    listened = any(
        v >= LISTENED_LEVEL for k, v in scored.items() if BY_KEY[k].inverse_of is None
    )
    went_well = [
        f"{BY_KEY[k].name} ({v:.1f}/2): {BY_KEY[k].strong}"
        for k, v in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))
        if v >= STRONG_LEVEL and (listened or BY_KEY[k].inverse_of is None)
    ][:3]
    gaps = sorted(
        (c for c in CRITERIA if c.key in scored and scored[c.key] < STRONG_LEVEL),
        key=lambda c: (-(scenario.weight(c.key) * (2 - scored[c.key])), c.key),
    )
    try_next = [f"{c.name}: {TIPS[c.key]}" for c in gaps[:3]]
    if not went_well and users:
        went_well = ["You stayed in the conversation to the end; that is where listening starts."]
    # A reply that hurt is never held up as the best one, even in a session of them.
    best = max(
        (t for t in users if t.rating and t.rating.overall is not None and not t.rating.flags),
        key=lambda t: t.rating.overall,  # type: ignore[union-attr]
        default=None,
    )
    ending = next((t.ending for t in path if t.ending), None)
    return Debrief(
        ended=ending,
        mean_levels=means,
        overall=mean_overall(users),
        hidden_need=scenario.hidden_need,
        went_well=went_well,
        try_next=try_next,
        best_reply=best.text if best else None,
        metrics=session_metrics(path),
    )
