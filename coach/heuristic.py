"""The heuristic judge: explainable pattern rules per criterion, deterministic and fast.

Each criterion has a small set of phrase rules. A rule that fires inside a negation
("I'm *not* going to tell you to calm down") does not count. Evidence is always the
sentence in which a rule fired, sliced out of the reply, so it is an exact substring.
Positive criteria take the strongest rule that fired; inverse criteria (fixing, self-focus,
dismissing) start at 2 and drop to the worst rule that fired.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from coach.heuristic_rules import (
    BETTER_MOVES,
    BETTER_ORDER,
    GENERIC_QUESTION,
    HORSEMEN_RULES,
    NEGATION_WINDOW,
    NEGATORS,
    RHETORICAL_QUESTION,
    RULES,
    TIPS,
    Rule,
)
from coach.judge import JudgeContext
from coach.rubric import BY_KEY, CRITERIA, CriterionScore, Rating, overall_score

# ---------------------------------------------------------------- text helpers

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")
_WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


def sentences(reply: str) -> list[Span]:
    """Split a reply into sentence spans (offsets into the reply, trimmed)."""
    out = []
    for m in _SENTENCE.finditer(reply):
        raw = m.group(0)
        lead = len(raw) - len(raw.lstrip())
        body = raw.strip()
        if body:
            start = m.start() + lead
            out.append(Span(start, start + len(body), body))
    return out


_CLAUSE_BREAK = re.compile(r"[,;:]|\bbut\b")


def _negated(lowered: str, start: int, sentence_start: int) -> bool:
    before = lowered[sentence_start:start]
    # A clause break resets negation: "I can't fix it, but you should rest" still advises.
    before = _CLAUSE_BREAK.split(before)[-1]
    words = _WORD.findall(before)[-NEGATION_WINDOW:]
    return any(w in NEGATORS or w.endswith("n't") for w in words)


def _precheck(rules: Iterable[Rule]) -> tuple[re.Pattern[str] | None, tuple[Rule, ...]]:
    """One alternation of a criterion's plain rules, and the rules still to try when it
    finds nothing: anchored rules, and rules with a lookbehind, which would make the whole
    alternation several times slower (measured), so they are tried on their own."""
    rules = tuple(rules)
    plain = [r for r in rules if r.loose is not None and "(?<" not in r.loose.pattern]
    others = tuple(r for r in rules if r not in plain)
    union = "|".join(f"(?:{r.loose.pattern})" for r in plain)  # type: ignore[union-attr]
    return (re.compile(union) if plain else None), others


# One search for "could any rule of this criterion fire?" is several times cheaper than one
# per rule, and most criteria have nothing to find in most replies.
# Except for warmth: its 22 rules (lookbehinds, optional words) make one alternation slower
# than searching them one by one (measured: 31 us against 27 us per reply), so it has none.
_PRECHECK = {
    key: _precheck(rules) if key != "warmth" else (None, tuple(rules))
    for key, rules in RULES.items()
}
_ANY_HORSEMAN = re.compile(
    "|".join(f"(?:{p.pattern})" for ps in HORSEMEN_RULES.values() for p in ps)
)


def _scan(
    rules: Iterable[Rule],
    reply: str,
    spans: list[Span],
    key: str | None = None,
    lowered: str | None = None,
) -> list[tuple[Rule, Span]]:
    """Each (rule, sentence) where the rule fires, not negated, in one of `spans`.

    A rule fires at most once per sentence: at its first match there (a negated first match
    does not count).
    """
    lowered = reply.lower() if lowered is None else lowered
    if key is not None:
        combined, if_none = _PRECHECK[key]
        if combined is None or combined.search(lowered) is None:
            rules = if_none
    has_question = "?" in lowered
    starts = [sp.start for sp in spans]
    hits = []
    for rule in rules:
        if rule.needs_question and not has_question:
            continue
        if rule.hints is not None and not any(h in lowered for h in rule.hints):
            continue
        if rule.loose is None:
            hits += _scan_anchored(rule, lowered, spans)
            continue
        # Search the whole reply and visit only the sentences where a candidate starts:
        # most rules match nowhere or once, so this is about one search per rule, not one
        # per rule and sentence. Each candidate is confirmed with the exact pattern,
        # bounded by its sentence's end, as if the sentence were searched alone.
        pos = 0
        while (m := rule.loose.search(lowered, pos)) is not None:
            at = m.start()
            i = bisect_right(starts, at) - 1
            if i < 0 or at >= spans[i].end:  # between the spans given
                pos = at + 1
                continue
            sp = spans[i]
            if rule.needs_question and not lowered[sp.start : sp.end].rstrip().endswith("?"):
                pos = sp.end
                continue
            if rule.pattern.match(lowered, at, sp.end) is None:
                pos = at + 1  # not a match here after all; later in the sentence may be
                continue
            pos = sp.end
            if rule.negatable and _negated(lowered, at, sp.start):
                continue
            hits.append((rule, sp))
    return hits


def _scan_anchored(rule: Rule, lowered: str, spans: list[Span]) -> list[tuple[Rule, Span]]:
    """A rule anchored at the start of a sentence, tried on each sentence alone."""
    out = []
    for sp in spans:
        seg = lowered[sp.start : sp.end]
        if rule.needs_question and not seg.rstrip().endswith("?"):
            continue
        m = rule.pattern.search(seg)
        if m is None or (rule.negatable and _negated(lowered, sp.start + m.start(), sp.start)):
            continue
        out.append((rule, sp))
    return out


# Text addressed to the judge rather than the partner: JSON objects, code fences, and any
# sentence or bracketed aside that talks about rating, scoring or instructions.
_JSONISH = re.compile(r"```.*?(```|$)|\{[^{}]*(\{[^{}]*\}[^{}]*)*\}", re.DOTALL)
_JUDGE_TALK = re.compile(
    r"\b(judge|grader?|grad(e|ing) (it|this|that)|rat(e|ing) (it|this|that|me)|ratings?|scores?|"
    r"rubric|criteri(a|on)|instructions?|system|assistant|developer|evaluat\w*|prompt|pretend|"
    r"level [0-2]|output)\b",
    re.IGNORECASE,
)
_ASIDE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


def shield(reply: str) -> str:
    """`reply` with judge-directed text replaced by spaces (same length, same offsets)."""
    if "{" not in reply and "`" not in reply and _JUDGE_TALK.search(reply) is None:
        return reply  # the common case, kept cheap
    out = reply
    for m in _JSONISH.finditer(reply):
        out = _blank(out, m.start(), m.end())
    for m in _ASIDE.finditer(out):
        if _JUDGE_TALK.search(m.group(0)):
            out = _blank(out, m.start(), m.end())
    for sp in sentences(out):
        if _JUDGE_TALK.search(sp.text):
            out = _blank(out, sp.start, sp.end)
    return out


def _resliced(shielded: str, reply: str, spans: list[Span]) -> list[Span]:
    """Sentence spans of the shielded text, each widened to the reply's sentence around it,
    so evidence quotes whole sentences of what the user wrote."""
    out = []
    for sp in sentences(shielded):
        outer = next((o for o in spans if o.start <= sp.start < o.end), None)
        out.append(outer or Span(sp.start, sp.end, reply[sp.start : sp.end]))
    return list(dict.fromkeys(out))


_GENERIC_RULE = Rule(GENERIC_QUESTION, 1, "generic question", needs_question=True)
_NEEDS_RULE = Rule(GENERIC_QUESTION, 1, "asks about support, not their experience")


def _cap_generic(
    hits: list[tuple[Rule, Span]], reply: str, needs_spans: set[Span]
) -> list[tuple[Rule, Span]]:
    """Cap generic questions and questions about support at level 1, one hit per sentence."""
    out: list[tuple[Rule, Span]] = []
    seen: set[Span] = set()
    for rule, sp in hits:
        seg = reply[sp.start : sp.end].lower()
        if RHETORICAL_QUESTION.search(seg) and not re.search(r"\byour?\b", seg):
            continue
        if sp in needs_spans:
            rule = _NEEDS_RULE
        elif GENERIC_QUESTION.search(seg):
            rule = _GENERIC_RULE
        else:
            out.append((rule, sp))
            continue
        if sp not in seen:
            seen.add(sp)
            out.append((rule, sp))
    return out


def score_reply(reply: str) -> tuple[dict[str, CriterionScore], list[str]]:
    """Score one reply on all eight criteria and flag the four horsemen.

    Returns:
        (scores by criterion key, horsemen flags). Every evidence string is an exact
        substring of `reply`.
    """
    spans = sentences(reply)
    # Positive criteria read the reply with text aimed at the judge blanked out, so quoted
    # praise or fake JSON cannot earn credit; inverse criteria still read every word.
    shielded = shield(reply)
    safe_spans = spans if shielded == reply else _resliced(shielded, reply, spans)
    low, low_shielded = reply.lower(), shielded.lower()
    scores: dict[str, CriterionScore] = {}
    found = {
        "no_fixing": _scan(RULES["no_fixing"], reply, spans, "no_fixing", low),
        "asks_needs": _scan(RULES["asks_needs"], shielded, safe_spans, "asks_needs", low_shielded),
    }
    advice_spans = {sp for r, sp in found["no_fixing"] if r.level == 0}
    needs_spans = {sp for r, sp in found["asks_needs"] if r.level == 2}
    for crit in CRITERIA:
        inverse = crit.inverse_of is not None
        if crit.key in found:
            hits = found[crit.key]
        elif inverse:
            hits = _scan(RULES[crit.key], reply, spans, crit.key, low)
        else:
            hits = _scan(RULES[crit.key], shielded, safe_spans, crit.key, low_shielded)
        if crit.key == "exploration":
            # "Have you tried…?" is advice dressed as a question, not curiosity.
            hits = [(r, sp) for r, sp in hits if sp not in advice_spans]
            hits = _cap_generic(hits, shielded, needs_spans)
        if not hits:
            scores[crit.key] = CriterionScore(level=2 if inverse else 0)
            continue
        pick = min if inverse else max
        level = pick(rule.level for rule, _ in hits)
        chosen = [(r, sp) for r, sp in hits if r.level == level]
        evidence = list(dict.fromkeys(sp.text for _, sp in chosen))
        why = "; ".join(dict.fromkeys(r.why for r, _ in chosen))
        scores[crit.key] = CriterionScore(level=level, evidence=evidence, note=why)
    # A lone self-reference followed by curiosity about them is not self-focus.
    stay = scores["stays_with_them"]
    if stay.level == 0 and scores["exploration"].level == 2 and len(spans) > 1:
        scores["stays_with_them"] = stay.model_copy(
            update={"level": 1, "note": stay.note + "; returns to them with a question"}
        )
    # Advice offered only after asking permission is the good kind of tentative.
    fix = scores["no_fixing"]
    if fix.level == 0 and scores["asks_needs"].level == 2:
        scores["no_fixing"] = fix.model_copy(
            update={"level": 1, "note": fix.note + "; but asks what they want first"}
        )
    flags = (
        [
            name
            for name, patterns in HORSEMEN_RULES.items()
            if any(p.search(low) for p in patterns)
        ]
        if _ANY_HORSEMAN.search(low)
        else []
    )
    return scores, flags


def _gaps(scores: dict[str, CriterionScore], weights: dict[str, float]) -> list[str]:
    """Criteria below level 2, the costliest miss (weight x levels missed) first."""
    missed = [k for k, s in scores.items() if s.level < 2]
    return sorted(missed, key=lambda k: (-(weights[k] * (2 - scores[k].level)), k))


def _tip(gaps: list[str]) -> str:
    if not gaps:
        return "Strong reply: keep reflecting and asking before anything else."
    return TIPS[gaps[0]]


_SPOKEN_FEELING = re.compile(
    r"\b(hurt|angry|furious|sad|embarrassed|humiliated|ashamed|alone|lonely|invisible|unseen|"
    r"ignored|dismissed|scared|afraid|anxious|worried|nervous|overwhelmed|exhausted|tired|"
    r"frustrated|disappointed|rejected|betrayed|unwanted|unloved|unsupported|stressed|"
    r"heartbroken|stuck|guilty|small|stupid|vulnerable|let down|left out|useless|"
    r"like furniture|like a flatmate|like roommates)\b"
)


def _grounded_reflection(ctx: JudgeContext) -> str:
    """A reflection that names a feeling the partner actually said, else a general one."""
    last = next((ln.text for ln in reversed(ctx.history) if ln.role == "partner"), "")
    m = _SPOKEN_FEELING.search(last.lower())
    if m is None:
        return BETTER_MOVES["understanding"]
    word = m.group(1)
    return f"It sounds like you're feeling {word}." if not word.startswith("like ") else (
        f"It sounds like you've been feeling {word}."
    )


def _better_reply(ctx: JudgeContext, scores: dict[str, CriterionScore], gaps: list[str]) -> str:
    """The user's own reply, improved: what hurt dropped, what worked kept, what was
    missing added. It never adds a detail the partner did not say: the added moves are
    general, except a reflection that names a feeling from the partner's last line.

    Returns "" when the reply already does everything the rubric asks.
    """
    if not gaps:
        return ""
    # Sentences that made an inverse criterion drop to 0 are the ones to take out.
    harmful = {
        q
        for key in ("no_fixing", "no_dismissing", "stays_with_them")
        if scores[key].level == 0
        for q in scores[key].evidence
    }
    kept = [sp.text for sp in sentences(ctx.reply) if sp.text not in harmful]
    said = [t for t in kept if not t.endswith("?")]
    asked = [t for t in kept if t.endswith("?")]
    top = set(gaps[:3])
    added, ask = [], []
    for key in BETTER_ORDER:
        if key not in top:
            continue
        if key == "exploration" and asked:
            continue  # one open question is enough
        line = _grounded_reflection(ctx) if key == "understanding" else BETTER_MOVES[key]
        (ask if key in ("exploration", "asks_needs") else added).append(line)
    # Their own opening words first, then what was missing, then the questions.
    better = " ".join([*said, *added, *asked, *ask]).strip()
    return "" if better == " ".join(ctx.reply.split()) else better


@functools.cache
def rules_version() -> str:
    """ "rules-" and a hash of the rule table, so a changed rule never reuses old ratings.

    Hashes every rule's pattern (and regex flags), level, reason and flags, the horsemen
    patterns, the negation settings, and the tips and fallback texts the ratings show.
    """

    def pat(p: re.Pattern[str]) -> list:
        return [p.pattern, p.flags]

    table = {
        "rules": {
            key: [[*pat(r.pattern), r.level, r.why, r.needs_question, r.negatable] for r in rules]
            for key, rules in RULES.items()
        },
        "horsemen": {name: [pat(p) for p in ps] for name, ps in HORSEMEN_RULES.items()},
        "negators": sorted(NEGATORS),
        "negation_window": NEGATION_WINDOW,
        "questions": [pat(GENERIC_QUESTION), pat(RHETORICAL_QUESTION)],
        "tips": TIPS,
        "better_moves": BETTER_MOVES,
    }
    text = json.dumps(table, sort_keys=True, ensure_ascii=False)
    return "rules-" + hashlib.sha256(text.encode()).hexdigest()[:8]


class HeuristicJudge:
    """The offline judge. Deterministic: the same reply always gets the same rating."""

    name = "heuristic"

    def rate(self, ctx: JudgeContext) -> Rating:
        """Rate `ctx.reply` with the pattern rules."""
        t0 = time.perf_counter()
        scores, flags = score_reply(ctx.reply)
        weights = {k: ctx.weight(k) for k in BY_KEY}
        gaps = _gaps(scores, weights)
        return Rating(
            status="scored",
            scores=scores,
            flags=flags,
            tip=_tip(gaps),
            better_reply=_better_reply(ctx, scores, gaps),
            overall=overall_score(scores, weights),
            backend="heuristic",
            model=rules_version(),
            prompt_version=rules_version(),
            latency_ms=round((time.perf_counter() - t0) * 1000, 3),
        )


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


def epitome_levels(reply: str) -> dict[str, int]:
    """EPITOME levels from the rubric levels (see evals/README.md for the one adapter rule).

    Emotional reactions and explorations are the `warmth` and `exploration` levels as they
    are. Interpretations are the `understanding` level, raised to the shared-experience level,
    because EPITOME counts "I've been through this too" as understanding and the rubric
    does not.
    """
    scores, _ = score_reply(reply)
    return {
        "emotional_reactions": scores["warmth"].level,
        "interpretations": max(scores["understanding"].level, shared_experience(reply)),
        "explorations": scores["exploration"].level,
    }


@dataclass(frozen=True)
class ReplyFeatures:
    """Counts used by the session metrics (MITI-style)."""

    questions: int
    open_questions: int
    reflections: int
    complex_reflections: int


def reply_features(reply: str) -> ReplyFeatures:
    """Count questions and reflections sentence by sentence.

    A reflection is a sentence on which an understanding rule fires; it is complex when a
    level-2 rule fires (feeling and cause, or a paraphrase of the deeper point).
    """
    spans = sentences(reply)
    questions = [sp for sp in spans if sp.text.endswith("?")]
    open_rules = [r for r in RULES["exploration"] if r.level == 2 and r.needs_question]
    open_qs = sum(1 for sp in questions if _scan(open_rules, reply, [sp]))
    refl = cplx = 0
    for sp in spans:
        hits = _scan(RULES["understanding"], reply, [sp])
        if hits:
            refl += 1
            cplx += any(r.level == 2 for r, _ in hits)
    return ReplyFeatures(len(questions), open_qs, refl, cplx)
