"""What the built-in judge says back: the tip, and a better reply built from the user's own.

The better reply is the user's reply with what hurt taken out, what worked kept, and the
missing moves added in words drawn from what the partner actually said. Every sentence of
theirs that listens and does no harm is kept word for word, in their order, and at most
`MAX_ADDED` sentences are added to it (`_added_to`); a reply with no such sentence is
rewritten from the moves (`better_reply`'s own loop). It is checked
before it is shown: it holds no sentence the judge tags as harmful, repeats no sentence,
and scores higher than the user's reply under the same judge; otherwise none is offered.
Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from itertools import combinations

from coach.core.rubric import TIPS
from coach.judges.acts.language import is_texting, language_of
from coach.judges.acts.policy import RAISES, Verdict
from coach.judges.acts.tagger import (
    HARMFUL,
    TAKEN_BACK,
    ReplyActs,
    Sentence,
    content_words,
    is_stock,
    sentences,
)

HARM_TIPS: dict[str, str] = {
    "contempt": "Take out the sneer in “{quote}”: mockery tells them they are beneath you, "
    "and nothing kind next to it can be heard.",
    "criticism": "Take out the blame in “{quote}”: it makes their hurt about what is wrong "
    "with them.",
    "defensiveness": "Take out the defence in “{quote}”: it turns the talk to you. Hear "
    "them first; your side can wait.",
    "stonewalling": "Don't shut the door with “{quote}”: stay in it, even with one honest "
    "question.",
}
TIE_ORDER = (
    "no_dismissing",
    "no_fixing",
    "stays_with_them",
    "understanding",
    "validation",
    "warmth",
    "exploration",
    "asks_needs",
)
STRONG_TIP = "Strong reply: keep reflecting and asking before anything else."

# Acts that listen: in a reply that hurts, only sentences with one of these are kept.
LISTENING = frozenset(RAISES) - {"closed_question"}

# A sentence with one of these, and no harm, is the user's own listening: a better reply
# keeps it word for word. A closed question about them ("Did something happen that hurt
# you?") is a real question about their experience, if not the best kind.
GOOD = LISTENING | {"closed_question"}

# Acts a better reply must never keep.
DROP = HARMFUL | {
    "minimizing",
    "self_focus",
    "rhetorical_question",
    "off_topic_question",
    "acknowledgement",
}
_FEELING_WORDS = re.compile(
    r"\b(hurt|angry|furious|sad|embarrassed|humiliated|ashamed|alone|lonely|invisible|unseen|"
    r"ignored|dismissed|scared|afraid|anxious|worried|nervous|overwhelmed|exhausted|tired|"
    r"frustrated|disappointed|rejected|betrayed|unwanted|unloved|unsupported|stressed|"
    r"heartbroken|stuck|guilty|stupid|vulnerable|let down|left out|useless|numb|lost)\b"
)
_RELIEF = re.compile(
    r"\b(thank you|thanks|i can breathe|that'?s (exactly )?what i needed|i feel (better|lighter)|"
    r"that helps|that helped|relieved|i'?m glad)\b"
)
_HURT = re.compile(
    r"\b(laughed|cried|crying|shouted|left|lost|hate|hated|nobody|no one|"
    r"alone|worst|awful|terrible|hard|fault|wrong|sorry|scared|afraid|miss|missed|problem)\b"
)
_DENIAL = re.compile(
    r"\b(nothing'?s wrong|nothing is wrong|i'?m fine|it'?s fine|it was fine|i'?m okay|forget it|"
    r"it'?s nothing|it'?s nowt|just a mood|nothing happened|^\W*fine\b|"
    r"i'?ll be (all right|alright|fine|okay|ok)|"
    r"don'?t fret|don'?t worry about me|"
    r"never ?mind|leave it|it doesn'?t matter|drop it)\b"
)
_SHIFT = {
    "i": "you",
    "i'm": "you're",
    "im": "you're",
    "i've": "you've",
    "i'd": "you'd",
    "i'll": "you'll",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "am": "are",
}
_SECOND = re.compile(r"\b(we|us|our|we're)\b", re.IGNORECASE)
_YOU = {
    "you": "I",
    "your": "my",
    "you're": "I'm",
    "youre": "I'm",
    "yours": "mine",
    "yourself": "myself",
    "you've": "I've",
    "you'd": "I'd",
    "you'll": "I'll",
}
_LEAD = re.compile(
    r"^(and then|and so|but then|and|but|so|then|or|because|like|just|honestly|well|oh|okay|"
    r"ok|yeah|no|yes),?\s+",
    re.IGNORECASE,
)
_ABOUT_YOU = re.compile(r"\b(you|your|you're|you've|you'd|you'll|yours|yourself)\b", re.I)
_YOUR_DEED = re.compile(
    r"you (just |never |always |then )?([a-z]+ed|left|said|told|went|made|took|forgot|put|kept|"
    r"let|didn'?t|used to|asked|ignored|laughed|walked|stopped)\b", re.I,
)
_PUT_DOWN = re.compile(
    r"\b(daft|stupid|useless|failure|idiot|pathetic|worthless|ugly|fat|old|dumb|silly|burden|"
    r"loser|mess|joke|bad at|too much|selfish|lazy|needy|dramatic|boring|weak)\b"
)
_POINTER = re.compile(
    r"(that'?s|that is|that was|it'?s|it is|it was|this is|there'?s|there is|that|this|yes|no)\b",
    re.IGNORECASE,
)
_ASKING = re.compile(
    r"(what|how|why|when|where|who|which|do|does|did|is|are|can|could|should|would|will)\b",
    re.IGNORECASE,
)
_DANGLING = {
    "being",
    "thought",
    "thinking",
    "wondering",
    "saying",
    "think",
    "wondered",
    "a",
    "an",
    "the",
    "to",
    "of",
    "and",
    "or",
    "but",
    "like",
    "was",
    "is",
    "were",
    "my",
    "your",
    "with",
    "for",
    "that",
    "if",
    "so",
    "just",
    "i",
    "you",
}
_CLAUSE_START = {"", "and", "but", "then", "so", "when", "that", "because", "if", "while", ","}
_TOKEN = re.compile(r"[A-Za-z']+|[^A-Za-z']+")


def tip(verdict: Verdict, gaps: list[str]) -> str:
    """The one change that would help most: the harm first, else the costliest gap."""
    if verdict.flags:
        flag = verdict.flags[0]  # flags come in policy.FLAG_ORDER
        return HARM_TIPS[flag].format(quote=verdict.harm_quotes.get(flag, "that"))
    if not gaps:
        return STRONG_TIP
    return TIPS[gaps[0]]


def gaps(scores: Mapping, weights: Mapping[str, float]) -> list[str]:
    """Criteria below level 2, the costliest miss (weight x levels missed) first."""
    missed = [k for k, s in scores.items() if s.level < 2 and weights.get(k, 1.0) > 0]
    # Ties go to the move a listener makes first: hear, then name, then ask.
    return sorted(
        missed, key=lambda k: (-(weights.get(k, 1.0) * (2 - scores[k].level)), TIE_ORDER.index(k))
    )


def _shift(clause: str) -> str:
    """Their words, said back: "my email" -> "your email", "I smiled" -> "you smiled", and
    "you laughed" -> "I laughed" (what they say you did is said back as your own)."""
    out = []
    prev = ""
    for tok in _TOKEN.findall(clause):
        low = tok.lower()
        if low == "was" and prev == "i":
            word = "were"
        elif low in ("wasn't", "wasn’t") and prev == "i":
            word = "weren't"
        elif low in ("were", "are") and prev == "you":
            word = "was" if low == "were" else "am"
        elif low == "you":
            word = "I" if prev in _CLAUSE_START else "me"
        elif low in _YOU:
            word = _YOU[low]
        elif low in _SHIFT:
            word = _SHIFT[low]
        else:
            word = tok
        if word != tok and not word.startswith("I"):
            word = word.lower()
        out.append(word)
        if tok.strip():
            prev = low if low.strip(",") else ","
    text = "".join(out).strip()
    return text[:1].upper() + text[1:] if text else text


def _their_clause(partner_line: str, avoid: frozenset[str] = frozenset()) -> str:
    """The sentence of the partner's line most worth saying back, person-shifted, leaving
    out any clause whose words are mostly in `avoid` (what the reply says back already).

    Only a clause that is a sentence of its own is said back bare. A fragment of their line
    ("With a heart.", "Being on a stage with no clothes on.", "Roommates who share a Netflix
    password.") is not, and neither is a run they quote ("'A masterclass in how not to
    write to a client.'": someone else's words, or yours); "like being on a stage ..." is
    said back framed, as what it was like ("You said it was like being on a stage ...").
    """
    best, best_key, framed = "", (-1, 0), False
    no_sorry = _NO_SORRY.search(partner_line.lower()) is not None
    for sp in sentences(partner_line):
        if sp.text.endswith("?"):
            continue
        for clause in re.split(r"[,;:()]|\s[-–—]\s|\.\.\.|\s(?:and|but|so)\s", sp.text):
            if _QUOTED.match(clause.strip(" .!…")):
                continue  # a run they quote is not theirs to have said back as a fact
            clause = clause.strip(" .!…'\"‘’“”")
            like = _LIKE.match(clause) is not None
            clause = _LEAD.sub("", clause)
            words = clause.split()
            gerund = bool(words) and _GERUND.fullmatch(words[0]) is not None
            if (
                (gerund and not like)
                or _INNER_QUOTE.search(clause)  # "The comment said 'lacks depth"
                or _NOT_A_STATEMENT.match(clause)
                # "me pretending it's a flavour": a subject with no verb of its own
                or (len(words) > 1 and words[0].lower() in _OBJECTS
                    and _GERUND.fullmatch(words[1]) is not None)
                or (not gerund and not _is_sentence(clause))
                or (no_sorry and _SORRY_WORD.search(clause))
            ):
                continue
            if (
                not 3 <= len(words) <= 14
                or _SECOND.search(clause)
                or words[-1].lower().strip(".,!") in _DANGLING
                or _ASKING.match(clause)
                # what they will do is a plan, often a bitter one ("I'll add being fine to
                # the list", "I'll handle it"): said back, it agrees that they must
                or _PLAN.match(clause)
                # a phrase that opens with a preposition ("With a heart") is a fragment of
                # their sentence, not something that happened: said back, it reads as nonsense
                or _FRAGMENT.match(clause)
                or (_POINTER.match(clause) and not _FEELING_WORDS.search(clause.lower()))
                # what they say of you is said back only when it is something you did
                # ("You laughed" -> "I laughed"), never "you're right" -> "I'm right"
                or (_ABOUT_YOU.search(clause) and not _YOUR_DEED.match(clause))
                # their own put-downs ("Daft old man") are never said back as facts
                or (_PUT_DOWN.search(clause.lower()) and not clause.startswith(("I'm", "I am")))
                or not content_words(clause)
                or is_stock(clause)
                # a clause the reply says back already is no addition to it
                or (avoid and len(content_words(clause) & avoid) * 2
                    >= len(content_words(clause)))
            ):
                continue
            feels = bool(_FEELING_WORDS.search(clause.lower()))
            # "I'm forty-five years old" is a fact about them, and said back ("You feel
            # like you're forty-five years old") it is nonsense: what happened to them, or
            # what they feel, is worth more than what they are
            state = not feels and re.match(r"(i'?m|i am)\b", clause, re.I) is not None
            key = (len(content_words(clause)) + 2 * feels - 2 * state, -len(words))
            if key > best_key:
                best, best_key, framed = clause, key, gerund
    if not best:
        return ""
    said = _shift(best.rstrip(".!… "))
    if not framed:
        return said
    inside = said[:1].lower() + said[1:]
    # "like wanting more meant it was broken" is "as if"; "like being on a stage", a picture
    if _FINITE.search(" ".join(best.split()[1:])):
        return f"It felt like {inside}"
    return f"You said it was like {inside}"


_PLAN = re.compile(r"^(i'?ll|i will|i'?m going to|i'?m gonna|i'?d better|we'?ll|we will)\b",
                   re.I)
_INNER_QUOTE = re.compile(r"(^|\s)['‘“\"]|['’”\"](\s|$)")
# Said back bare, an order ("Be on my side") or half a sentence ("Every time the words
# are lovely") is not a reflection.
_NOT_A_STATEMENT = re.compile(
    r"(be|tell|sit|go|do|don'?t|let|let'?s|stop|give|take|come|say|leave|ask|call|eat|"
    r"every time|when|whenever|if|because|while|after|before|since|until|unless|though|"
    r"although)\b",
    re.I,
)
_OBJECTS = frozenset({"me", "you", "him", "her", "them", "us", "i", "he", "she", "they", "we"})
# A run in quotation marks in their line: what someone said, not what they say.
# (An opening mark: the sentence split leaves a closing one, then a space, at the start of
# the next sentence.)
_QUOTED = re.compile(r"^\s*['\"‘“](?=\S)")
_LIKE = re.compile(r"^(it was |it's |it felt |felt )?like\s+\w+ing\b", re.I)
_GERUND = re.compile(r"[A-Za-z]{2,}ing", re.I)
_SORRY_WORD = re.compile(r"\b(sorry|apolog\w*)\b", re.I)
# What makes a clause a sentence, not a fragment: a subject to start it, or a finite verb.
_SUBJECT = re.compile(
    r"^(i|i'm|i've|i'd|i'll|you|you're|you've|he|he's|she|she's|they|they're|we|we're|it|"
    r"it's|there|there's|that's|someone|somebody|nobody|no one|everyone|everybody|nothing|"
    r"everything)\s+\S", re.I,
)
_FINITE = re.compile(
    r"\b(is|was|are|were|am|be|been|has|have|had|do|does|did|can|could|will|would|shall|"
    r"should|may|might|must|said|told|went|came|got|took|made|put|left|felt|sat|saw|heard|"
    r"knew|thought|lost|gave|ran|rang|let|kept|found|brought|wrote|broke|fell|began|stood|"
    r"spent|sent|paid|met|held|became|forgot|hit|cut|\w{2,}ed|\w+'(s|re|ve|d|ll|m)|\w+n't)\b",
    re.I,
)


def _is_sentence(clause: str) -> bool:
    """Whether `clause` reads as a sentence said back bare ("He put your email on the big
    screen"), not a fragment ("Biryani in forty minutes")."""
    return bool(_SUBJECT.match(clause) or _FINITE.search(clause))


_NO_SORRY = re.compile(
    r"\b(don'?t|do not|stop|no more) (say(ing)? |keep )?(sorry|apologi[sz](e|ing))\b"
)


def refuses_sorry(partner_lines: list[str]) -> bool:
    """Whether any of the partner's lines asked not to be told sorry ("Don't say sorry")."""
    return any(_NO_SORRY.search(line.lower()) for line in partner_lines)


_FRAGMENT = re.compile(
    r"(with|without|in|on|at|for|after|before|like|by|from|of|to|into|over|under|about)\b",
    re.I,
)


# The moves' fixed sentences (the rest are built from the partner's words).
FIXED_MOVES = (
    "I'm not going anywhere.",
    "I'm so sorry, love.",
    "It makes sense that this is getting to you.",
    "That sounds really painful.",
    "You don't have to tell me anything until you're ready.",
    "It sounds like this has really been weighing on you.",
    "What's been on your mind, if you want to say?",
    "What was the hardest part of it for you?",
    "Do you want me to just listen, or would it help to think it through together?",
    "I'm so glad.", "No wonder, after the day you've had.", "What helped the most?",
    "No wonder you feel that way.",
    "I'm here, and I'm listening.",
)


def _their_words(partner_line: str) -> str:
    """A few of their own words to quote back, when no clause of theirs can be said back."""
    best, best_n = "", 0
    no_sorry = _NO_SORRY.search(partner_line.lower()) is not None
    for sp in sentences(partner_line):
        if _PLAN.match(_LEAD.sub("", sp.text)):
            continue  # "I'll add being fine to the list": a plan, not what they feel
        words = sp.text.rstrip(".!?…").split()
        # the run of up to eight words that carries the most of what they said
        for i in range(max(1, len(words) - 7)):
            # their own quotation marks would nest inside ours
            run = _LEAD.sub("", " ".join(words[i : i + 8]).strip(" ,-'\"‘’“”.!?…"))
            if no_sorry and _SORRY_WORD.search(run):
                continue  # the word they asked you not to say, quoted back at them
            if _FRAGMENT.match(run):
                continue  # "With a heart", quoted, still reads as half a thought
            n = len(content_words(run)) + 2 * bool(_FEELING_WORDS.search(run.lower()))
            if n > best_n:
                best, best_n = run, n
    # "We're home" is nothing to quote back: a quote needs two words of substance, or a
    # line that has more to it than the words quoted
    enough = best_n >= 2 or len(content_words(partner_line)) >= 3
    return best.rstrip(",;:- ") if best_n and enough else ""


def _sentence_inside(clause: str) -> str:
    """`clause` to stand inside a sentence: its first word lower-cased, unless it is a
    name or "I" ("Emeka rang again" stays as it is)."""
    first, _, rest = clause.partition(" ")
    if first.lower() in _COMMON_STARTS:
        return f"{first.lower()} {rest}".strip()
    return clause


_COMMON_STARTS = frozenset({
    "you", "your", "it", "it's", "its", "the", "that", "this", "there", "he", "she", "they",
    "his", "her", "their", "we", "our", "a", "an", "my", "you're", "you've", "you'll",
    "everything", "nothing", "something",
})


PAIN = ", and that sounds really painful"  # dropped when the reply is warm already
# after a denial, taken out when the reply has just said sorry (it would answer the sorry)
OKAY = " and that's okay;"


def _said_quote(quote: str) -> str:
    """A few words of theirs as they said them ("you said “Sat here with you”"), a lone
    feeling word as what they feel ("you're tired", never "“Tired”"), or "" when a lone
    word is too little to quote."""
    words = quote.split()
    if len(words) == 1:
        feeling = _FEELING_WORDS.fullmatch(quote.lower().strip(".,!…"))
        return f"you're {feeling.group(0)}" if feeling else ""
    return f"“{quote}”"


def _reflection(clause: str, quote: str, denial: bool, hurting: bool = True) -> str:
    """Their own words said back (see `_moves`), as one sentence. `hurting`: what they said
    is painful, so saying it back may name the pain (`PAIN`)."""
    pain = PAIN if hurting else ""
    if denial:
        said = (
            _sentence_inside(clause) if clause else _said_quote(quote) if quote else ""
        )
        return (
            f"You said {said},{OKAY} you don't have to tell me anything until you're ready."
            if said
            else "You don't have to tell me anything until you're ready."
        )
    if clause.startswith("I "):  # what they said you did, owned: "You laughed" -> "I laughed"
        return f"You're right, {clause}, and that wasn't fair on you."
    if clause.startswith(("You're ", "You are ")):
        # "I'm the problem" is said back as what they feel, never as a fact
        rest = clause.split(" ", 1)[1] if clause.startswith("You're ") else clause[8:]
        if _FEELING_WORDS.search(rest.lower()):  # "I'm still angry" -> "You're still angry."
            return f"You're {rest}{pain}."
        return f"You feel like you're {rest.removeprefix('are ')}{pain}."
    if clause:
        return f"{clause}{pain}."
    said = _said_quote(quote) if quote else ""
    if said.startswith("“"):
        return f"When you say {said}, I can hear how much it's weighing on you."
    if said:
        return f"You said {said}, and I can hear how much it's weighing on you."
    return "It sounds like this has really been weighing on you."


def _moves(partner_line: str, avoid: frozenset[str] = frozenset(),
           repair: bool = False, refused_sorry: bool = False) -> dict[str, str]:
    """One sentence per missing move, in words from the partner's own line (a clause of
    theirs whose words are mostly in `avoid` is not said back). With `repair` (the hurt is
    one the listener caused), the warm word is an apology, not sympathy."""
    low = partner_line.lower()
    feeling = _FEELING_WORDS.search(low)
    clause = _their_clause(partner_line, avoid)
    denial = _DENIAL.search(low) is not None
    relieved = _RELIEF.search(low) is not None
    hurting = not relieved and (feeling is not None or _HURT.search(low) is not None)
    # "Don't say sorry" (now, or earlier in the scene: `refused_sorry`): another sorry is
    # the very thing they asked you not to do.
    no_sorry = refused_sorry or _NO_SORRY.search(low) is not None
    understanding = _reflection(
        clause, "" if clause else _their_words(partner_line), denial, hurting
    )
    quoted = _reflection("", _their_words(partner_line), denial, hurting)
    # their words said back bare, without the "and that's okay" a denial is answered with
    # ("I'm just doing the dishes" is no feeling to say back: "You feel like you're just
    # doing the dishes" would read as a jibe)
    bare = (
        understanding if not denial
        else "" if clause.startswith(("You're ", "You are "))
        else _reflection(clause, "" if clause else _their_words(partner_line), False, False)
    )
    # the feeling named once: "You said you're tired ... No wonder you feel that way."
    named = feeling is not None and re.search(
        rf"\b{re.escape(feeling.group(1))}\b", f"{understanding} {quoted}".lower()
    )
    return {
        "warmth": (
            "I'm not going anywhere." if denial
            else "I'm here, and I'm listening." if no_sorry
            else "I'm so glad." if relieved
            else "I'm sorry I hurt you." if repair
            else "I'm so sorry, love."
        ),
        "validation": (
            "No wonder, after the day you've had." if relieved
            else "No wonder you feel that way." if named
            else f"No wonder you feel {feeling.group(1)}." if feeling
            else "It makes sense that this is getting to you."
        ),
        "understanding": understanding,
        # said back the same way, if their clause reads as harm when said by you
        "understanding_quote": quoted,
        "understanding_bare": bare,
        "exploration": (
            "What's been on your mind, if you want to say?" if denial
            else "What helped the most?" if relieved
            else "What was the hardest part of it for you?"
        ),
        "asks_needs": "Do you want me to just listen, or would it help to think it through "
        "together?",
    }


def _once(text: str) -> str:
    """`text` with any sentence that repeats an earlier one taken out."""
    seen: set[str] = set()
    out = []
    for sp in sentences(text):
        key = _norm(sp.text)
        if key and key not in seen:
            seen.add(key)
            out.append(sp.text)
    return " ".join(out)


# What points a take-back at the sentence before it ("that was unkind", "I didn't mean
# it", "let me start again", "I'm being a jerk").
_POINTS_BACK = re.compile(r"\b(that|this|it|said|again|being)\b", re.I)


def _unharmful(s: Sentence) -> bool:
    if s.has(*DROP):
        return False
    # "Sorry, that was unkind." takes back the hurtful sentence before it, which goes: alone
    # it would point at nothing. A bare "I'm so sorry." points at nothing and stays: without
    # the hurt it is still the apology the moment wants, and it is the user's own.
    if any(t.why in TAKEN_BACK for t in s.tags) and _POINTS_BACK.search(s.text):
        return False
    # Advice goes unless it is what they asked for (tagged as an offer instead).
    return not any(t.act == "advice" and t.strength == 2 for t in s.tags)


_NORM_WORD = re.compile(r"[a-z']+")


def _norm(text: str) -> str:
    return " ".join(_NORM_WORD.findall(text.lower()))


# Short as a spoken reply: at most this many sentences and words, unless the user's own
# reply was longer (then as long as theirs). A short word of care ("I'm so sorry, love.")
# may come on top of the sentences.
MAX_SENTENCES = 3
MAX_WORDS = 45
SHORT_WORDS = 4
_ORDER = ("warmth", "understanding", "validation", "exploration", "asks_needs")
_WARM = frozenset({"care", "apology", "affirmation"})


def _limits(acts: ReplyActs) -> tuple[int, int]:
    """(sentences, words) a better reply for `acts` may run to."""
    return (
        max(MAX_SENTENCES, len(acts.sentences)),
        max(MAX_WORDS, len(acts.reply.split())),
    )


def _fits(text: str, limit: tuple[int, int]) -> bool:
    """Within `limit`, and no two sentences open alike ("It sounds like ... It sounds like
    ..." is a pile-up of formulas, not one person talking)."""
    parts = sentences(text)
    long = [p for p in parts if len(p.text.split()) > SHORT_WORDS]
    openers = [tuple(_norm(p.text).split()[:3]) for p in long]
    return (
        len(text.split()) <= limit[1]
        and len(long) <= limit[0]
        and len(parts) <= limit[0] + 1
        and len(set(openers)) == len(openers)
    )


def _by_worth(kept: list[Sentence], theirs: frozenset[str]) -> list[Sentence]:
    """`kept` ordered by worth: a sentence that listens and one in their own words before
    plain talk, one that does both first, stock phrases last (a stable sort, so equals keep
    their order)."""
    def worth(s: Sentence) -> tuple[bool, int]:
        stock = bool(s.tags) and all(t.stock for t in s.tags)
        listens = s.has(*LISTENING) and not stock
        return stock, -(listens + bool(content_words(s.text) & theirs))
    return sorted(kept, key=worth)


def _plain(move: str, warm: bool) -> str:
    return move.replace(PAIN, "") if warm else move


def no_better_reason(
    missing: list[str], partner_line: str, acts: ReplyActs | None = None
) -> str:
    """Why no better reply is shown for a scored reply with something still to gain, in
    one sentence for the rating's notes ("" when nothing is missing)."""
    if not missing:
        return ""
    if acts is not None and _good_sentences(acts):
        return (
            "No rewrite is suggested: your sentences that listen stay as you said them, and "
            "nothing the rules could add to them, in a sentence or two, read better under the "
            "same check. The tip is the next step."
        )
    if not (_their_clause(partner_line) or _their_words(partner_line)):
        return (
            "No rewrite is suggested: their words give the rules nothing to say back that "
            "would not read wrongly. The tip is the next step, in your own words."
        )
    return (
        "No rewrite is suggested: none the rules could make from your words, in a reply "
        "this short, read better than yours under the same check. The tip is the next step."
    )


def better_reply(
    acts: ReplyActs,
    missing: list[str],
    partner_line: str,
    assess: Callable[[str], tuple[ReplyActs, float]],
    current: float,
    refused_sorry: bool = False,
) -> str:
    """The user's reply improved, or "" when no checked improvement exists.

    Args:
        acts: the user's reply, tagged.
        missing: the criteria below 2, costliest first (`gaps`).
        partner_line: what the partner just said.
        assess: rates a candidate under the same judge: (its acts, its overall).
        current: the user's reply's overall.
        refused_sorry: they asked earlier in the scene not to be told sorry (see
            `refuses_sorry`), so the rewrite's word of care is no sorry.
    """
    if not missing:
        return ""
    good = _good_sentences(acts)
    if good:
        # Their own listening is kept whole: the better reply only adds to it.
        return _added_to(acts, good, missing, partner_line, assess, current, refused_sorry)
    kept: list[Sentence] = []
    seen: set[str] = set()
    stock_kept = False
    # In a reply that hurts, the sentences around the hurt are part of it ("Someone read
    # your email." beside "what a tragedy"; the list of good deeds after "That's not fair"):
    # only the sentences that listen are kept.
    hurts = any(s.has(*HARMFUL) for s in acts.sentences)
    for s in acts.sentences:
        key = _norm(s.text)
        if not key or key in seen or not _unharmful(s):
            continue
        if hurts and not s.has(*LISTENING):
            continue
        if not s.tags and is_texting(s.text):
            continue  # "omg idk lol." said again does not make the better reply better
        stock = bool(s.tags) and all(t.stock for t in s.tags)
        if stock and stock_kept:
            continue
        stock_kept |= stock
        seen.add(key)
        kept.append(s)
    said = [s.text for s in kept if not s.question]
    # Their own words first; when there are more than fit, the ones that listen.
    ranked = [s.text for s in _by_worth(kept, content_words(partner_line)) if not s.question]
    asked = [s.text for s in kept if s.question][:1]
    warm = any(s.has(*_WARM) for s in kept)
    # A reply that defends itself, or a line about what you did ("You laughed"), is a
    # repair: "I'm so sorry, love" there is sympathy for a hurt you caused.
    repair = acts.has("defensiveness") or _YOUR_DEED.search(partner_line) is not None
    moves = _moves(partner_line, repair=repair, refused_sorry=refused_sorry)
    theirs_all = content_words(partner_line)
    # The costliest misses first (`missing` is in that order); said in a listener's order.
    wanted = [k for k in missing if k in moves and k in _ORDER][:4]
    if asked and "exploration" in wanted:
        wanted.remove("exploration")
    if repair and "warmth" in wanted:
        # after hurting them, the apology is what may not fall off when room is short
        wanted.remove("warmth")
        wanted.insert(0, "warmth")
    # A reply that already says their words back needs no second telling of the same clause.
    own = set(content_words(" ".join(said + asked)))
    told = set(content_words(moves["understanding"])) & theirs_all
    if "understanding" in wanted and told and len(told & own) * 2 >= len(told):
        wanted.remove("understanding")
    # A better reply is about their situation: if nothing kept picks up their words, the
    # reflection of their own words goes in, whatever else is missing.
    theirs = content_words(partner_line)
    if (theirs and "understanding" not in wanted
            and not any(content_words(t) & theirs for t in said + asked)):
        wanted.insert(0, "understanding")
    limit = _limits(acts)
    owns = any(s.has("ownership") for s in kept)
    usable = bool(_their_clause(partner_line) or _their_words(partner_line))
    # The fullest version that reads like one person talking (`_limits`) first; then fewer
    # moves, the costliest kept longest (any subset of them: with room for two, the two that
    # fit). Each with their clause said back, then quoted; and last without any reflection
    # of their words, in case saying them back reads wrongly to the judge (their own "you
    # already said sorry", quoted, reads as brushing it off).
    subsets = [c for n in range(len(wanted), 0, -1) for c in combinations(wanted, n)]
    tries = [(c, refl, force) for force in (True, False) for c in subsets
             for refl in ("understanding", "understanding_quote")]
    tried: set[str] = set()
    for subset, refl, force in tries:
        chosen = subset if force else [k for k in subset if k != "understanding"]
        use = [k for k in _ORDER if k in chosen]
        if not use or (refl != "understanding" and "understanding" not in use):
            continue
        # one word of care is enough: the reflection names no pain beside another
        plain = warm or "warmth" in use
        statements = [_plain(moves[refl if k == "understanding" else k], plain) for k in use
                      if k not in ("exploration", "asks_needs")]
        questions = [moves[k] for k in use if k in ("exploration", "asks_needs")]
        mine = ranked
        if statements or questions:
            # with real moves added, stock lines from the reply only pad it
            mine = [t for t in ranked if not is_stock(t)]
        # Their own words first, but never so many that the missing moves fall off the end.
        added = sum(len(sentences(t)) for t in [*statements, *questions, *asked])
        room = max(1, limit[0] - added)
        chosen_mine = set(mine[:room])
        if force and theirs and "understanding" not in use and not any(
            content_words(t) & theirs for t in [*chosen_mine, *asked]
        ):
            # their words said back are what makes it about them: room for one more sentence
            statements.insert(0, _plain(moves[refl], plain))
            fit = (limit[0] + 1, limit[1])
        else:
            fit = limit
        parts = [*(t for t in said if t in chosen_mine), *statements, *asked, *questions]
        # Each part once: drop a part that says the same words as an earlier one.
        normed = [_norm(p) for p in parts]
        parts = [p for i, p in enumerate(parts) if normed[i] not in normed[:i]]
        text = " ".join(p if p[-1:] in ".!?…" else p + "." for p in parts)
        text = _once(text)
        if not text or text in tried or not _fits(text, fit):
            continue
        tried.add(text)
        # with or without their words said back, a better reply is about their situation:
        # in their words when they said enough to take up ("Yes, very difficult" is not),
        # or, when none of theirs can be said back, owning what they said you did ("You're
        # right, I did say that" to "Don't say sorry. You already texted sorry.")
        if _accepted(text, acts, (theirs, usable, owns), assess, current):
            return text
    return ""


def _good_sentences(acts: ReplyActs) -> list[Sentence]:
    """The sentences of the user's reply that listen and do no harm (an apology, owning it,
    validation, a reflection, care, a real question about their experience), each once, in
    the user's order. The better reply keeps every one of them, word for word. A sentence
    made only of stock phrases ("I hear you.", "Whatever you need.") is padding, not one of
    them: the rewrite is where the user learns to say it in their partner's words."""
    good: list[Sentence] = []
    seen: set[str] = set()
    for s in acts.sentences:
        key = _norm(s.text)
        listening = [t for t in s.tags if t.act in GOOD]
        if (key and key not in seen and _unharmful(s) and listening
                and not all(t.stock for t in listening)):
            seen.add(key)
            good.append(s)
    return good


# At most this many sentences are added to a reply that already listens: the rest of it is
# theirs. When their good sentences fill the reply's length already, one sentence of at
# most `ONE_MORE_WORDS` words may still go on top, or none.
MAX_ADDED = 2
# A line that asks for something ("You know what I'd like? A walk.", "Can we eat on the
# floor?"): the moves written for pain do not answer it.
_ASKS_FOR = re.compile(
    r"\b(i'?d (really )?(like|love|want)|can we|could we|let'?s|i want to|i'?d rather|"
    r"will you|would you)\b"
)
ONE_MORE_WORDS = 10
_VALIDATES = ("validation", "apology", "ownership", "understanding_claim")


def _additions(
    kept: list[Sentence], missing: list[str], partner_line: str, refused_sorry: bool = False
) -> list[tuple[str, str]]:
    """(move, sentence) for each missing move that can honestly be added to `kept`, the
    costliest first: nothing the reply already does, no formula it already says, no second
    question after theirs."""
    text = " ".join(s.text for s in kept)
    own = content_words(text)
    moves = _moves(partner_line, frozenset(own), refused_sorry=refused_sorry)
    theirs = content_words(partner_line)
    warm = any(s.has(*_WARM) for s in kept)
    validates = any(s.has(*_VALIDATES) for s in kept)
    asked = any(s.question for s in kept)
    # ("I'm sorry." reads as care, but it is the sorry the denial's "that's okay" answers)
    owns = any(s.has("ownership", "apology") or _SORRY_WORD.search(s.text) for s in kept)
    # more than a bare "I'm sorry.": "You're right, I did say that." owns what they said
    owns_it = any(s.has("ownership") and not any(t.why in TAKEN_BACK for t in s.tags)
                  for s in kept)
    low = partner_line.lower()
    denial = _DENIAL.search(low) is not None
    relieved = _RELIEF.search(low) is not None
    feeling = _FEELING_WORDS.search(low)
    hurting = not relieved and (feeling is not None or _HURT.search(low) is not None)
    asking = _ASKS_FOR.search(low) is not None
    if feeling and moves["validation"] == "No wonder you feel that way." and not re.search(
        rf"\b{re.escape(feeling.group(1))}\b", text.lower()
    ):
        # "that way" points at a feeling their reply never named
        moves = {**moves, "validation": f"No wonder you feel {feeling.group(1)}."}
    wanted = [k for k in missing if k in moves and k in _ORDER]
    # a reply that picks up none of their words gets their words said back first
    if theirs and "understanding" not in wanted and not own & theirs:
        wanted.insert(0, "understanding")
    out: list[tuple[str, str]] = []
    for k in wanted:
        if k != "understanding" and asking and not (hurting or denial or relieved):
            # "It makes sense that this is getting to you" after "I'd love a walk": the
            # fixed moves answer pain, and a line that asks for something holds none
            continue
        if k == "warmth" and warm:
            continue  # "I'm so sorry, love." beside their own sorry is a second formula
        if k == "validation" and validates and not moves[k].startswith("No wonder you feel "):
            continue  # "It makes sense ..." beside their own validation says it twice
        if k in ("exploration", "asks_needs") and asked:
            continue  # a second question after theirs leaves them choosing which to answer
        if k == "understanding":
            for refl in ("understanding_bare", "understanding", "understanding_quote"):
                said = _plain(moves[refl], warm)
                if not said:
                    continue
                told = content_words(said) & theirs
                if told and len(told & own) * 2 >= len(told):
                    continue  # their words are said back already
                if denial and owns:
                    if owns_it:
                        continue  # a reply that owns what they said needs no "not yet"
                    # "and that's okay" would answer the sorry they were just given
                    said = said.replace(OKAY, " and")
                if said not in (t for _, t in out):
                    out.append((k, said))
            continue
        out.append((k, _plain(moves[k], warm)))
    return out


def _added_to(
    acts: ReplyActs,
    good: list[Sentence],
    missing: list[str],
    partner_line: str,
    assess: Callable[[str], tuple[ReplyActs, float]],
    current: float,
    refused_sorry: bool = False,
) -> str:
    """The user's reply with its harm and padding taken out and every sentence of `good`
    kept, in their order, plus at most `MAX_ADDED` sentences for what is missing; or ""
    when no such reply scores higher under the same judge."""
    hurts = any(s.has(*HARMFUL) for s in acts.sentences)
    good_keys = {_norm(s.text) for s in good}
    # Plain talk beside their listening stays too when there is room (never in a reply
    # that hurts: there the sentences around the hurt are part of it).
    kept: list[Sentence] = []
    seen: set[str] = set()
    for s in acts.sentences:
        key = _norm(s.text)
        if not key or key in seen or not _unharmful(s):
            continue
        if key not in good_keys and (hurts or (not s.tags and is_texting(s.text))):
            continue
        seen.add(key)
        kept.append(s)
    adds = _additions(good, missing, partner_line, refused_sorry)
    theirs = content_words(partner_line)
    usable = bool(_their_clause(partner_line) or _their_words(partner_line))
    owns = any(s.has("ownership") for s in good)
    limit = _limits(acts)
    options = [[a] for a in adds] + [
        [a, b] for a, b in combinations(adds, 2)
        if a[0] != b[0] and not (_is_question(a[1]) and _is_question(b[1]))
    ][: MAX_ADDED * 8]
    bases = [kept] if len(kept) == len(good) else [kept, good]
    tried: set[str] = set()
    for base in bases:
        # as they wrote them; a sentence whose lead-in was dropped ("Yeah... it does")
        # starts with a capital
        after_dropped = {id(t) for i, t in enumerate(acts.sentences)
                         if i == 0 or acts.sentences[i - 1] not in base}
        mine = [s.text if s.text[-1:] in ".!?…" else s.text + "." for s in base]
        mine = [_capital(t) if id(s) in after_dropped else t
                for s, t in zip(base, mine, strict=True)]
        full = _long_count(mine) >= limit[0]
        for option in options:
            added = [t for _, t in option if _norm(t) not in {_norm(m) for m in mine}]
            if not added or (full and (len(added) > 1 or len(added[0].split()) > ONE_MORE_WORDS)):
                continue
            text = _placed(mine, added, [_closes(s) for s in base])
            if text in tried or not _fits_added(mine, added, text, limit, full):
                continue
            tried.add(text)
            if _accepted(text, acts, (theirs, usable, owns), assess, current):
                return text
    return ""


def _accepted(text: str, acts: ReplyActs, about: tuple[frozenset[str], bool, bool],
              assess: Callable[[str], tuple[ReplyActs, float]], current: float) -> bool:
    """Whether a candidate better reply may be shown: about their situation (`about`: their
    words, whether any can be said back, whether the reply owns its part), no harm in it
    under the same judge, a higher score than the user's reply, not the reply itself, and
    still English."""
    if not _about_them(text, *about):
        return False
    cand_acts, score = assess(text)
    if any(not _unharmful(s) for s in cand_acts.sentences):
        return False
    return score > current and _norm(text) != _norm(acts.reply) and _english(text)


def _english(text: str) -> bool:
    """Whether the better reply still reads as English, as the reply did: sentences in
    another language beside a few English ones ("Doe niet zo dramatisch. ...") can tip it,
    and the same judge would not score it."""
    return language_of(text) is None


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _closes(s: Sentence) -> bool:
    """Whether `s` hands the turn back to them: a question, "Tell me more.", an offer."""
    return s.question or s.has("open_question", "asks_needs", "offer_presence")


def _about_them(text: str, theirs: frozenset[str], usable: bool, owns: bool) -> bool:
    """Whether a better reply takes up their situation: some of their words, when they said
    enough to take up ("Yes, very difficult" is not); or, when nothing of theirs can be said
    back (`usable` false), the user's own sentence owning what they said the user did."""
    if not theirs or content_words(text) & theirs:
        return True
    if not usable:
        return owns or len(theirs) < 3
    return False


def _is_question(text: str) -> bool:
    return text.rstrip().endswith("?")


def _long_count(parts: list[str]) -> int:
    return sum(len(sentences(p)) for p in parts if len(p.split()) > SHORT_WORDS)


def _placed(mine: list[str], added: list[str], questions: list[bool]) -> str:
    """The user's sentences in their order, the added statements before the sentences
    their reply ends on that hand the turn back (`_closes`: what they heard, then what
    they ask), the added question last."""
    statements = [t for t in added if not _is_question(t)]
    asks = [t for t in added if _is_question(t)]
    at = len(mine)
    while at and questions[at - 1]:
        at -= 1
    return " ".join([*mine[:at], *statements, *mine[at:], *asks])


def _fits_added(mine: list[str], added: list[str], text: str, limit: tuple[int, int],
                full: bool) -> bool:
    """Within the reply's length (`_limits`; one sentence over when theirs fill it), and no
    added sentence opens like another one (the user's own sentences are theirs to open
    as they like)."""
    parts = sentences(text)
    long = [p for p in parts if len(p.text.split()) > SHORT_WORDS]
    cap = limit[0] + 1 if full else limit[0]
    if len(text.split()) > limit[1] or len(long) > cap or len(parts) > cap + 1:
        return False
    openers = [tuple(_norm(p.text).split()[:3]) for p in long]
    new = [tuple(_norm(t).split()[:3]) for t in added if len(t.split()) > SHORT_WORDS]
    return all(openers.count(o) == 1 for o in new)
