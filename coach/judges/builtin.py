"""The built-in judge: reads what each sentence of a reply does, then scores from that.

Two steps, each in its own module under `coach/judges/acts/`:
1. `tagger`: tag each sentence's acts (question, reflection, validation, advice, contempt,
   ...) with phrase rules that are data (`coach/judges/acts/rules/*.toml`) and a few rules that
   read the reply against what the partner said;
2. `policy`: levels, flags and the overall score from the acts, under one written policy
   (harm caps the score; stock phrases have diminishing returns).
A reply it cannot read (not English, or no words at all) is unscored with the reason, never
guessed. Evidence is always a whole sentence of the reply, so it is an exact substring.
Deterministic: the same reply in the same context always gets the same rating.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from pathlib import Path

from coach.core.metrics import ReplyFeatures, features_of
from coach.core.rubric import BY_KEY, TIPS, Act, CriterionScore, Provenance, Rating
from coach.core.session import Line
from coach.judges.acts import feedback, policy
from coach.judges.acts import tagger as tagger_module
from coach.judges.acts.language import identify
from coach.judges.acts.ruleset import load_rules
from coach.judges.acts.tagger import Context, ReplyActs, make_context, sentences, tag_reply
from coach.judges.base import JudgeContext

__all__ = [
    "HeuristicJudge",
    "epitome_levels",
    "reply_features",
    "acts_of",
    "rules_version",
    "score_reply",
    "shared_experience",
]

_LETTER = re.compile(r"[^\W\d_]")


def _context(ctx: JudgeContext) -> Context:
    last = next((ln.text for ln in reversed(ctx.history) if ln.role == "partner"), "")
    situation = ""
    if ctx.scenario is not None:
        situation = f"{ctx.scenario.situation}\n{ctx.scenario.opening}"
    return make_context(last, situation)


def read_reply(reply: str, context: Context | None = None) -> ReplyActs:
    """The reply's acts, read against `context` (what the partner said), if given."""
    return tag_reply(reply, context=context or make_context())


def score_reply(
    reply: str, context: Context | None = None
) -> tuple[dict[str, CriterionScore], list[str]]:
    """Levels on all eight criteria and the horsemen flags, from the reply's acts.

    Every evidence string is an exact substring of `reply`.
    """
    verdict = policy.judge_acts(read_reply(reply, context))
    return verdict.scores, verdict.flags


def unreadable(reply: str) -> str | None:
    """Why the built-in rules cannot rate `reply` (the reason shown), or None."""
    if not _LETTER.search(reply):
        return (
            "There are no words here to rate. Write what you would say to them, even a few words."
        )
    found = identify(reply)
    if found is None:
        return None
    lang, sure = found
    # a name we are not sure of is said as a guess: a wrong name ("Swahili" for romanised
    # Hindi) would tell the user the judge misread them
    seen = f"looks like {lang}" if sure else f"is not in English (it may be {lang})"
    which = lang if sure else "your language"
    return (
        f"This reply {seen}. The built-in rules read English only, so it is not scored "
        f"rather than guessed. To have replies in {which} rated, connect a model that "
        "reads it (Settings in the app, or --judge-model in the terminal)."
    )


def _code_digest() -> str:
    acts_dir = Path(tagger_module.__file__).parent
    # the learned reading's weights are data, but they change ratings just as code does
    parts = [Path(__file__), *sorted(acts_dir.glob("*.py")), acts_dir / "learned.json"]
    h = hashlib.sha256()
    for path in parts:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


@functools.cache
def rules_version() -> str:
    """ "rules-" and a hash of the act rules, the lexicon and the policy's numbers, so a
    changed rule never reuses old ratings."""
    table = {
        "acts": load_rules().version,
        "raises": policy.RAISES,
        "lowers": policy.LOWERS,
        "caps": policy.CAPS,
        "numbers": [policy.FLAG_COST, policy.STOCK_LIFT, policy.EMPTY_CAP, policy.HARM_RESTRAINT],
        "tips": TIPS,
        "harm_tips": feedback.HARM_TIPS,
        # The context rules and the better reply are code: an upgrade that changes them
        # must not reuse ratings cached by the old code either.
        "code": _code_digest(),
    }
    text = json.dumps(table, sort_keys=True, ensure_ascii=False, default=str)
    return "rules-" + hashlib.sha256(text.encode()).hexdigest()[:8]


class HeuristicJudge:
    """The offline judge. Deterministic: the same reply always gets the same rating."""

    name = "heuristic"

    def rate(self, ctx: JudgeContext) -> Rating:
        """Rate `ctx.reply` from its acts (see the module docstring)."""
        t0 = time.perf_counter()
        version = rules_version()
        why_not = unreadable(ctx.reply)
        if why_not is not None:
            return Rating(
                status="unscored",
                reason=why_not,
                source=_source(version, t0),
            )
        context = _context(ctx)
        weights = _weights(ctx)
        # The better reply reuses the reply's sentences and the moves' fixed sentences:
        # read each once.
        memo: dict = dict(_fixed_moves_read())
        acts, verdict, overall = _assess(ctx.reply, context, weights, memo)
        missing = feedback.gaps(verdict.scores, weights)

        def assess(text: str) -> tuple[ReplyActs, float]:
            cand, _, score = _assess(text, context, weights, memo)
            return cand, score

        refused = feedback.refuses_sorry([ln.text for ln in ctx.history if ln.role == "partner"])
        better = feedback.better_reply(acts, missing, context.partner_line, assess, overall,
                                       refused_sorry=refused)
        notes = list(verdict.notes)
        if not better and (why := feedback.no_better_reason(missing, context.partner_line, acts)):
            notes.append(why)
        if verdict.overall_cap is not None and overall >= verdict.overall_cap - 0.05:
            notes.append(
                f"Overall capped at {verdict.overall_cap:.0f}: "
                + (
                    "a reply that hurts cannot score high, whatever else is in it."
                    if verdict.harmful
                    else "nothing in this reply listens yet."
                )
            )
        return Rating(
            status="scored",
            scores=verdict.scores,
            flags=verdict.flags,  # type: ignore[arg-type]
            acts=_act_list(acts),
            tip=feedback.tip(verdict, missing),
            better_reply=better,
            overall=overall,
            source=_source(version, t0),
            notes=notes,
        )


def overall_of(ctx: JudgeContext) -> float | None:
    """The overall score `HeuristicJudge.rate` gives `ctx.reply`, without writing its tip
    and better reply (a fraction of the work); None when the reply is unscored."""
    if unreadable(ctx.reply) is not None:
        return None
    return _assess(ctx.reply, _context(ctx), _weights(ctx))[2]


def _weights(ctx: JudgeContext) -> dict[str, float]:
    return {k: ctx.weight(k) for k in BY_KEY}


@functools.cache
def _fixed_moves_read() -> dict:
    memo: dict = {}
    for text in feedback.FIXED_MOVES:
        tag_reply(text, memo=memo)
    return memo


def _assess(
    reply: str, context: Context, weights: dict[str, float], memo: dict | None = None
) -> tuple[ReplyActs, policy.Verdict, float]:
    acts = tag_reply(reply, context=context, memo=memo)
    verdict = policy.judge_acts(acts)
    return acts, verdict, policy.overall(acts, verdict, weights)


# ---------------------------------------------------------------- shared experience

# First-person talk about one's own life. In EPITOME a similar experience counts as a strong
# "interpretation" (it shows the listener understands from inside); in the coach's rubric the
# same sentence is self-focus, so it never raises `understanding` (see evals/README.md).
_SELF = re.compile(r"\b(i|i'?ve|i'?m|im|ive|i'?d|me|my|myself)\b")
_NOT_DISCLOSURE = re.compile(
    r"\b(i'?m|i am|im) (so |really |very )?sorry\b|\bi (think|hope|wish|suggest|recommend|believe|"
    r"guess|mean|agree|promise|bet|doubt|assume|'?d (say|suggest|recommend)|would (say|suggest|"
    r"recommend))\b|\b(i'?m|i am|im) (here|not sure|sure|glad|happy)\b|\b(love|hug|tell|help|"
    r"message|pm|dm|text|call) (me|you)\b|\bi (love|care about|understand|get|hear|see|feel for|"
    r"believe in|want) you|\bmy (advice|suggestion|opinion|guess|friend|dude|man)\b|\bif i were "
    r"you\b|\b(with|to|for) me\b|\bi (can'?t|cannot|can only) imagine\b|\bi (would|'?d) (love|"
    r"like|be happy)\b|\bi know (how|what|that|the)\b|\bexcuse me\b|\btrust me\b|\blet me\b"
)


_EXPERIENCE = re.compile(
    r"^(i|i'?m|im|i'?ve|ive) |[,;:]\s*(i|i'?m|im|i'?ve|ive) |"
    r"\b(too|also|same|similar|used to|been|when i|for me|in my experience|i had|i have had|"
    r"i was|i felt|i went|i got|i lost|i tried|i found|i struggle\w*|i suffer\w*|i deal|"
    r"my (own )?(depression|anxiety|life|mom|dad|mother|father|ex|wife|husband|girlfriend|"
    r"boyfriend|family|friends?|therapist|doctor|job|brother|sister|kids?|son|daughter))\b"
)
_RELATING = re.compile(
    r"\bme too\b|\bsame here\b|\bbeen there\b|\bi (can |totally |really )?relate\b|"
    r"\bi feel (this|that|the same|you|ya)\b|\bfamiliar\b|\bi know (how|what) (you|it|that)\b|"
    r"\bi (understand|get) (it|you|that|how|what)\b|\bi hear you\b"
)


def shared_experience(reply: str) -> int:
    """How much the reply talks about the speaker's own similar experience: 0, 1 or 2.

    2 when some sentence tells of the speaker's own life ("I've felt that too, for years"),
    1 for a bare claim of having been there ("me too", "same here", "been there").
    """
    told = [
        text
        for sp in sentences(reply)
        if _SELF.search(text := _NOT_DISCLOSURE.sub(" ", sp.text.lower()))
        # "I feel the same." claims understanding; it does not tell a story.
        and not (_RELATING.search(sp.text.lower()) and len(sp.text.split()) <= 8)
    ]
    if len(told) >= 2 or any(_EXPERIENCE.search(t) for t in told):
        return 2
    if _RELATING.search(reply.lower()):
        return 1
    return 0


def epitome_interpretation(rating: Rating, reply: str) -> int:
    """EPITOME's interpretations level (0-2) from a built-in rating and its reply.

    EPITOME's raters call an interpretation strong when the listener shows they understand
    what the seeker feels, by naming it with its cause or by telling of a similar experience
    of their own; they rarely mark the weak level, and a plain restatement of the facts
    mostly gets none. So: 2 for a complex reflection (not a stock phrase) or a told shared
    experience, 1 for a bare claim of having been there, else 0. The coach's own rubric
    keeps simple reflections at 1 and counts the shared experience as self-focus; this
    mapping is used for EPITOME only (see evals/README.md).
    """
    complex_ = any(a.kind == "complex_reflection" and not a.stock for a in rating.acts)
    return max(2 if complex_ else 0, shared_experience(reply))


def epitome_levels(reply: str, partner_line: str = "") -> dict[str, int]:
    """EPITOME levels of a reply: warmth and exploration as they are, interpretations
    through `epitome_interpretation`."""
    rating = HeuristicJudge().rate(
        JudgeContext(reply=reply, history=(Line("partner", partner_line),) if partner_line else ())
    )
    return {
        "emotional_reactions": rating.level("warmth") or 0,
        "interpretations": epitome_interpretation(rating, reply),
        "explorations": rating.level("exploration") or 0,
    }


def _act_list(acts: ReplyActs) -> list[Act]:
    """A reply's tags as a rating stores them: one per sentence and act."""
    return [Act(kind=t.act, quote=s.text, stock=t.stock) for s in acts.sentences for t in s.tags]


def _source(version: str, t0: float) -> Provenance:
    """The built-in judge's provenance: its rule-set version, and the time since `t0`."""
    return Provenance(
        backend="heuristic",
        model=version,
        prompt_version=version,
        latency_ms=round((time.perf_counter() - t0) * 1000, 3),
    )


def acts_of(reply: str, partner_line: str = "") -> list[Act]:
    """The built-in rules' act tags of a reply, one per sentence and act (as a rating has)."""
    return _act_list(read_reply(reply, make_context(partner_line)))


def reply_features(reply: str, partner_line: str = "") -> ReplyFeatures:
    """Count questions, reflections and advice, sentence by sentence, from the act tags."""
    return features_of(acts_of(reply, partner_line))
