"""Tag what each sentence of a reply *does*: the first step of the built-in judge.

Phrase rules (`coach/acts/rules/*.toml`) find acts inside a sentence. A few context rules
then read the sentence against what the partner said (their last line and the scenario):
- a sentence that picks up their own situation is a reflection even without "it sounds
  like"; one that says the opposite of what they said is not, it minimizes;
- a question about something else entirely is off topic, not exploration;
- offering what they just asked for is doing what they need, not unasked fixing.
Conflicts inside one sentence are settled last (a rhetorical question is no question; a
sneer is not care). Everything here is pure.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from coach.acts.ruleset import Rule, RuleSet, load_rules
from coach.acts.shield import shield

# Acts that show listening; they read the reply with judge-directed text blanked out.
POSITIVE = frozenset({
    "care", "affirmation", "validation", "understanding_claim", "simple_reflection",
    "complex_reflection", "open_question", "closed_question", "asks_needs", "offer_presence",
    "apology", "ownership",
})
HARMFUL = frozenset({"contempt", "blame", "defensiveness", "withdrawal"})
QUESTIONS = ("open_question", "closed_question")
REFLECTIONS = ("simple_reflection", "complex_reflection")

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")
_WORD = re.compile(r"[a-z']+")
_CLAUSE_BREAK = re.compile(r"[,;:]|\bbut\b")


@dataclass(frozen=True)
class Tag:
    """One act found in one sentence."""

    act: str
    strength: int  # 1 weak, 2 strong
    why: str
    stock: bool = False


@dataclass(frozen=True)
class Sentence:
    """A sentence of the reply (offsets into it) and the acts it carries."""

    start: int
    end: int
    text: str
    tags: tuple[Tag, ...] = ()

    def has(self, *acts: str) -> bool:
        """Whether the sentence carries any of `acts`."""
        return any(t.act in acts for t in self.tags)

    @property
    def question(self) -> bool:
        return self.text.rstrip().endswith("?")


@dataclass(frozen=True)
class ReplyActs:
    """Every sentence of a reply with its acts."""

    reply: str
    sentences: tuple[Sentence, ...]
    version: str = ""

    def tags(self, *acts: str) -> list[tuple[Tag, Sentence]]:
        """(tag, sentence) for every tag of one of `acts`, in reply order."""
        return [(t, s) for s in self.sentences for t in s.tags if t.act in acts]

    def has(self, *acts: str) -> bool:
        """Whether any sentence carries one of `acts`."""
        return any(s.has(*acts) for s in self.sentences)

    def count(self, act: str) -> int:
        """How many sentences carry `act`."""
        return sum(1 for s in self.sentences if s.has(act))

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(t.act for s in self.sentences for t in s.tags)


@dataclass(frozen=True)
class Context:
    """What the partner said, to read a reply against: their last line and the scenario."""

    partner_line: str = ""
    situation: str = ""
    words: frozenset[str] = field(default=frozenset(), compare=False)
    line_words: frozenset[str] = field(default=frozenset(), compare=False)


def sentences(reply: str) -> list[Sentence]:
    """Split a reply into sentences (offsets into the reply, trimmed)."""
    out = []
    for m in _SENTENCE.finditer(reply):
        raw = m.group(0)
        lead = len(raw) - len(raw.lstrip())
        body = raw.strip()
        if body:
            start = m.start() + lead
            out.append(Sentence(start, start + len(body), body))
    return out


def _stem(word: str) -> str:
    """A crude stem, enough to see that "laughed" picks up "laughing"."""
    w = word.strip("'")
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


@functools.cache
def _stopwords() -> frozenset[str]:
    return frozenset(load_rules().lexicon.stopwords)


def content_words(text: str) -> frozenset[str]:
    """Stems of the words that carry content (no function words, no short words)."""
    stop = _stopwords()
    return frozenset(_stem(w) for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in stop)


def make_context(partner_line: str = "", situation: str = "") -> Context:
    """A context with its content words worked out once."""
    line = content_words(partner_line)
    return Context(partner_line, situation, line | content_words(situation), line)


def _negated(seg: str, at: int, negators: frozenset[str], window: int) -> bool:
    before = _CLAUSE_BREAK.split(seg[:at])[-1]
    words = _WORD.findall(before)[-window:]
    return any(w in negators or w.endswith("n't") for w in words)


def _first_match(rule: Rule, seg: str, negators: frozenset[str], window: int) -> bool:
    for m in rule.pattern.finditer(seg):
        if not (rule.negatable and _negated(seg, m.start(), negators, window)):
            return True
    return False


@functools.cache
def _lexicon_patterns() -> dict[str, re.Pattern[str]]:
    lex = load_rules().lexicon
    classes = lex.classes

    def alt(items: Iterable[str]) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{i})" for i in items) or r"(?!x)x")

    return {
        "stock": alt(lex.stock),
        "pleasant": alt(lex.pleasant),
        "off_topic": alt(lex.off_topic),
        "requests": alt(lex.requests),
        "feelings": re.compile(rf"\b({classes['feelings']})\b"),
        "second_person": re.compile(r"\b(you|your|you're|youre|you've|you'd|yourself)\b"),
        "first_person": re.compile(r"\b(i|i'm|im|i've|ive|i'd|i'll|my|me|we|our|us)\b"),
        "third_person": re.compile(r"\b(he|she|they|him|her|them|his|their|it)\b"),
        "about_them": re.compile(r"\b(you|your|you're|youre|you've|he|she|they|his|her|their)\b"),
        "hedged": re.compile(
            r"\b(if|would|could|should|can|will|won't|might|maybe|perhaps|need to|have to|"
            r"try|hope|please|just|always|never|everyone|everybody|people|sometimes|"
            r"there is|there are|it's easy)\b|'ll\b|^\W*(do|don't|dont|go|get|be|stop|take|"
            r"make|keep|let|find|talk|tell|call|remember|think|look)\b"),
        "commitment": re.compile(
            r"\b(i'?ll|i will|i'?m going to|i am going to|let me|i can|i'?d be glad to)\b|"
            r"^\W*(yes|yeah|of course|okay|ok|sure|absolutely|always)\b"
        ),
        "cause": re.compile(r"\b(because|after|when|since|that|while|then)\b"),
    }


def _scan(rules: RuleSet, text: str, spans: list[Sentence]) -> list[list[Tag]]:
    """Phrase-rule tags per sentence, reading `text` (the lower-cased reply)."""
    lex = rules.lexicon
    negators, window = frozenset(lex.negators), lex.negation_window
    out: list[list[Tag]] = [[] for _ in spans]
    for act, act_rules in rules.rules.items():
        gate, always = rules.any_of[act]
        if gate is not None and gate.search(text) is None:
            act_rules = always
        if not act_rules:
            continue
        for i, sp in enumerate(spans):
            seg = text[sp.start : sp.end]
            is_q = seg.rstrip().endswith("?")
            for rule in act_rules:
                if (rule.question == "only" and not is_q) or (rule.question == "never" and is_q):
                    continue
                if _first_match(rule, seg, negators, window):
                    out[i].append(Tag(act, rule.strength, rule.why, rule.stock))
    return out


def _is_stock(seg: str, pats: dict[str, re.Pattern[str]]) -> bool:
    """A sentence that is only stock phrases ("I hear you. That makes sense."): with them
    taken out, fewer than two words that carry content are left."""
    rest = pats["stock"].sub(" ", seg)
    if rest == seg:
        return False
    return len(content_words(rest)) < 2


# Someone a question names: "What did he say?" asks about their story, so it is not generic.
_SOMEONE = re.compile(r"\b(he|she|they|him|her|them|his|their|he's|she's|they're)\b")


def _context_tags(tags: list[Tag], seg: str, ctx: Context,
                  pats: dict[str, re.Pattern[str]]) -> list[Tag]:
    """Tags that need what the partner said (see the module docstring)."""
    is_q = seg.rstrip().endswith("?")
    acts = {t.act for t in tags}
    mine = content_words(seg)
    overlap = mine & ctx.words
    told_negative = bool(pats["feelings"].search(ctx.partner_line.lower())) or bool(
        re.search(r"n't|\bnot\b|\bno\b|\bnever\b", ctx.partner_line.lower())
    )
    # Says the opposite of what they said: "It sounds like you had a lovely day".
    if (acts & {"simple_reflection", "complex_reflection", "understanding_claim"}
            or (pats["second_person"].search(seg) and not is_q)) and told_negative \
            and pats["pleasant"].search(seg):
        tags = [t for t in tags if t.act not in REFLECTIONS]
        tags.append(Tag("minimizing", 1, "says the opposite of what they told you"))
        return tags
    if not ctx.partner_line:
        return tags
    # Picks up their own situation in the listener's words: a plain statement about them
    # (no "I", no advice, no "if", "maybe" or "will") that uses what they told you.
    if (not is_q and not acts & {"simple_reflection", "complex_reflection", "advice",
                                 "self_focus", "affirmation", "minimizing", *HARMFUL}
            and not pats["first_person"].search(seg)
            and not pats["hedged"].search(seg)
            and pats["about_them"].search(seg)
            and len(overlap) >= 2 and len(seg.split()) >= 4):
        if pats["feelings"].search(seg) and pats["cause"].search(seg):
            tags.append(Tag("complex_reflection", 2, "names their feeling and what caused it"))
        else:
            tags.append(Tag("simple_reflection", 1, "picks up what they told you"))
    # A question about something else entirely: it names a topic beside the point (the
    # weather, dinner) and shares no word with what they told you. A question that merely
    # has no pronoun ("What happened?", "Is depression real?", "What's the plan for the
    # drinking?") is not off topic: short follow-ups rarely repeat the partner's words.
    if (acts & set(QUESTIONS) and not overlap and not acts & {"asks_needs"}
            and pats["off_topic"].search(seg)):
        tags = [t for t in tags if t.act not in QUESTIONS]
        tags.append(Tag("off_topic_question", 2, "asks about something else"))
    # An open question with no word of content and no one named ("How do you know that?",
    # "What would you like to do?") could be asked of anything: it is generic exploration.
    elif (is_q and any(t.act == "open_question" and t.strength == 2 for t in tags)
            and not mine and not _SOMEONE.search(seg)
            and not pats["feelings"].search(seg)):
        tags = [replace(t, strength=1, why="a question anyone could ask")
                if t.act == "open_question" else t for t in tags]
    # Offers what they just asked for.
    asked = pats["requests"].search(ctx.partner_line.lower())
    if asked and pats["commitment"].search(seg) and not is_q:
        wanted = content_words(ctx.partner_line[asked.start():])
        if mine & wanted or re.match(r"^\W*(yes|of course|okay|ok|sure|absolutely)\b", seg):
            tags = [t for t in tags if t.act != "advice"]
            tags.append(Tag("offer_presence", 2, "does what they asked for"))
    return tags


# Where a question clause starts after a lead-in ("You should be proud, and how did you ...").
_QUESTION_CLAUSE = re.compile(
    r"(?:[,;:\u2014\u2013]|\s-)\s*(?:(?:and|but|so)\s+)?(?=(?:what|how|why|when|where|who|"
    r"which|do|did|does|is|are|was|were|have|has|can|could|would|will)\b)"
)


def _advice_in_question(seg: str) -> bool:
    """Whether the advice of a question sentence lies in its question clause (the last
    clause that opens with a question word), not in a clause before it."""
    parts = _QUESTION_CLAUSE.split(seg)
    if len(parts) < 2:
        return True
    last = parts[-1]
    return any(r.pattern.search(last) for r in load_rules().rules.get("advice", ()))


@functools.cache
def _suggests() -> re.Pattern[str]:
    return re.compile(load_rules().lexicon.classes["q_suggests"])


def _settle(tags: list[Tag], seg: str) -> list[Tag]:
    """Resolve conflicts between the acts of one sentence."""
    acts = {t.act for t in tags}
    if any(t.why == "checks they were understood" for t in tags):
        # "Did I get that right?" asks them, though it ends in "right?" and names "I".
        tags = [t for t in tags if t.act != "rhetorical_question"]
        acts.discard("rhetorical_question")
    if "rhetorical_question" in acts or "off_topic_question" in acts:
        tags = [t for t in tags if t.act not in QUESTIONS]
    if acts & set(QUESTIONS) and not acts & {"asks_needs"} and _suggests().search(seg):
        # "Would it be possible to take a day off?" suggests; it does not ask.
        tags = [t for t in tags if t.act not in QUESTIONS]
    elif ("advice" in acts and "closed_question" in acts and "open_question" not in acts
            and not acts & {"asks_needs"} and _advice_in_question(seg)):
        # "Should you maybe call her?" is advice dressed as a question; "You should be
        # proud, and did you tell anyone?" is advice followed by a real question. An open
        # question stays a question even with advice words in it ("What do you think you
        # need?"): suggestions put as wh-questions ("Why don't you ...") are caught above.
        tags = [t for t in tags if t.act not in QUESTIONS]
    if any(t.act == "closed_question" and t.why == "asks how much or how long" for t in tags):
        # "On a scale of one to ten, how ready are you?" asks for a number, however it opens.
        tags = [t for t in tags if t.act != "open_question"]
    elif "open_question" in acts:
        tags = [t for t in tags if t.act != "closed_question"]
    for q in QUESTIONS:
        if any(t.act == q and t.stock for t in tags):
            # A generic question stays generic, whatever else it matched.
            tags = [t for t in tags if t.act != q or t.stock]
    if any(t.act == "offer_presence" and t.strength == 2 for t in tags):
        # "I'll make you a cup of tea" is an offer, not a plan to fix them.
        tags = [t for t in tags if t.act != "advice"]
    if "contempt" in acts:
        # Care or validation in a sneer is part of the sneer.
        tags = [t for t in tags if t.act not in POSITIVE]
    if "withdrawal" in acts and acts & {"offer_presence", "care", "asks_needs"}:
        tags = [t for t in tags if t.act != "withdrawal"]
    # One tag per act per sentence: the strongest (a stock one only if nothing else).
    best: dict[str, Tag] = {}
    for t in tags:
        cur = best.get(t.act)
        if cur is None or (t.strength, not t.stock) > (cur.strength, not cur.stock):
            best[t.act] = t
    return list(best.values())


def tag_reply(reply: str, partner_line: str = "", situation: str = "",
              context: Context | None = None) -> ReplyActs:
    """Tag every sentence of `reply` with the acts it performs.

    Args:
        reply: the user's reply.
        partner_line: what the partner said just before (may be empty).
        situation: the scenario's situation and opening, for picking up their story.
        context: a prepared `make_context(...)`, instead of the two strings.
    """
    rules = load_rules()
    pats = _lexicon_patterns()
    ctx = context or make_context(partner_line, situation)
    spans = sentences(reply)
    low = reply.lower()
    shielded = shield(reply)
    low_shielded = low if shielded is reply else shielded.lower()
    raw = _scan(rules, low, spans)
    safe = raw if low_shielded is low else _scan(rules, low_shielded, spans)
    out = []
    for i, sp in enumerate(spans):
        seg = low[sp.start : sp.end]
        tags = [t for t in safe[i] if t.act in POSITIVE] + [
            t for t in raw[i] if t.act not in POSITIVE
        ]
        if low_shielded is not low and not low_shielded[sp.start : sp.end].strip():
            tags = [t for t in tags if t.act not in POSITIVE]
        tags = _context_tags(tags, seg, ctx, pats)
        if _is_stock(seg, pats):
            tags = [replace(t, stock=True) if t.act in POSITIVE else t for t in tags]
        out.append(replace(sp, tags=tuple(_settle(tags, seg))))
    return ReplyActs(reply, tuple(out), rules.version)
