"""The heuristic judge's phrase rules: what signals each level of each criterion.

Data, not logic: `coach.heuristic` scans replies with these. Rules are phrase classes that
generalize (feelings, advice forms, minimizers), not phrases memorized from one dataset;
see evals/README.md for how they were measured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

try:  # the regex parser's internals: stable since Python 3.11; only an optimization
    from re import _constants as _C
    from re import _parser as _sre
except ImportError:  # pragma: no cover - a future Python; rules then run without hints
    _C = _sre = None

NEGATORS = frozenset(
    [
        "not",
        "no",
        "never",
        "without",
        "nor",
        "neither",
        "dont",
        "don't",
        "won't",
        "wont",
        "can't",
        "cant",
        "isn't",
        "wasn't",
        "aren't",
        "weren't",
        "shouldn't",
        "wouldn't",
        "didn't",
        "doesn't",
        "couldn't",
        "hardly",
    ]
)
NEGATION_WINDOW = 6

FEELINGS = (
    r"hurt|hurting|angry|mad|furious|sad|upset|embarrass\w*|humiliat\w*|ashamed|shame|alone|"
    r"lonely|isolated|invisible|unseen|unheard|ignored|dismissed|scared|afraid|frighten\w*|"
    r"terrified|anxious|anxiety|worried|nervous|overwhelm\w*|exhausted|drained|tired|"
    r"frustrat\w*|disappoint\w*|let down|rejected|betrayed|unwanted|unloved|unsupported|"
    r"stressed|stress|heartbroken|devastated|crushed|helpless|hopeless|stuck|trapped|lost|"
    r"confused|guilty|small|stupid|worthless|vulnerable|abandoned|left out|pressure\w*|"
    r"resent\w*|jealous|insecure|awful|horrible|terrible|painful|pain|hard|rough|tough|"
    r"difficult|scary|grief|griev\w*|miss\w*|numb|raw|shaken|on edge|fed up|sick of"
)


@dataclass(frozen=True)
class Rule:
    """A phrase pattern that signals a level on one criterion."""

    pattern: re.Pattern[str]
    level: int
    why: str
    needs_question: bool = False
    negatable: bool = True
    # The pattern searched once over the whole reply (unanchored patterns only): a rule that
    # cannot match anywhere is skipped without visiting each sentence (most rules, most
    # replies), which keeps the judge well above 5,000 replies a second.
    loose: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    # Text any match must start with (one of): a substring test on the reply is far cheaper
    # than a regex search, and rules out most rules for most replies. None: no such text.
    hints: frozenset[str] | None = field(default=None, compare=False, repr=False)


def _r(pattern: str, level: int, why: str, **kw: bool) -> Rule:
    # Anchored patterns are cheap per sentence already; unanchoring them would be slower.
    loose = None if pattern.startswith("^") else re.compile(pattern)
    return Rule(re.compile(pattern), level, why, loose=loose, hints=leading_text(pattern), **kw)


def leading_text(pattern: str) -> frozenset[str] | None:
    """Texts one of which every match of `pattern` contains, if they can be derived.

    Read from the parsed pattern: each run of literal characters that every match must pass
    through is a candidate, and so is an alternation whose every branch has one; the most
    selective candidate (longest shortest text) wins. None when there is none worth having.
    """
    if _sre is None:
        return None
    try:
        cands = _required(list(_sre.parse(pattern)))
    except (re.error, RecursionError):
        return None
    cands = [c for c in cands if c and min(map(len, c)) >= 3]
    if not cands:
        return None
    return max(cands, key=lambda c: (min(map(len, c)), -len(c)))


def _required(items: list) -> list[frozenset[str]]:
    """Candidate hint sets from a sequence of parsed items (see `leading_text`)."""
    out: list[frozenset[str]] = []
    run = ""
    for op, av in items:
        if op is _C.LITERAL:
            run += chr(av)
            continue
        if run:
            out.append(frozenset([run]))
            run = ""
        if op is _C.SUBPATTERN:
            out += _required(list(av[3]))
        elif op is _C.MAX_REPEAT or op is _C.MIN_REPEAT:
            if av[0] >= 1:
                out += _required(list(av[2]))
        elif op is _C.BRANCH:
            best = []
            for branch in av[1]:
                sub = [c for c in _required(list(branch)) if c]
                if not sub:
                    best = []
                    break
                best.append(max(sub, key=lambda c: (min(map(len, c)), -len(c))))
            if best:
                out.append(frozenset().union(*best))
    if run:
        out.append(frozenset([run]))
    return out


# ---------------------------------------------------------------- rules per criterion

RULES: dict[str, tuple[Rule, ...]] = {
    "warmth": (
        _r(
            r"\bi'?m (so |really |very )?(glad|grateful) you('re| are)? ?(told|telling|shared|"
            r"sharing|said|saying|bringing|brought|came|reached|let me)\b|\bthat breaks my "
            r"heart\b|\bi miss (you|us)\b",
            2,
            "says what they mean to you",
        ),
        _r(r"\bi'?m (so|really|very|truly|deeply|incredibly) sorry\b", 2, "heartfelt sorrow"),
        _r(r"\bmy heart (goes out|breaks|aches|hurts)\b", 2, "heartfelt sorrow"),
        _r(r"\bi love you\b|\bi (really )?miss (you|us)\b", 2, "says love"),
        _r(r"\bbreaks my heart\b|\bmy heart (goes out|breaks|aches|hurts)\b", 2, "heartfelt"),
        _r(
            r"\bi'?m (always |right here |completely )?(on your side|in your corner)\b",
            2,
            "stands with them",
        ),
        _r(r"\b(oh|aw+),? (love|honey|sweetheart|babe|baby|darling|hon)\b", 2, "tender address"),
        _r(r"\b(come here|let me hold you|big hug|hugs?\b.*\byou)", 2, "offers closeness"),
        _r(
            r"\bi'?m (so |really |really really )?(glad|grateful) you (told|shared|said|"
            r"brought|are telling|'re telling)|\bthank you for (telling|saying|sharing)",
            2,
            "glad they shared",
        ),
        _r(
            r"\b(that|this|it) ?(sounds|is|was|'s|must be|must have been|seems) (so |really |"
            r"incredibly |absolutely |truly )?(awful|horrible|terrible|heartbreaking|"
            r"devastating|painful|humiliating|brutal|unfair|scary|frightening|cruel|so sad|"
            r"lonely|so hard|really hard|heavy|so much|gutting|so cold|harsh|hurtful|"
            r"crushing|rotten)\b|\b(that|it) must have (hurt|stung)\b",
            2,
            "feels with them",
        ),
        _r(
            r"(?<!say )(?<!saying )\b(so sorry\b|sorry (?!if |for not )[^.!?,;:]{0,40}\b(you|your|"
            r"you'?re|you'?ve|youre)\b)",
            2,
            "sorry for what they are going through",
        ),
        _r(r"\b(sending|big|virtual|many|lots of) (hugs|love)\b|\*hugs?\*", 2, "offers closeness"),
        _r(r"(?<!say )(?<!saying )\bsorry\b(?! (if|for not)\b)", 1, "says sorry"),
        _r(
            r"\bi (really |truly |just )?hope (you|things|it|that|this|everything|your|tomorrow)\b|"
            r"\bhope (you|things|it) (get|gets|feel|work|turn|go)",
            1,
            "hopes it gets better for them",
        ),
        _r(
            r"\byou'?re not alone\b|\byou are not alone\b|\bnot the only one\b|"
            r"\bi feel (you|ya)\b|\bi know (the|that) feeling\b",
            1,
            "solidarity",
        ),
        _r(r"<3|\u2764|:\(", 1, "sends a heart", negatable=False),
        _r(
            r"\bhang in there\b|\bstay strong\b|\bkeep (your head up|going|fighting|pushing|it up|"
            r"your chin up)\b|\byou('?ve)? (got|can do) this\b|\bdon'?t give up\b|\bbe strong\b|"
            r"\bgood luck\b|\bbest of luck\b|\btake care\b|\bwish(ing)? you\b|\bsending\b|"
            r"\bproud of you\b|\bcongrat",
            1,
            "encourages them",
            negatable=False,
        ),
        _r(
            r"\byou (deserve|matter)\b|\byou('?re| are) (worth|loved|strong|brave|important|"
            r"valued|doing (great|well|so well|your best))\b|\byou('?re| are) not (worthless|"
            r"stupid|a burden|a failure|useless|broken|weak|pathetic|a loser)\b",
            1,
            "affirms them",
        ),
        _r(
            r"\b(i'?m|i am|im) (always |right |still )?here (for you|if you|to (talk|listen))\b|"
            r"\b(feel free|happy) to (talk|message|pm|dm|reach)\b|\b(pm|dm|message) me\b",
            1,
            "offers to be there",
        ),
        _r(
            r"\b(that|this|it) (sucks|stinks|is rough|is hard|sounds (hard|rough|tough|"
            r"difficult))\b",
            1,
            "brief sympathy",
        ),
        _r(r"\boh no\b|\bugh\b|\boh,? (man|god|wow)\b", 1, "brief sympathy"),
        _r(
            r"\bi care about you\b|\bi feel for you\b|\bpoor (thing|you)\b|\bhugs?\b",
            1,
            "brief care",
        ),
    ),
    "validation": (
        _r(
            r"\b(that|it|he|she|they|what (he|she|they) did|that [a-z]+) (was|were|is|'s) "
            r"(so |really |"
            r"totally |completely |just )?(cruel|out of line|not okay|not ok|unfair|mean|"
            r"wrong of|awful of|a rotten)\b|\byou didn'?t deserve (that|this|it|any of)\b",
            2,
            "says their hurt is justified",
        ),
        _r(
            r"\b(doesn'?t|does not|didn'?t) sound (daft|silly|stupid|crazy|dramatic|petty|"
            r"unreasonable|like too much)\b|\b(it'?s|that'?s) not (daft|silly|stupid|crazy|"
            r"petty)\b",
            2,
            "says the feeling is not foolish",
            negatable=False,
        ),
        _r(
            r"\byou had every (reason|right)\b|\bof course it'?s (okay|ok|fine|allowed)\b|"
            r"\b(that'?s|it'?s) not too much to (want|ask)\b|\byou'?re not (stupid|silly|"
            r"wrong|too much) (for|to)\b",
            2,
            "says the feeling is legitimate",
            negatable=False,
        ),
        _r(
            r"\bmakes? (total |complete |so much |perfect |a lot of )?sense\b",
            2,
            "says the feeling makes sense",
        ),
        _r(r"\bno wonder\b", 2, "no wonder"),
        _r(r"\bof course you('re| are| were| feel| felt| would)\b", 2, "of course you feel"),
        _r(
            r"\b(anyone|anybody|everyone|most people) (would|'d) (feel|be)\b",
            2,
            "anyone would feel that",
        ),
        _r(r"\byou ha(ve|d) (every|a) (right|reason) to\b", 2, "you have every right"),
        _r(
            r"\b(it'?s|that'?s|it is|that is) not (daft|silly|stupid|too much|crazy|weird|dumb|"
            r"wrong|petty|selfish)\b",
            2,
            "says the feeling is not wrong",
            negatable=False,
        ),
        _r(
            r"\bit'?s (completely |totally |perfectly |so )?(okay|ok|normal|natural|"
            r"understandable|valid|fair) (to|that you) (feel|be|want|need|cry)",
            2,
            "okay to feel this",
        ),
        _r(
            r"\b(your|those|these|that) feelings? (is|are) (completely |totally )?valid\b",
            2,
            "feelings are valid",
        ),
        _r(
            r"\bi'?d (feel|be) (the same|exactly the same|that way|.{0,20}\btoo)\b",
            2,
            "I'd feel that too",
        ),
        _r(r"\bi can'?t blame you\b|\bwho wouldn'?t\b", 2, "who wouldn't", negatable=False),
        _r(
            r"\byou'?re not (crazy|wrong|overreacting|being (dramatic|silly|daft|stupid)|too "
            r"sensitive|too much|stupid|silly|daft|needy|asking too much)\b",
            2,
            "not overreacting",
            negatable=False,
        ),
        _r(
            r"\bunderstandabl[ey]\b|\bthat'?s (so |completely )?(valid|fair)\b",
            1,
            "calls it understandable",
        ),
        _r(
            r"\b(that|it|this) ?(sounds|is|was|'s|must be|must have been|seems) (so |really |"
            r"such |a |pretty )?(lonely|hard|brutal|awful|horrible|terrible|painful|humiliating|"
            r"scary|frightening|heavy|a lot|so much|shock|unfair|rough|tough|exhausting)\b",
            1,
            "treats the feeling as real",
        ),
        _r(
            r"\bi (get|understand|see) (it|that|why)\b|\bi (totally |completely )?understand\b",
            1,
            "says they understand",
        ),
    ),
    "understanding": (
        _r(
            r"\bmust (be|have been|feel|have felt) (so |really |pretty |incredibly )?"
            r"([a-z]+ and )?("
            + FEELINGS
            + r")\b",
            2,
            "names the feeling their situation brings",
        ),
        _r(
            r"\b(it |that |this )?(sounds|seems|feels) like (you|it|that|this|he|she|they|"
            r"the)\b.*\b(" + FEELINGS + r")\b",
            2,
            "reflects a feeling",
        ),
        _r(
            r"\byou('re| are| were|'ve been| must be| must have been| must feel| must have "
            r"felt| feel| felt)( so| really| pretty| kind of| a bit)? (" + FEELINGS + r")\b",
            2,
            "names their feeling",
        ),
        _r(
            r"\bso (it'?s|it is|it was|you'?re|you are|you were|you felt|what hurt|"
            r"the hard part|you'?d|you would|you got|you feel|you want|you have|you mean|"
            r"by (day|night)|under|when)\b|\bno wonder (you|that|it)\b",
            2,
            "paraphrases",
        ),
        _r(
            r"\b(he|she|they|it|that|this) (made|makes|make|left|leaves|treated|put|puts) you\b"
            r"|\byou (were|are|became) the (joke|punchline|target|one)\b",
            2,
            "reflects what happened to them",
        ),
        _r(
            r"\bwhat i'?m hearing\b|\bif i'?m hearing you\b|\bif i understand\b|"
            r"\bi hear (you|that|how)\b",
            2,
            "reflects back",
        ),
        _r(
            r"\b(not|isn'?t) (just|only|really) (about )?the\b.*\b(it'?s|it is|but)\b",
            2,
            "reflects the deeper point",
            negatable=False,
        ),
        _r(
            r"\b(that|it) (must|would|could) (be|have been|feel|have felt)\b",
            1,
            "imagines their experience",
        ),
        _r(
            r"\b(it |that )?(sounds|seems) (like|as if|really|so|pretty)?\s?\w+",
            1,
            "generic reflection",
        ),
        _r(r"\bi can (see|tell|imagine|only imagine)\b", 1, "imagines their experience"),
        _r(
            r"\bi (know|understand|get) (how|what|exactly|the feeling|that feeling|where|your)\b|"
            r"\bi (can |totally |really )?relate\b|\bi feel (you|ya|the same|this|that)\b|"
            r"\bbeen there\b|\bsame here\b|\bme too\b",
            1,
            "says they understand how it feels",
            negatable=False,
        ),
        _r(
            r"\byou('?re| are| seem| sound|'?ve been| have been|)( to be)? (going through|"
            r"dealing with|struggling|carrying|carried|fighting|under|holding|held|went through)"
            r"\b|\b(it |that )?(sounds|seems) like (you|when|those|that|we|it|there)\b(\W+\w+){4}",
            2,
            "reflects what they are going through",
        ),
    ),
    "exploration": (
        _r(r"\b(what|how|why|when|where|which)\b[^?]*\?", 2, "open question", needs_question=True),
        # Reddit-style questions often drop the question mark.
        _r(
            r"^\W*((how( long| often| much| many)?|what|why|when|where)\s+(do|did|does|are|is|"
            r"was|were|have|has)\s+(you|your)|(have|do) you (ever|been|have|feel|think))\b"
            r"[^.!]{6,}$",
            2,
            "open question",
        ),
        _r(
            r"^\W*((and|so|but|or)\s+)?(do|did|does|have|has|are|were|is|was|would|could|can|will)"
            r"\s+(you|your|there|anyone|anything|it|things|this|that)\b(?=(\W+\w+){4})[^?]*\?",
            2,
            "specific question about their experience",
            needs_question=True,
        ),
        _r(
            r"\b(tell me (more|about|what|how)|walk me through|i'?d (love|like) to hear|"
            r"i want to hear|i'?m curious|say more)\b",
            2,
            "invites more",
        ),
        _r(
            r"\b(can|could|would|will) you (tell|say|share|walk)\b[^?]*\?",
            2,
            "invites more",
            needs_question=True,
        ),
        _r(
            r"\b(are|did|do|does|is|was|were|have|has|can|could|would|will|should)\b"
            r"[^?]*\?",
            1,
            "closed question",
            needs_question=True,
        ),
    ),
    "no_fixing": (
        _r(
            r"\byou (should|shouldn'?t|need to|have to|'?ve got to|gotta|ought to|must not|"
            r"'?d better|had better)\b",
            0,
            "tells them what to do",
        ),
        _r(r"\bhave you (tried|thought about|considered)\b|\bdid you try\b", 0, "suggests a fix"),
        _r(r"\bwhy (don'?t|not) you\b|\bwhy not just\b", 0, "suggests a fix", negatable=False),
        _r(
            r"\b(i'?d|i would|i) (suggest|recommend|advise)\b|\bmy advice\b|"
            r"\bif i were you\b",
            0,
            "gives advice",
        ),
        _r(r"\b(the best thing|what you need) (to do |is )", 0, "gives advice"),
        _r(
            r"\bjust (tell|ignore|quit|talk to|go|let it|leave|call|ask|email|report|stop|"
            r"move on|forget|breathe|relax)\b",
            0,
            "quick fix",
        ),
        _r(
            r"^\s*(try|talk to|call|tell (him|her|them)|ask (him|her|them)|report|email|quit|"
            r"ignore)\b",
            0,
            "instruction",
        ),
        _r(
            r"\blet'?s (just )?(do|book|make|plan|go|try|get|set|schedule|start|have|sort)\b|"
            r"\bi'?ll (make|start|book|block|fix|plan|set up|schedule|sort|take care of)\b|"
            r"\b(maybe|perhaps) (you|we) should\b|\bor you could\b",
            0,
            "jumps to a plan or a promise",
        ),
        _r(
            r"\b(maybe|perhaps) (you|we) (could|can|should|might)\b|\byou (could|might) "
            r"(try|want to|consider)\b|\bnext time,? (you|try|just)\b",
            1,
            "tentative advice",
        ),
    ),
    "stays_with_them": (
        _r(
            r"\bi (feel|felt|am|'m|was) (so |really |pretty |just )?(terrible|awful|bad|tired|"
            r"stressed|exhausted|horrible|wrecked|shattered)\b.{0,40}\b(too|as well)\b|"
            r"\bi had (a|such a) (really |pretty |very )?(rough|bad|long|hard|terrible|awful|"
            r"crazy) (night|day|week)\b",
            0,
            "turns to own story",
            negatable=False,
        ),
        _r(
            r"\b(that|this|the same thing|something similar) (happened|happens) to me\b",
            0,
            "turns to own story",
        ),
        _r(
            r"\b(when|once) i (was|had|got|worked|did)\b|\bi remember when\b",
            0,
            "turns to own story",
        ),
        _r(
            r"\breminds me of (when|my|the time)\b|\bi went through\b|\bi had (the same|a "
            r"similar|this|that)\b",
            0,
            "turns to own story",
        ),
        _r(
            r"\bmy (old |last |own )?(boss|job|manager|mom|mum|dad|mother|father|ex|day|"
            r"week)\b",
            0,
            "talks about own life",
        ),
        _r(
            r"\b(what about me|i'?m the one|i have (my own|enough)|you think you have it bad"
            r"|my day was)\b",
            0,
            "centres self",
            negatable=False,
        ),
        _r(
            r"\b(it was|i was|i'?m|i am|i'?ve been|i felt)( so| really| honestly| just)? "
            r"(awkward|wiped|tired|stressed|exhausted|busy|swamped|panicked|a mess|"
            r"freaking out)\b.{0,40}\b(for me|too|my|i)\b|\bso awkward for me\b|"
            r"\bi felt just like that\b|\bi know how it feels,? when (i|my)\b|"
            r"\byou know what (work|my job|my week)'?s? been like\b|\bi literally couldn'?t\b",
            0,
            "turns to own story",
            negatable=False,
        ),
        _r(
            r"\bme too\b|\bi'?ve been there\b|\bi know exactly how you feel\b|"
            r"\bsame here\b",
            1,
            "brief self-reference",
        ),
    ),
    "no_dismissing": (
        _r(
            r"\b(stop|quit) overthinking\b|\boverthinking (it|this)\b|\b(nobody|no one) "
            r"(cares|noticed|will remember)\b|\bdon'?t take it (so |too )?(seriously|"
            r"personally|to heart)\b|\b(he|she|they)'?(s|re) just like that\b|\bnot the "
            r"end of the world\b|\byou'?ll laugh about (it|this)\b|\bdon'?t dwell\b",
            0,
            "tells them the feeling is too big",
            negatable=False,
        ),
        _r(r"\bat least\b", 0, "minimizes ('at least')"),
        _r(
            r"\b(was|is|'s) (just|only) (joking|teasing|kidding|messing)\b|"
            r"\bdon'?t let (it|him|her|them|that) (ruin|get to|bother)\b|"
            r"\bevery (couple|one|body|marriage) (goes|has gone) through\b|"
            r"\bit'?s (just|only) (hormones|a phase|stress|a busy|a crazy|one of those)\b|"
            r"\bit'?s not like that\b|\bthat'?s all\.?$",
            0,
            "explains the feeling away",
            negatable=False,
        ),
        _r(
            r"\bcalm down\b|\brelax\b|\bchill out\b|\bget over it\b|\bcheer up\b|"
            r"\blet it go\b|\bmove on\b|\bsnap out of\b|\bget a grip\b",
            0,
            "tells them to stop feeling",
        ),
        _r(
            r"\b(it'?s|that'?s|it is|that is|it was|wasn'?t) (not )?(a|that|such a) big deal\b|"
            r"\bno big deal\b|\bnot that bad\b|\bnot a big deal\b",
            0,
            "minimizes",
            negatable=False,
        ),
        _r(
            r"\byou'?re (over ?reacting|being (dramatic|silly|ridiculous|too sensitive|"
            r"paranoid))\b|\bso dramatic\b|\btoo sensitive\b",
            0,
            "calls the feeling wrong",
        ),
        _r(
            r"\bcould (be|have been) worse\b|\bbright side\b|\bhappens for a reason\b|"
            r"\bother people have it worse\b|\bplenty of other\b|\bbillions of other\b",
            0,
            "minimizes",
        ),
        _r(
            r"\bdon'?t be (so )?(sad|upset|mad|angry|dramatic|sensitive|like that)\b|"
            r"\bstop (crying|worrying|being)\b",
            0,
            "tells them to stop feeling",
            negatable=False,
        ),
        _r(
            r"\bit'?s (just|only) (a|one|some)\b|\bprobably (just )?(a )?joke\b|"
            r"\bi'?m sure (he|she|they) didn'?t mean\b",
            1,
            "brushes it aside",
        ),
        _r(
            r"\bdon'?t worry\b|\bno worries\b|\b(it'?ll|it will|you'?ll|you will|everything "
            r"will|things will) (all )?(be (fine|okay|ok|alright|all right)|work out|get "
            r"better|blow over)\b|(?<!of course )\bit'?s (fine|okay)\b|\bit happens to everyone\b|"
            r"\beveryone (goes through|feels)\b|\btry not to (think|worry|dwell)\b",
            1,
            "reassures too fast",
            negatable=False,
        ),
    ),
    "asks_needs": (
        _r(r"\bdo you want me to\b|\bwould you (like|want) me to\b", 2, "asks what they want"),
        _r(
            r"\bwhat (do|would) you need\b|\bwhat (would|might|could) (help|feel good|"
            r"be helpful|make)\b|\bwhat can i do\b|\bhow can i (help|support|be)\b|"
            r"\bhow (do|would) you want me to\b|\bis there anything i can\b",
            2,
            "asks what they need",
        ),
        _r(
            r"\b(just )?listen,? or\b|\bdo you want (advice|ideas|solutions|to vent|to talk|"
            r"help)\b|\bwould it help (if|to)\b|\btell me what you need\b",
            2,
            "offers support on their terms",
        ),
        _r(
            r"\bi'?m (right )?here\b|\bi'?ve got you\b|\bi'?m (always )?(on your side|in your "
            r"corner|with you)\b|\byou can (always )?(talk to|call|lean on|come to) me\b|"
            r"\bi'?m not going anywhere\b|\bwhatever you need\b|\bwe'?ll (figure|get through)"
            r"\b",
            1,
            "offers support",
        ),
    ),
}

HORSEMEN_RULES: dict[str, tuple[re.Pattern[str], ...]] = {
    "criticism": (
        re.compile(r"\byou (always|never)\b"),
        re.compile(r"\bwhat'?s wrong with you\b|\byour problem is\b|\btypical (you|of you)\b"),
        re.compile(
            r"\byou'?re (so |such an? )?(selfish|lazy|useless|needy|dramatic|"
            r"impossible|hopeless|a mess)\b"
        ),
    ),
    "contempt": (
        re.compile(
            r"\bpathetic\b|\bridiculous\b|\bgrow up\b|\boh please\b|"
            r"\bgive me a break\b|\bbig baby\b|\bdrama queen\b|\bget a grip\b|"
            r"\brolls? (my |his |her )?eyes\b|\blol\b|\bare you serious\b|\b(nobody|no one) "
            r"cares\b"
        ),
    ),
    "defensiveness": (
        re.compile(
            r"\b(it'?s|that'?s|it is|that is|it was) not my fault\b|"
            r"\bi didn'?t do anything\b|\bdon'?t blame me\b|\bthat'?s not fair\b|"
            r"\bi was (just|only) trying\b|\byou'?re the one who\b|"
            r"\bwhat about (me|you)\b|\bbut you (also|too|always|never)\b|"
            r"\bso you (don'?t want me|think i'?m)\b|\bi (honestly |really )?thought "
            r"(you'?d|things were|we were)\b|\bthat'?s not what i meant\b|"
            r"\bi (know|get it),? but\b"
        ),
    ),
    "stonewalling": (
        re.compile(
            r"\bi don'?t want to talk about (this|it)\b|\bi'?m done\b|"
            r"\bleave me alone\b|\bforget it\b|\bdrop it\b|\bi don'?t care\b|"
            r"\bwhatever\b"
        ),
        re.compile(r"^\s*(ok(ay)?|k|fine|sure|mhm|mm+|yeah|right|cool)\W*$"),
    ),
}

TIPS: dict[str, str] = {
    "warmth": "Let them feel you care: name what you feel for them ('I'm so sorry that "
    "happened to you').",
    "validation": "Say their feeling makes sense and why ('No wonder you're upset, after…').",
    "understanding": "Reflect back what you heard, feeling and cause, in your own words "
    "('It sounds like you felt…').",
    "exploration": "Ask one open question about their experience ('What was the hardest part?').",
    "no_fixing": "Hold the advice for now. Ask first: 'Do you want ideas, or should I just "
    "listen?'",
    "stays_with_them": "Keep the spotlight on them; save your own story for later.",
    "no_dismissing": "Drop 'at least' and 'don't worry': take the feeling as it is, not smaller.",
    "asks_needs": "Ask how you can be there for them ('What would help most right now?').",
}

# One sentence per move, generic on purpose: a suggested reply must never claim details the
# partner did not say. Joined in BETTER_ORDER, the order a person would say them.
BETTER_MOVES: dict[str, str] = {
    "warmth": "I'm so sorry.",
    "validation": "It makes sense that you feel this way.",
    "understanding": "It sounds like this has really been weighing on you.",
    "no_dismissing": "This matters, and I'm taking it seriously.",
    "no_fixing": "I'm not going to jump in with fixes; I just want to understand.",
    "stays_with_them": "This is about you, and I'm listening.",
    "exploration": "What's been the hardest part of it for you?",
    "asks_needs": "Do you want me to just listen, or would it help to think it through together?",
}
BETTER_ORDER = (
    "warmth",
    "validation",
    "understanding",
    "no_dismissing",
    "no_fixing",
    "stays_with_them",
    "exploration",
    "asks_needs",
)



# Questions anyone could ask about anything: they invite more, but only generically, so
# they cap the sentence at level 1 even though they start with "what" or "how".
GENERIC_QUESTION = re.compile(
    r"^\W*((so|and|well|hey|ok(ay)?|oh)\W+)?(what happened( next| then)?|what'?s (up|wrong|"
    r"going on|the matter|happening|on your mind)|what is (wrong|going on|happening)|"
    r"are you (ok(ay)?|alright|all right)|you ok(ay)?|"
    r"how are you( doing| feeling| holding up)?( today| now)?|"
    r"what do you mean|why|really|like what|such as|in what way|how so|and you|"
    r"(can|could|would) you (tell|say) (us |me )?more( about it)?|"
    r"(can|could|would) you elaborate|care to elaborate|want to talk( about it)?|"
    r"wanna talk( about it)?|what'?s going on( with you)?|what'?s (getting you down|bothering "
    r"you|happening)|what'?s new)(,? (friend|man|dude|buddy|bro|mate|op))?\W*$"
)
# Questions that do not ask about them: about the speaker, tag questions, jokes and shrugs.
RHETORICAL_QUESTION = re.compile(
    r"\b(what|how|why|who|when|where|should|could|can|would|am|do|did|have|was)\s+(i|we)\b|"
    r"\b(you know|y'?know|right|huh|eh|lol|haha|isn'?t it|doesn'?t it|don'?t you think)\W*\?|"
    r"\bwho (knows|cares)\b|\bwhy (not|bother|delay|would (they|anyone))\b|\bwhat else\b|"
    r"\bwhy (did|does) the\b|\bknow what\b|\bwhat the (fuck|hell|heck)\b|\bnow what\b"
)
