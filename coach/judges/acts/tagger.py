"""Tag what each sentence of a reply *does*: the first step of the built-in judge.

Phrase rules (`coach/judges/acts/rules/*.toml`) find acts inside a sentence. A few context rules
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

from coach.judges.acts import learned as learned_model
from coach.judges.acts.ruleset import Rule, RuleSet, load_rules
from coach.judges.acts.shield import shield

# Acts that show listening; they read the reply with judge-directed text blanked out.
POSITIVE = frozenset(
    {
        "care",
        "affirmation",
        "validation",
        "understanding_claim",
        "simple_reflection",
        "complex_reflection",
        "open_question",
        "closed_question",
        "asks_needs",
        "offer_presence",
        "apology",
        "ownership",
    }
)
HARMFUL = frozenset({"contempt", "blame", "defensiveness", "withdrawal"})
QUESTIONS = ("open_question", "closed_question")
REFLECTIONS = ("simple_reflection", "complex_reflection")

_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")
_WORD = re.compile(r"[a-z']+")
_CHECKED = re.compile(r",\s*(right|yeah|yes|is that right|is that it|am i right)\W*\?\W*$")
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")
_CLAUSE_BREAK = re.compile(r"[,;:]|\bbut\b")
_MOCK_SWEET = re.compile("[\U0001f618\U0001f609\U0001f61c\U0001f643]")
# A sentence that is only a laugh or a "kidding" makes the sentence before it a jab.
_LAUGH_ONLY = re.compile(r"^\W*(lol|lmao|haha+|hehe|jk|kidding|just kidding|only joking)?\W*$")
# Mockery by echo: a few of their own words handed back and capped with a scoff, in the same
# sentence ("furniture lol") or as the next one ("Miss wanting me. Sure."). "ok" is left out:
# "Sunday. Okay." agrees; "sure" alone after their words is the sarcastic "sure".
_SCOFF_END = re.compile(
    r"^(?P<echo>.*?\w.*?)[\s,.!?]*(\blol|\blmao|\bhaha+|\briight+|(?<=[,.] )sure)"
    r"(\W+(ok|okay|k|sure|right|then))?\W*$"
    r"|^(?P<echo2>.*?\w.*?)\s*(\U0001F602|\U0001F644|\U0001F643|\U0001F612)\W*$"
    # "lol a chef": a laugh, then a few of their words ("lol same", "haha that does" agree)
    r"|^\W*(lol|lmao|haha+)\W+(?P<echo3>(?!(same|that|this|it|me|i|yes|yeah|true|fair|agreed|we|"
    r"so true|exactly)\b)\w+(\W+\w+){0,2})\W*$"
)
# What every `_SCOFF_END` match holds: a plain search for it is cheap, while the full match
# backtracks over the whole sentence.
_SCOFF_HINT = re.compile(r"lol|lmao|haha|riigh|sure|\U0001F602|\U0001F644|\U0001F643|\U0001F612")
_SCOFF_ALONE = re.compile(
    r"^\W*(sure|lol|lmao|yeah,? sure|oh,? sure|riight+|right\.{2,}|wow|cool|noted|k|ok then|"
    r"okay then)\W*$"
)
# "you always/never <verb>" that says back what they said of themselves ("I've never asked"
# -> "lol you never ask me that") agrees with them; it is no verdict on them.
_YOU_ADVERB = re.compile(r"\byou (always|never) ([a-z']+)")
_I_ADVERB = re.compile(
    r"\bi(?:'ve|'m| have| am| was)?(?: [a-z']+){0,2} (always|never)((?: [a-z']+){1,6})"
)
_KIND = frozenset({"care", "apology", "validation", "ownership", "offer_presence"})


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
    # content words of their last dozen words (None: work them out when needed)
    tail_words: frozenset[str] | None = field(default=None, compare=False)
    # which generalising words ("everyone", "always") their line uses: in a reply, those
    # are their story, not a platitude
    general_words: frozenset[str] = field(default=frozenset(), compare=False)


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


_SUFFIXES = tuple((s, len(s)) for s in ("ing", "ed", "es", "s", "ly"))


def _stem(word: str) -> str:
    """A crude stem, enough to see that "laughed" picks up "laughing"."""
    w = word.strip("'")
    n = len(w)
    for suffix, cut in _SUFFIXES:
        if n > cut + 3 and w.endswith(suffix):
            return w[:-cut]
    return w


@functools.cache
def _stopwords() -> frozenset[str]:
    return frozenset(load_rules().lexicon.stopwords)


def content_words(text: str) -> frozenset[str]:
    """Stems of the words that carry content (no function words, no short words)."""
    stop = _stopwords()
    return frozenset(_stem(w) for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in stop)


_PAST_DEED = re.compile(
    r"^\W*(then |and )?i (just |really |never |only )?[a-z]+ed\b|^\W*(then |and )?i "
    r"(left|said|told|went|made|took|forgot|put|kept|let|wasn'?t|didn'?t)\b"
)
# Verbs that say nothing of what someone did: "you know", "I think".
_NOT_DEEDS = frozenset(w[:4] for w in (
    "are", "were", "was", "have", "had", "has", "can", "could", "will", "would", "should",
    "know", "think", "mean", "feel", "felt", "see", "guess", "want", "need", "get", "got",
    "say", "are", "too", "also", "the", "and", "not", "don", "didn", "hope", "wish",
))


def _within(mine: frozenset[str], theirs: frozenset[str]) -> bool:
    """Whether every word of `mine` is one of `theirs`, allowing for the forms the crude
    stem misses ("burnt" and "burning", "arguments" and "arguing": the same first four
    letters)."""
    heads = {w[:4] for w in theirs if len(w) >= 4}
    return all(w in theirs or (len(w) >= 4 and w[:4] in heads) for w in mine)


_GENERAL = re.compile(r"\b(everyone|everybody|people|sometimes|always|never)\b")


def make_context(partner_line: str = "", situation: str = "") -> Context:
    """A context with its content words worked out once."""
    line = content_words(partner_line)
    tail = content_words(" ".join(partner_line.split()[-12:]))
    general = frozenset(_GENERAL.findall(partner_line.lower()))
    return Context(partner_line, situation, line | content_words(situation), line, tail,
                   general)


def _negated(seg: str, at: int, negators: frozenset[str], window: int) -> bool:
    before = _CLAUSE_BREAK.split(seg[:at])[-1]
    words = _WORD.findall(before)[-window:]
    return any(w in negators or w.endswith("n't") for w in words)


def _first_match(
    rule: Rule, seg: str, negators: frozenset[str], window: int, present: frozenset[str]
) -> bool:
    """Whether `rule` matches somewhere in `seg` that no negation cancels (`present`: the
    texts rules need that `seg` holds)."""
    for needs, pattern in rule.parts:
        # `needs.may_match`, inlined: this runs for every candidate rule of every sentence.
        if needs.texts is not None and needs.texts.isdisjoint(present):
            continue
        if not rule.negatable:
            if pattern.search(seg):
                return True
            continue
        for m in pattern.finditer(seg):
            if not _negated(seg, m.start(), negators, window):
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
        "about_them": re.compile(r"\b(you|your|you're|youre|you've|he|she|they|his|her|their)\b"),
        # A promise to do it, or a yes (after a lead-in: "And yes, please read it to me");
        # "that's what you'll get" and "from now on" commit as well as "I will".
        "commitment": re.compile(
            r"\bsounds (lovely|great|perfect|good|wonderful|nice|like a plan|like heaven)\b|"
            r"\b(i'?ll|i will|i'?m going to|i am going to|let me|i can|i'?d be glad to|"
            r"i'?m staying|i'?d love (that|to)|consider it done|you got it|happy to|it is|"
            r"from now on|that'?s what (you'?ll|you will|we'?ll|we will) (get|have|do)|"
            r"you'?ll (get|have) (it|that|one|them)|will do)\b|"
            r"^\W*((and|so|then|oh|well|okay|ok|right)\W+)*(yes|yeah|of course|course|okay|ok|"
            r"sure|absolutely|always|deal|done)\b|^\W*done\W*$"
        ),
        "assent": re.compile(
            r"\bsounds (lovely|great|perfect|good|wonderful|nice|like a plan|like heaven)\b|"
            r"^\W*((and|so|then|oh|well|okay|ok|right)\W+)*(yes|yeah|of course|"
            r"course (you can|i will)|okay|ok|sure|absolutely|deal|done|"
            r"i can do that|i'?d love (that|to))\b|\b[a-z]+ it is\W*$|"
            r"^\W*(i will|i can|i'?ll do (that|it)|will do|consider it done)\W*$|"
            r"\bthat'?s what (you'?ll|you will|we'?ll|we will) (get|have|do)\b"
        ),
        # what they say you did, and what you say you did: "you (used to) love it" and
        # "I loved that house"; the verb is compared by its stem
        "you_did": re.compile(
            r"\byou (?:used to |always |never |just |really |didn'?t |never even )?([a-z]{3,})\b"
        ),
        "i_did": re.compile(
            r"^\W*i (?:used to |always |never |just |really |didn'?t |did )?([a-z]{3,})\b"
        ),
        "dont": re.compile(
            r"\b(don'?t|do not|please don'?t|stop|no more) (say(ing)?|tell(ing)? me|give me|"
            r"start|bring(ing)? up|apologi[sz]e|try(ing)? to|promise|ask(ing)?)\b"
            r"(?P<what>[^.!?]{0,30})"
        ),
        "cause": re.compile(r"\b(because|after|when|since|that|while|then)\b"),
    }


def _scan(
    rules: RuleSet, text: str, spans: list[Sentence], memo: dict[str, list[Tag]] | None = None
) -> list[list[Tag]]:
    """Phrase-rule tags per sentence, reading `text` (the lower-cased reply).

    `memo` holds the tags of sentences already read (a rule reads one sentence at a time,
    so a sentence's tags do not depend on its neighbours); new ones are added to it.
    """
    all_segs = [text[sp.start : sp.end] for sp in spans]
    if memo is not None and all(s in memo for s in all_segs):
        return [list(memo[s]) for s in all_segs]
    if memo is not None:
        todo = [i for i, s in enumerate(all_segs) if s not in memo]
        fresh = _scan(rules, text, [spans[i] for i in todo])
        for i, tags in zip(todo, fresh, strict=True):
            memo[all_segs[i]] = tags
        return [list(memo[s]) for s in all_segs]
    lex = rules.lexicon
    negators, window = frozenset(lex.negators), lex.negation_window
    out: list[list[Tag]] = [[] for _ in spans]
    for i, seg in enumerate(all_segs):
        seen = _SCANNED.get((rules.version, seg))
        if seen is not None:
            out[i] = list(seen)
            continue
        is_q = seg.rstrip().endswith("?")
        present = rules.present(seg)
        for rule in rules.candidates(present):
            if (rule.question == "only" and not is_q) or (rule.question == "never" and is_q):
                continue
            if _first_match(rule, seg, negators, window, present):
                out[i].append(Tag(rule.act, rule.strength, rule.why, rule.stock))
        if len(_SCANNED) >= _SCANNED_MAX:
            _SCANNED.clear()
        _SCANNED[(rules.version, seg)] = tuple(out[i])
    return out


# The phrase-rule tags of sentences read before in this process, by rule set and sentence
# (a sentence's tags depend on nothing else): a rewrite, a retry or an evaluation reads many
# sentences again. Bounded; `coach bench` clears it to measure replies never seen.
_SCANNED: dict[tuple[str, str], tuple[Tag, ...]] = {}
_SCANNED_MAX = 50_000


def forget_read_sentences() -> None:
    """Empty the cache of sentences already read (so the next reading is a cold one)."""
    _SCANNED.clear()


def is_stock(text: str) -> bool:
    """Whether `text` is only stock phrases ("I hear you. That makes sense.")."""
    return _is_stock(text.lower(), _lexicon_patterns())


def _is_stock(seg: str, pats: dict[str, re.Pattern[str]]) -> bool:
    """A sentence that is only stock phrases ("I hear you, love."): with them taken out,
    at most two words are left ("That makes sense after what he did" is not stock)."""
    rest = pats["stock"].sub(" ", seg)
    if rest == seg:
        return False
    return len(_WORD.findall(rest)) < 3


# Reflections found by form alone (no lead-in, no feeling named): they need a word of the
# partner's own story when there is one.
_BARE_REFLECTIONS = frozenset({
    "says back their experience, about them", "sums up their situation",
    "says their story back in a question's tune",
})


def _tail_words(ctx: Context) -> frozenset[str]:
    if ctx.tail_words is not None:
        return ctx.tail_words
    return content_words(" ".join(ctx.partner_line.split()[-12:]))


# Kin of the hard feelings, by their first four letters: a reflection's feeling fits what
# they said when they used a word of its kin ("exhausted" fits "tired"; "humiliated" fits
# "they laughed at me"). Hurt and sadness fit almost any hard news, so they have no kin here.
_KIN = tuple(frozenset(w[:4] for w in group.split()) for group in (
    "tired exhausted drained worn knackered shattered sleep wiped weary burnt burned fatigue "
    "shift night",
    "humiliated embarrassed ashamed shame mortified laughed joke punchline stupid small "
    "everyone",
    "lonely alone isolated invisible unseen nobody miss quiet ignored furniture unwanted",
    "scared afraid frightened terrified anxious anxiety worried nervous fear scary panic",
    "angry furious livid annoyed frustrated irritated resent unfair",
    "overwhelmed stressed pressure swamped drowning everything",
))


def _feeling_fits(seg: str, ctx: Context, pats: dict[str, re.Pattern[str]]) -> bool:
    """Whether the hard feelings `seg` names fit what they said or their situation (a
    feeling of no known kin is given the benefit of the doubt)."""
    theirs = {w[:4] for w in _WORD.findall(f"{ctx.partner_line} {ctx.situation}".lower())}
    for m in pats["feelings"].finditer(seg):
        head = m.group(0)[:4]
        kin = [k for k in _KIN if head in k]
        if not kin or head in theirs or any(k & theirs for k in kin):
            return True
    return not pats["feelings"].search(seg)


def _shares_run(seg: str, partner_line: str) -> bool:
    """Whether `seg` repeats three words in a row from what they said."""
    mine = _WORD.findall(seg)
    theirs = " " + " ".join(_WORD.findall(partner_line.lower())) + " "
    runs = zip(mine, mine[1:], mine[2:], strict=False)
    return any(f" {a} {b} {c} " in theirs for a, b, c in runs)


# The speaker in a sentence: in an echo, a story of one's own starts ("So that's how you
# see me."); after a hurtful sentence, one's own words taken back ("Sorry, that was unkind").
_SPEAKER = re.compile(r"\b(sorry|i|i'm|i've|me|my)\b")
# Their "with you" said back from the listener's side is still their words: "Lonely, sat
# right here with me." after "Sat here with you, and I'm lonely."
_SHIFTED_ME = re.compile(r"\b(with|to|at|beside|next to|for) me\b")


def _said_back(tags: list[Tag], seg: str, ctx: Context, pats: dict[str, re.Pattern[str]],
               is_q: bool, mine: frozenset[str], overlap: frozenset[str]) -> list[Tag]:
    """Reflections without a lead-in: their situation picked up, or their words echoed."""
    acts = {t.act for t in tags}
    # Picks up their own situation in the listener's words: a plain statement about them
    # (no "I", no advice, no "if", "maybe" or "will") that uses what they told you.
    # (`re` caches the compiled pattern; it stays here so this block is self-contained.)
    not_saying_back = (
        r"\b(if|should|could|might|maybe|perhaps|need to|needs to|have to|has to|try|hope|"
        r"please|will|won't|would|can|just|never|there is|there are|it's easy|everyone|"
        r"everybody|people|sometimes|always|supposed to)\b|"
        r"'ll\b|^\W*(do|don't|dont|go|get|be|stop|take|make|keep|let|find|talk|tell|call|"
        r"remember|think|look|try|give|consider|wait|see|hear|ask|say|write|read|leave|put|"
        r"start|use|pick|rest|breathe|relax|enjoy|stay|focus|avoid|visit|join|reach|check)\b|"
        # and a question that lost its question mark
        r"^\W*(how|what|why|when|where|who|which|are|is|do|does|did|have|has|can|could|would|"
        r"will)\b")
    # A generalising word ("everyone", "always") of their own is their story, not a
    # platitude: "He read it out in front of everyone" after "In front of everyone."
    probe = _GENERAL.sub(lambda m: "" if m.group(1) in ctx.general_words else m.group(0), seg)
    # Their story said back with a rising tone is a reflection that checks, not a question
    # ("He read your email out and they laughed?"): no question word or inverted verb first,
    # three of their words (their own "everyone" counts: "He read it out in front of
    # everyone?"), and no feeling (a feeling put as a question is often disbelief).
    theirs = len(overlap) + len(ctx.general_words.intersection(_GENERAL.findall(seg)))
    checking = is_q and theirs >= 3 and not pats["feelings"].search(seg) and not re.match(
        r"\W*(how|what|why|when|where|who|which|whose|are|is|am|was|were|do|does|did|have|"
        r"has|had|can|could|would|will|should|shall|may|might|must|isn't|aren't|don't|"
        r"didn't|won't|wouldn't|so|and|or|seriously|really)\b", seg)
    if ((not is_q or checking) and not acts & {"simple_reflection", "complex_reflection",
                                               "advice", "self_focus", "affirmation",
                                               "minimizing", "rhetorical_question", *HARMFUL}
            and not pats["first_person"].search(seg)
            and not re.search(not_saying_back, probe)
            and pats["about_them"].search(seg)
            and len(overlap) >= 2 and len(seg.split()) >= 4):
        if pats["feelings"].search(seg) and pats["cause"].search(seg):
            tags.append(Tag("complex_reflection", 2, "names their feeling and what caused it"))
        else:
            tags.append(Tag("simple_reflection", 1, "picks up what they told you"))
    # Echoes their own words ("Security." after "...and security"): a short statement made
    # only of words they just used (their last dozen) is a simple reflection, whoever it is
    # about.
    elif (not is_q and not acts & {"simple_reflection", "complex_reflection", "advice",
                                   "self_focus", "minimizing", *HARMFUL}
            and mine
            and (
                (mine <= _tail_words(ctx)
                 and len(seg.split()) <= 8)
                # or two of their words from anywhere, in a short fragment that keeps a
                # run of three of their words ("A four out of ten, okay.")
                or (len(mine) >= 2 and mine <= ctx.line_words and len(seg.split()) <= 8
                    and _shares_run(seg, ctx.partner_line))
                # or a longer run of their own details, picked from anywhere in what they
                # said ("Forty hellos before ten, and Mrs Patel with the kettle on."), with
                # at most one word of the listener's own ("A hug at the door, before the
                # bag's down.")
                or (len(mine) >= 3 and len(seg.split()) <= 14
                    and len([w for w in mine if not _within(frozenset((w,)), ctx.line_words)])
                    <= (1 if len(mine) >= 4 else 0))
            )
            # Their list said back from the listener's side keeps "me", "us" and "we" ("me
            # holding you on the sofa", "just us two"); an "I" or a "my" starts a story.
            and not _SPEAKER.search(_SHIFTED_ME.sub(
                lambda m: "" if f" {m.group(1)} you" in f" {ctx.partner_line.lower()}"
                else m.group(0), seg))
            and not re.search(not_saying_back, probe.replace(" just ", " "))
            # Greetings, thanks and goodbyes echo too, and are not reflections; nor is a
            # question without its mark, or a bare "good"/"bad".
            and not re.search(r"\b(hello|hi|hey|bye|goodbye|thanks?|welcome|happy|good (day|night|"
                              r"evening|morning|luck)|have a|take care)\b|^\W*(are|is|do|does|"
                              r"did|have|has|can|could|would|will|what|why|how|when|where|who)\b"
                              # a sulk is no echo: "Fine. Not talking, then."
                              r"|\bthen\W*$|^\W*(fine|whatever)\b", seg)
            and not mine <= {"good", "bad", "great", "nice", "fine", "hard", "true", "right",
                             "hmm", "mhm", "huh", "yep", "nope", "mmm", "uh-huh", "mm-hmm"}):
        tags.append(Tag("simple_reflection", 1, "echoes their own words"))
    return tags


# A word after these, or inside quotation marks, is mentioned, not said: "You already texted
# sorry" quotes their complaint; it is no new apology.
_REPORTING = re.compile(
    r"\b(said|say|says|saying|texted|text|texting|sent|send|wrote|write|typed|another|word|"
    r"keep saying)\W+$"
)


def _mentioned(seg: str, at: int) -> bool:
    before = seg[:at]
    quotes = before.count('"') + before.count("\u201c") - before.count("\u201d")
    return quotes % 2 == 1 or bool(_REPORTING.search(before))


def _confirms_them(seg: str, partner: str) -> bool:
    """Whether `seg`'s "you always/never <verb>" repeats the partner's own "I ... always/never
    <verb>" (same adverb, a verb of the same stem among the words after it)."""
    mine = _YOU_ADVERB.search(seg)
    if not mine or not partner:
        return False
    verb = mine.group(2)
    for m in _I_ADVERB.finditer(partner):
        if m.group(1) != mine.group(1):
            continue
        for w in m.group(2).split():
            n = min(4, len(w), len(verb))
            if n >= 3 and w[:n] == verb[:n]:
                return True
    return False




# Someone a question names: "What did he say?" asks about their story, so it is not generic.
_SOMEONE = re.compile(r"\b(he|she|they|him|her|them|his|their|he's|she's|they're)\b")


# The minimizing rule for disbelief put as a question ("You're upset over an email?"): it has
# a checking reflection's tune, and is none. Another minimizing match in a question (a stray
# "calm down" inside a longer check) may still say their story back.
_DOUBTS = "doubts the feeling is warranted"


# Their line is about the listener: it says "you" other than "you know" or a generic "you".
_NON_APOLOGY = re.compile(
    r"\byou('ve| have|'re| are)? (did|didn'?t|never|always|said|say|made|make|left|forgot|"
    r"don'?t|keep|were|weren'?t|just|laughed|took|chose|promised|ignored|ignore|cancelled|"
    r"missed|walked|hurt|embarrassed|treat|treated|went|told|let)\b|\bwhy (did|do|would) you\b|"
    # what the listener does or leaves undone, and what the two of them no longer do
    r"\b(the only time|every time|whenever) you [a-z]+( [a-z]+)? (me|my|us)\b|"
    r"\byou('re| are) (off|always|never|out|glued)\b|"
    r"\byou (only|hardly|barely|rarely) [a-z]+ (me|my|us|to me|with me)\b|"
    r"\bwe (haven'?t|never|hardly|barely) [a-z]+\b|\bi'?m always the one\b"
)


def _context_tags(tags: list[Tag], seg: str, ctx: Context,
                  pats: dict[str, re.Pattern[str]], mine: frozenset[str]) -> list[Tag]:
    """Tags that need what the partner said (see the module docstring); `mine` is the
    sentence's `content_words`."""
    is_q = seg.rstrip().endswith("?")
    acts = {t.act for t in tags}
    overlap = mine & ctx.words
    told_negative = bool(pats["feelings"].search(ctx.partner_line.lower())) or bool(
        re.search(r"n't|\bnot\b|\bno\b|\bnever\b", ctx.partner_line.lower())
    )
    # "That's not fair." protests a complaint about oneself, but sides with them about what
    # someone else did ("He read it out in front of everyone." "That's not fair."): where
    # their line says nothing of the listener, and the sentence nothing of the speaker, it
    # is validation.
    if (
        ctx.partner_line
        and any(t.why == "calls it unfair" for t in tags)
        and not pats["second_person"].search(ctx.partner_line.lower())
        and not pats["first_person"].search(seg)
    ):
        tags = [t for t in tags if t.why != "calls it unfair"]
        tags.append(Tag("validation", 2, "says it was unfair to them"))
        acts = {t.act for t in tags}
    # Says the opposite of what they said: "It sounds like you had a lovely day".
    if (
        (
            acts & {"simple_reflection", "complex_reflection", "understanding_claim"}
            or (pats["second_person"].search(seg) and not is_q)
        )
        and told_negative
        and pats["pleasant"].search(seg)
    ):
        tags = [t for t in tags if t.act not in REFLECTIONS]
        tags.append(Tag("minimizing", 1, "says the opposite of what they told you"))
        return tags
    if ctx.partner_line:
        tags = _said_back(tags, seg, ctx, pats, is_q, mine, overlap)
        if len(ctx.line_words) >= 15 and not mine & ctx.line_words:
            # After a real story, a "you..." sentence with none of its words is about
            # something else (a pep talk, an argument), not their story said back.
            tags = [t for t in tags if t.why not in _BARE_REFLECTIONS]
    if ctx.partner_line and not _NON_APOLOGY.search(ctx.partner_line.lower()):
        # "I'm sorry you feel that way" is a non-apology to a complaint about oneself, and
        # sympathy to someone low about their own life.
        tags = [t for t in tags if t.why != "sorry for their feeling, not for what one did"]
    acts = {t.act for t in tags}
    if "blame" in acts and _confirms_them(seg, ctx.partner_line.lower()):
        tags = [t for t in tags if t.why != "attacks their character"]
        acts = {t.act for t in tags}
    if acts & {"blame", "defensiveness"} or any(t.why == _DOUBTS for t in tags):
        # "You're overreacting" is about them, and says nothing of theirs back; "You're
        # upset over an email?" has a checking reflection's tune, but it doubts the feeling.
        tags = [t for t in tags if t.act not in REFLECTIONS]
        acts -= set(REFLECTIONS)
    if "complex_reflection" in acts:
        # One reflection per sentence; and one that only repeats their words adds nothing
        # beyond them, which is what makes a reflection simple.
        if mine and ctx.line_words and mine <= ctx.line_words:
            tags = [t for t in tags if t.act != "complex_reflection"]
            if "simple_reflection" not in acts:
                tags.append(Tag("simple_reflection", 1, "says their own words back"))
        else:
            tags = [t for t in tags if t.act != "simple_reflection"]
            if ctx.partner_line and ctx.situation and not _feeling_fits(seg, ctx, pats):
                # "It sounds like you felt humiliated" to "Fine. Tired.": a feeling that
                # nothing they said or went through points to is a guess, not a reflection.
                # Only with a scenario: without one there is no situation to check it by
                # (a feeling they did not name is what a complex reflection adds).
                tags = [t for t in tags if t.act != "complex_reflection"]
                tags.append(Tag("simple_reflection", 1, "guesses at a feeling they did not name"))
    if not ctx.partner_line:
        return tags
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
    partner = ctx.partner_line.lower()
    # Offers what they just asked for ("Okay, fine." is grudging: see `_shrugs_off_ask`).
    asked = pats["requests"].search(partner)
    if (
        asked
        and not is_q
        and not acts & (HARMFUL | {"minimizing", "acknowledgement"})
        and pats["commitment"].search(seg)
        and not _BARE_FINE.match(seg)
        # "I can't pretend everything's fine for a night", "Yes, obviously": a refusal, or
        # a yes that scoffs, is not what they asked for
        and not _REFUSES.search(seg)
    ):
        wanted = content_words(partner[asked.start() :])
        if mine & wanted or (pats["assent"].search(seg) and not _TURN_INSIDE.search(seg)):
            tags = [t for t in tags if t.act != "advice"]
            tags.append(Tag("offer_presence", 2, DOES_WHAT_ASKED))
    # "Is that okay?" -> "Yes, it's okay.": a yes to what they asked, not a brush-off.
    if (any(t.why == "reassures too fast" for t in tags) and not acts & HARMFUL
            and _ASKS_LEAVE.search(partner) and _YES.match(seg) and not _SHRUG_OFF.search(seg)):
        tags = [t for t in tags if t.why != "reassures too fast"]
        tags.append(Tag("offer_presence", 2, SAYS_YES_TO_ASK))
        acts = {t.act for t in tags}
    # Their own "I can read a scan" said back ("You can read the scan.") is a reflection of
    # what they told you, not a suggestion.
    if any(t.act == "advice" and t.strength == 1 for t in tags):
        can = _YOU_CAN.match(seg)
        if can and can.group(1)[:4] in {m.group(1)[:4] for m in _I_CAN.finditer(partner)}:
            tags = [t for t in tags if t.act != "advice"]
            tags.append(Tag("simple_reflection", 2, "says back what they said they can do"))
            acts = {t.act for t in tags}
    # Owns what they said you did: "You laughed" -> "I laughed, and...".
    if not is_q and not acts & HARMFUL and seg.lstrip().startswith("i "):
        # compared by their first four letters: "love" and "loved", "laughed" and "laughing"
        done = {m.group(1)[:4] for m in pats["you_did"].finditer(partner)} - _NOT_DEEDS
        mine_did = {m.group(1)[:4] for m in pats["i_did"].finditer(seg)} - _NOT_DEEDS
        if done & mine_did:
            tags.append(Tag("ownership", 2, "owns what they said you did"))
        elif (any(t.act == "self_focus" for t in tags) and pats["second_person"].search(seg)
                and pats["second_person"].search(partner) and _PAST_DEED.match(seg)):
            # "I smoothed it over for them instead of standing with you", told to someone
            # hurt by it, owns what you did to them: it is no story about yourself.
            tags = [t for t in tags if t.act != "self_focus"]
            tags.append(Tag("ownership", 2, "owns what they said you did"))
    # Does what they just asked you not to ("Don't say sorry" -> "I'm so sorry").
    for m in pats["dont"].finditer(partner):
        said = m.group(0)
        words = set(content_words(m.group("what")))
        # "sorry" and "promise" are function words elsewhere, but here they are the point.
        words |= {
            w for w in ("sorry", "promise") if w in said or (w == "sorry" and "apolog" in said)
        }
        found = next((w for w in _WORD.finditer(seg)
                      if (_stem(w.group(0)) in words or w.group(0)[:-1] in words)
                      and not _mentioned(seg, w.start())), None)
        hit = found.group(0) if found else None
        if found and not _negated(seg, found.start(), frozenset(load_rules().lexicon.negators), 2):
            tags.append(Tag("minimizing", 1, "does what they asked you not to"))
            break
        if hit and not acts & HARMFUL and re.search(
            rf"\b(no|won'?t|will not|not going to|never) ([a-z]+ )?{re.escape(hit)}", seg
        ):
            # "Don't say sorry" -> "No sorry, then." / "I won't promise": their terms kept.
            tags.append(Tag("offer_presence", 2, DOES_WHAT_ASKED))
            break
    # An account of oneself in answer to a complaint about oneself ("You never ask about my
    # day." -> "I asked you on Tuesday.", "I was replying to work."): it argues the case
    # instead of hearing it. Owning it, saying sorry, or any listening in the sentence is
    # left alone, and so is an admission that says their complaint back ("I was on my phone
    # all night" to "You were on your phone all night"), which shares two of their words.
    acts = {t.act for t in tags}
    if (not is_q and _NON_APOLOGY.search(partner) and not _THANKS.search(partner)
            and _ACCOUNT.match(seg)
            and not acts & (POSITIVE | HARMFUL | {"minimizing"})
            and len(mine & ctx.line_words) < 2 and not _ADMITS.search(seg)):
        tags.append(Tag("defensiveness", 2, "argues your side instead of hearing theirs"))
    return tags


# What makes an "I did ..." an admission, not a case argued: "I did say that", "I got that
# wrong", "I do love you", a promise, or a word of fault.
_ADMITS = re.compile(
    r"\bi (did|do) (that|it|say (that|it)|(love|want|care|like|miss|need|see|hear|notice)\b)|"
    r"\b(got|get) (that|it) wrong\b|\bi'?ll\b|\bi will\b|\b(wrong|my fault|on me|"
    r"shouldn'?t have|unfair|unkind|sorry|you'?re right|you were right|when you needed|"
    r"wasn'?t (helpful|fair|kind|ok|okay|good|right))\b|^\W*i haven'?t been [a-z]+ing\b|"
    r"\bi didn'?t (know|realise|realize|see|notice|understand) (you|that you|how|it|that|what)\b|"
    r"\bi (don'?t|do not) want (to |you to |a |this to )?(just )?(forget|argue|fight|lose|hurt|"
    r"miss|brush|rush|push|row)\b|"
    # a tag that concedes it: "I have stopped, haven't I."
    r",\s*(haven'?t|didn'?t|wasn'?t|don'?t|hadn'?t) i\W*$"
)
# "You have made me see..." in a thank-you is no complaint to answer.
_THANKS = re.compile(r"\b(thank you|thanks|thank u|grateful)\b")
# "I was ...", "I asked ...", "I thought ...", "It was only ...": the listener's own account.
_ACCOUNT = re.compile(
    r"^\W*((well|but|look|i mean|okay|ok|no|honestly|come on)\W+)*("
    r"i (was|wasn'?t|did|didn'?t|do|don'?t|thought|said|asked|texted|rang|called|came|went|"
    r"put|got|had|have|haven'?t|'?ve|'?d|meant|only|just|am|'?m (just|only|literally|not)|"
    r"offered|tried|told|checked|showed|show|say|ask|introduced|work|needed|wanted|couldn'?t|"
    r"can'?t|could|wouldn'?t|[a-z]+ed)\b|"
    r"i'?m (up|out|home|back|on|at|in|working|still) |we (had|did|went|were|spent|'?re|are|do|go|"
    r"have|'?ve)\b|some(one|body)('?s| has) (got )?to\b|you know i\b|"
    r"it (was|wasn'?t|'?s) (only|just|for|on|the only|a|half|like)\b)"
)


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
    if ("rhetorical_question" in acts and acts & set(REFLECTIONS) and _CHECKED.search(seg)) or any(
        t.why == "checks they were understood" for t in tags
    ):
        # "So you felt alone, right?" checks a reflection, and "Did I get that right?" asks
        # them, though both end in "right?": neither is a jab.
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
    if "complex_reflection" in acts:
        tags = [t for t in tags if t.act != "simple_reflection"]  # one reflection a sentence
    if any(t.why == "offers them the choice of how you are there" for t in tags):
        # "Can I sit with you, or would you rather I waited outside?" is about being there
        # for them: no jab, and no story of oneself
        tags = [t for t in tags if t.act not in ("rhetorical_question", "self_focus")]
        acts -= {"rhetorical_question", "self_focus"}
    if "asks_needs" in acts:
        # "Do you want me to just listen?" asks about support, not about their experience.
        tags = [replace(t, strength=1) if t.act == "closed_question" else t for t in tags]
    if any(t.act == "closed_question" and t.why == "asks how much or how long" for t in tags):
        # "On a scale of one to ten, how ready are you?" asks for a number, however it opens.
        tags = [t for t in tags if t.act != "open_question"]
    elif "open_question" in acts:
        tags = [t for t in tags if t.act != "closed_question"]
    for q in QUESTIONS:
        if any(t.act == q and t.stock for t in tags):
            # A generic question stays generic, whatever else it matched.
            tags = [t for t in tags if t.act != q or t.stock]
    if "ownership" in acts:
        # "I laughed, and then I changed the subject" owns their part; it is no story of mine.
        tags = [t for t in tags if t.act != "self_focus"]
    if any(t.act == "offer_presence" and t.strength == 2 for t in tags):
        # "I'll make you a cup of tea" is an offer, not a plan to fix them.
        tags = [t for t in tags if t.act != "advice"]
    if "blame" in acts and _MOCK_SWEET.search(seg):
        tags.append(Tag("contempt", 2, "a jab sweetened with a wink"))
        acts.add("contempt")
    if acts & {"contempt", "blame", "defensiveness"}:
        # Care or validation in a sneer, a jab or a defence is part of it.
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


def tag_reply(
    reply: str,
    partner_line: str = "",
    situation: str = "",
    context: Context | None = None,
    memo: dict[str, list[Tag]] | None = None,
    learned: bool = True,
) -> ReplyActs:
    """Tag every sentence of `reply` with the acts it performs.

    Args:
        reply: the user's reply.
        partner_line: what the partner said just before (may be empty).
        situation: the scenario's situation and opening, for picking up their story.
        context: a prepared `make_context(...)`, instead of the two strings.
        memo: phrase-rule tags of sentences already read (see `_scan`), to share between
            readings of replies that have sentences in common (a reply and its rewrite).
        learned: also ask the learned reading (`learned.py`) for acts the rules missed;
            off only for training it.
    """
    rules = load_rules()
    pats = _lexicon_patterns()
    ctx = context or make_context(partner_line, situation)
    spans = sentences(reply)
    low = reply.lower()
    shielded = shield(reply)
    low_shielded = low if shielded is reply else shielded.lower()
    # Their words in double quotes are theirs: "When you say “no one cares”..." is not the
    # speaker's contempt. Harmful acts read the reply with quotations blanked out.
    unquoted = low
    if "“" in low or '"' in low:
        unquoted = _QUOTED.sub(lambda m: " " * len(m.group(0)), low)
    raw = _scan(rules, unquoted, spans, memo)
    safe = raw if low_shielded is low else _scan(rules, low_shielded, spans, memo)
    out = []
    for i, sp in enumerate(spans):
        seg = low[sp.start : sp.end]
        # A sentence's settled tags depend only on these texts and the context, so a
        # rewrite that keeps the sentence (the better reply) reuses them.
        key = None
        if memo is not None:
            key = (ctx, learned, low_shielded is low, unquoted[sp.start : sp.end],
                   low_shielded[sp.start : sp.end], seg)
            done = memo.get(key)  # type: ignore[call-overload]
            if done is not None:
                out.append(Sentence(sp.start, sp.end, sp.text, done))
                continue
        tags = [t for t in safe[i] if t.act in POSITIVE] + [
            t for t in raw[i] if t.act not in POSITIVE
        ]
        if low_shielded is not low and not low_shielded[sp.start : sp.end].strip():
            tags = [t for t in tags if t.act not in POSITIVE]
        mine = content_words(seg)
        tags = _context_tags(tags, seg, ctx, pats, mine)
        stock = _is_stock(seg, pats)
        if learned and not stock:
            # like the rules' listening, the learned reading's reads no words aimed at the
            # judge (see shield.py): an injected "I'm so sorry" earns nothing
            read = low_shielded[sp.start : sp.end]
            tags = _learned_tags(tags, read, ctx, mine if read == seg else content_words(read))
        if stock:
            tags = [replace(t, stock=True) if t.act in POSITIVE else t for t in tags]
        settled = tuple(_settle(tags, seg))
        if key is not None:
            memo[key] = settled  # type: ignore[index]
        out.append(Sentence(sp.start, sp.end, sp.text, settled))
    for i in range(1, len(out)):
        seg = low[out[i].start : out[i].end]
        if (out[i].has("contempt") and _LAUGH_ONLY.match(seg) and not out[i - 1].has("contempt")
                and _about_them(low[out[i - 1].start : out[i - 1].end], ctx, pats)):
            prev = [t for t in out[i - 1].tags if t.act not in POSITIVE]
            prev.append(Tag("contempt", 2, "laughed at, in the next breath"))
            out[i - 1] = replace(out[i - 1], tags=tuple(prev))
    out = _taken_back(out, low)
    out = _assent_then_turn(out, low)
    kind = any(t.act in _KIND and not t.stock for s in out for t in s.tags)
    if kind:
        # A laugh or a "poor you" in a reply that is kind elsewhere is warmth.
        out = [replace(s, tags=tuple(t for t in s.tags if t.why not in _WARM_IF_KIND))
               if any(t.why in _WARM_IF_KIND for t in s.tags) else s for s in out]
    elif ctx.line_words:
        out = _mock_echo(out, low, ctx)
    return ReplyActs(reply, tuple(out), rules.version)


# A bare yes ("Of course.", "Yeah, fair.", "Okay.") is doing what they asked only if the
# reply goes on to do it: followed by a fix, a "but", or harm, it is a nod before the turn.
_BARE_ASSENT = re.compile(r"^\W*(\w+\W*){1,3}$")
_TURNS = re.compile(r"^\W*(but|though|tho|however|still|that said|for what it'?s worth|mind you)\b")
ASSENT_THEN_TURN = "a yes the rest of the reply takes back"


def _assent_then_turn(out: list[Sentence], low: str) -> list[Sentence]:
    for i, sent in enumerate(out):
        if not any(t.why in ANSWERS_ASK for t in sent.tags):
            continue
        if not _BARE_ASSENT.match(low[sent.start:sent.end]):
            continue
        if any(s.has("advice", *_HURTS) or _TURNS.match(low[s.start:s.end]) for s in out[i + 1:]):
            tags = [t for t in sent.tags if t.why not in ANSWERS_ASK]
            tags.append(Tag("acknowledgement", 2, ASSENT_THEN_TURN))
            out[i] = replace(sent, tags=tuple(tags))
    return out


_HURTS = HARMFUL | {"minimizing", "rhetorical_question"}
SURE_REFLECTION = 0.99
_CROWD = frozenset({"everyone", "everybody", "people"})

# Taking back what one just said ("Sorry, that was unkind.", "That came out wrong.", "I'm
# being a jerk."): read only right after a hurtful sentence of the same reply, where "That
# wasn't fair" is about the listener's own words, not about what happened to them.
_TAKE_BACK = re.compile(
    r"^\W*((oh|god|ugh|sorry|no|wait|okay|ok|right|look)\W+)*("
    r"(i'?m |i am )?(so |really )?sorry\W*$|"
    r"((i'?m |i am )?(so |really )?sorry|no|wait)?[\s,.—–-]*(that|this|it)"
    r"( wasn'?t| isn'?t|'s not| was not| is not) (very |really |at all )?(fair|kind|nice|ok|okay|"
    r"helpful|called for|what i meant|the point)\b|"
    r"((i'?m |i am )?(so |really )?sorry|no|wait)?[\s,.—–-]*(that|this|it)"
    r"( was| wasn'?t| is| isn'?t| came out|'s| sounded) (so |really |a bit |totally |completely )?"
    r"(unkind|unfair|not fair|mean|harsh|"
    r"out of (line|order)|uncalled for|wrong|not (ok|okay|what i meant|the point|helpful|kind)|"
    r"a (horrible|awful|rotten|cruel|stupid|nasty|crap|shitty) thing to say|not nice|"
    r"rude|cruel|nasty|unnecessary|low|a low blow)\b|"
    r"(i|i'?m|i am) (didn'?t mean (that|it)|take (that|it) back|being (a jerk|an idiot|unfair|"
    r"mean|defensive|horrible|awful|a prat|an arse|an ass|harsh|unkind|cruel|a dick))\b|"
    r"(scratch|forget|ignore) (that|what i (just )?said)\b|"
    r"let me (try|start) (that )?again\b|that'?s not what i (meant|wanted to say)\b)"
)


_OWN_WORDS = re.compile(r"\b(came out|sounded|scratch that|forget that|ignore that)\b")
# The reasons of a sentence that takes back the one before it (it means nothing without it).
TAKEN_BACK = ("takes back what you just said", "says sorry for what you just said")


def _taken_back(out: list[Sentence], low: str) -> list[Sentence]:
    """A sentence that takes back the hurtful one before it owns it (and is an apology
    when it says sorry), whatever the phrase rules read in it."""
    for i in range(1, len(out)):
        # (a fix they did not ask for can be taken back too: "Next time, get it checked.
        # Sorry, that was unkind.")
        if not out[i - 1].has(*_HURTS, "advice"):
            continue
        seg = low[out[i].start : out[i].end]
        took = _TAKE_BACK.search(seg)
        if not took:
            continue
        if out[i].has(*_HURTS) and len(_WORD.findall(seg[took.end():])) > 2:
            # "That's not fair, I've been to loads of your things." goes on to defend
            # itself: the "that's not fair" is aimed at them, not at what was just said
            continue
        if not _SPEAKER.search(seg) and not _OWN_WORDS.search(seg):
            # "That's not okay." and "It was cruel." are as likely about what happened to
            # them: only a sorry, the speaker's own "I", or words about what was just said
            # ("that came out wrong") take it back
            continue
        tags = [Tag("ownership", 2, TAKEN_BACK[0])]
        if "sorry" in seg:
            tags.append(Tag("apology", 2, TAKEN_BACK[1]))
        out[i] = replace(out[i], tags=tuple(tags))
    return out


def _learned_tags(tags: list[Tag], seg: str, ctx: Context, mine: frozenset[str]) -> list[Tag]:
    """Acts the phrase rules missed that the learned reading is confident of. It never
    adds listening to a sentence the rules found hurtful, fixing or about oneself, nor harm
    to one the rules found plainly listening (a strong act of their own words): there the
    rules know better."""
    if not ctx.partner_line or len(_WORD.findall(seg)) < 3:
        # It was trained on sentences read against what the partner said, so it reads
        # nothing without their line; and "Ok." or "Fine." does what the moment makes it
        # do, which a bag of words can't tell.
        return tags
    model = learned_model.model()
    feats = learned_model.features(seg, ctx.line_words if ctx.partner_line else None, mine)
    sure = model.confident(feats)
    if not sure:
        return tags
    acts = {t.act for t in tags}
    # a fix or a story of one's own is no listening, however much it borrows their words
    hurts = bool(acts & (_HURTS | {"advice", "self_focus"}))
    listens = any(t.act in POSITIVE and t.strength == 2 and not t.stock for t in tags)
    is_q = seg.rstrip().endswith("?")
    out = list(tags)
    for act in sure:
        if act in acts or (act == "simple_reflection" and "complex_reflection" in acts):
            continue
        if (act in POSITIVE and hurts) or (act in _HURTS and listens):
            continue
        if act == "rhetorical_question" and not is_q:
            continue
        # a reflection says something of theirs back: to them, in at least one of their words
        # (or, when the reading is all but certain, in words of the listener's own)
        if act in REFLECTIONS and not (_lexicon_patterns()["second_person"].search(seg)
                                       and (mine & ctx.line_words or sure[act] >= SURE_REFLECTION)):
            continue
        # nor their story said back with a crowd they did not name ("Everyone laughed at
        # you" after "They laughed at me"): the context rules' test of saying back. (A
        # complex reflection may generalise: "You've always been the one who copes.")
        if act == "simple_reflection" and any(
            w in _CROWD and w not in ctx.general_words for w in _GENERAL.findall(seg)
        ):
            continue
        strength = 1 if act in ("minimizing", "advice") else 2
        out.append(Tag(act, strength, learned_model.WHY[act]))
    return out


# Contempt read from a laugh or a "poor you": warmth in a reply that is kind elsewhere.
_WARM_IF_KIND = frozenset({"laughs at what they said", "pity with nothing behind it"})


def _about_them(text: str, ctx: Context, pats: dict[str, re.Pattern[str]]) -> bool:
    """Whether `text` speaks to them or hands back their words (a laugh after it is at them)."""
    return bool(pats["second_person"].search(text)) or _is_echo(text, ctx)


def _is_echo(text: str, ctx: Context) -> bool:
    """Whether `text` is only a few of the partner's own words (their phrase handed back)."""
    mine = content_words(text)
    return bool(mine) and len(mine) <= 5 and mine <= ctx.line_words


_REFUSES = re.compile(r"\b(can'?t|cannot|won'?t|not going to|refuse|obviously|apparently)\b")
# The reasons of an offer that gives them what they just asked for (the policy counts it
# as validating the need, too).
DOES_WHAT_ASKED = "does what they asked for"
SAYS_YES_TO_ASK = "says yes to what they asked"
ANSWERS_ASK = frozenset({DOES_WHAT_ASKED, SAYS_YES_TO_ASK})
# "Okay, fair, though to be honest...": the yes turns within the sentence.
_TURN_INSIDE = re.compile(r"\b(but|though)\b|[,;]\s*(tho|except|only)\b")
_ASKS_LEAVE = re.compile(
    r"\b(is (that|it|this) (okay|ok|alright|all right|fine)|can i|could i|may i|do you mind|"
    r"would (it|that) be (okay|ok|alright|all right|fine))\b[^.!?]*\?")
_YES = re.compile(r"^\W*(yes|yeah|yep|sure|of course|course|absolutely|definitely|"
                  r"it'?s (more than )?(okay|ok|fine|alright|all right))\b")
_SHRUG_OFF = re.compile(r"\b(don'?t worry|no worries|forget (it|about it)|never mind)\b")
_YOU_CAN = re.compile(r"^\W*(?:(?:and|but|so|yes|yeah),? )?you can (?:still |already )?([a-z]+)")
_I_CAN = re.compile(r"\bi can (?:still |already )?([a-z]+)")


# A grudging "fine" (or "k") and nothing else: said to someone who asked for something, it
# shuts the ask down ("Can you just hold me?" -> "Fine."). "Fine, I'll come." and "That's
# fine, take your time." say more, so they never match.
_BARE_FINE = re.compile(
    r"^\W*((oh|well|yeah|yes|ok|okay|sure|right)\W+)?(fine|k|kk)(\W+(then|fine|whatever))?\W*$"
    r"|^\W*(fine\W+)?if you (must|insist|really want)( to)?\W*$"
)
# How a partner asks for something or makes a bid: a question that asks ("Will you come with
# me tomorrow?", "Do you want to go for a walk?"), or a plain request ("Just hold me.").
_BID = re.compile(
    r"\b(can|could|would|will|won'?t) (you|we) (just |please |maybe |at least |ever )?[a-z]+"
    r"|\b(do you|would you) (want|fancy|like) to\b|\b(shall|should) we\b|\bhow about\b"
    r"|\bwhat about (we|us|you)\b|\b(fancy|wanna|want to) [a-z]+"
)
_PLEA = re.compile(
    r"\bi (just |really )?(need|want) you to\b|\bplease\b|^\W*(just )?(sit|stay|come|hold|"
    r"hug|hear|listen|talk|tell|help|be|give|take|let) (me|us|with|here|down|to|for)\b"
)


def _asks(partner_line: str) -> bool:
    """Whether the partner's line asks something of you: a request or a bid."""
    for sent in sentences(partner_line.lower()):
        text = sent.text
        if (text.endswith("?") and _BID.search(text)) or _PLEA.search(text):
            return True
    return False


def _shrugs_off_ask(out: list[Sentence], low: str, ctx: Context) -> list[Sentence]:
    """Withdrawal for a reply that is only a grudging "fine" (and other shrugs, "Fine.
    Whatever you want.") to a request or a bid: stonewalling, not a yes."""
    bare = [i for i, s in enumerate(out)
            if _BARE_FINE.match(low[s.start : s.end]) and not s.has("withdrawal")]
    if not bare or not all(i in bare or s.has("withdrawal") for i, s in enumerate(out)):
        return out
    if not _asks(ctx.partner_line):
        return out
    out = list(out)
    for i in bare:
        tags = [t for t in out[i].tags if t.act not in POSITIVE]
        tags.append(Tag("withdrawal", 2, "a grudging 'fine' to what they asked"))
        out[i] = replace(out[i], tags=tuple(tags))
    return out


# Flat words that, after their phrase handed back on its own, make it a jab ("Furniture.
# Right.", "A masterclass. Big deal."): the scoffs above, and these. A bare "okay" agrees
# ("Sunday. Okay."), unless the phrase was put in quotation marks ("'A masterclass.' Okay."
# holds it up as a so-called one).
_FLAT_AFTER_ECHO = re.compile(r"^\W*(right|fine|big deal|so what|sure then|right then)\W*$")
_FLAT_IF_QUOTED = re.compile(r"^\W*(ok|okay|right|fine)\W*$")
_QUOTE_OPEN = re.compile("^\\s*['\"\u201c\u2018]")
# Scoffs that, just before their phrase handed back, make it a jab ("Sure. Furniture.").
# "Right." and "Okay." before it ("Right. Security.") take it in; "Wow." may be shock.
_SCOFF_BEFORE_ECHO = re.compile(
    r"^\W*((oh|yeah|ah),? )?(sure|riight+|right\.{2,}|lol|lmao|oh please|please|big deal|"
    r"so what)\W*$"
)


def _asked_for(partner_line: str) -> frozenset[str]:
    """The content words of what they asked for, if they asked ("Can we talk on Sunday?"):
    handed back with a flat "Fine." ("Sunday. Fine."), that is a yes, not a jab."""
    low = partner_line.lower()
    found = [m.start() for m in (_lexicon_patterns()["requests"].search(low), _BID.search(low))
             if m]
    return content_words(low[min(found):]) if found else frozenset()


def _mock_echo(out: list[Sentence], low: str, ctx: Context) -> list[Sentence]:
    """Contempt for their words echoed and capped with a scoff (see `_SCOFF_END`), or handed
    back on their own beside a flat or scoffing sentence ("Furniture. Right.", "Sure.
    Furniture."), unless another sentence plainly listens (then the laugh is with them).
    The echo itself is then no reflection. Also a bare "fine" to what they asked (see
    `_shrugs_off_ask`): both read the whole reply."""
    out = _shrugs_off_ask(out, low, ctx)
    hits = []
    for i, sent in enumerate(out):
        seg = low[sent.start : sent.end]
        prev = low[out[i - 1].start : out[i - 1].end] if i else ""
        m = None
        if not sent.has("contempt") and _SCOFF_HINT.search(seg):
            m = _SCOFF_END.match(seg)
        echo = m and (m.group("echo") or m.group("echo2") or m.group("echo3"))
        if echo and _is_echo(echo, ctx):
            hits.append((i, {i}))
            continue
        if not i:
            continue
        # a scoff or a flat word after their phrase, or a scoff before it; a flat word only
        # when the two are all the reply says (their phrase finished for them, a "Right."
        # and then the listener's own point is no jab)
        flat = (_FLAT_AFTER_ECHO.match(seg)
                or (_FLAT_IF_QUOTED.match(seg) and _QUOTE_OPEN.match(prev))) and not any(
            content_words(low[s.start : s.end]) for j, s in enumerate(out) if j not in (i, i - 1))
        after = _is_echo(prev, ctx) and (
            _SCOFF_ALONE.match(seg)
            or (flat and not content_words(prev) & _asked_for(ctx.partner_line)))
        if after or (_SCOFF_BEFORE_ECHO.match(prev) and _is_echo(seg, ctx)):
            hits.append((i, {i, i - 1}))
    used = set().union(*(span for _, span in hits)) if hits else set()
    if any(t.act in POSITIVE and not t.stock and (t.strength == 2 or t.act in _KIND)
           for j, s in enumerate(out) if j not in used for t in s.tags):
        return out
    marked = {i for i, _ in hits}
    for j in sorted(used):
        sent = out[j]
        tags = [t for t in sent.tags if t.act not in POSITIVE]
        if j in marked and not sent.has("contempt"):
            tags.append(Tag("contempt", 2, "echoes their words to scoff at them"))
        out[j] = replace(sent, tags=tuple(tags))
    return out
