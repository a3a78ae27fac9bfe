"""Which language a reply is in, so the English rules abstain on others instead of guessing.

Identification is the `lingua` library's (it ships its own models). Plainly English text
(a good share of common English function words) skips the model, which keeps the judge
fast; English texting shorthand ("gtg", "idk", "ttyl") counts as such English. Everything
else is asked. Very short replies ("ok", "sí") cannot be told apart and
are read as they are.
"""

from __future__ import annotations

import functools
import re
import time

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Common English words that are not also common words of the languages checked below
# ("is", "was", "die", "me", "no" are left out on purpose).
_ENGLISH = frozenset(
    [
        "the",
        "you",
        "your",
        "you're",
        "i",
        "i'm",
        "i've",
        "it's",
        "that",
        "this",
        "and",
        "what",
        "how",
        "with",
        "for",
        "are",
        "my",
        "have",
        "just",
        "about",
        "really",
        "sorry",
        "feel",
        "like",
        "don't",
        "can",
        "sounds",
        "there",
        "they",
        "he's",
        "she's",
        "we",
        "our",
        "hear",
        "here",
        "know",
        "think",
        "want",
        "been",
        "of",
        "to",
        "it",
        "do",
        "did",
        "so",
        "when",
        "why",
        "must",
        "would",
        "could",
        "should",
    ]
)
# English texting shorthand. The language models never saw it and guess wildly ("gtg, talk
# later" reads as Afrikaans, "omg idk lol" as Swahili), so it counts as English here.
_TEXTING = frozenset(
    [
        "gtg", "g2g", "brb", "omg", "omfg", "idk", "idc", "ttyl", "lol", "lmao", "rofl", "tbh",
        "imo", "imho", "btw", "thx", "tysm", "ily", "ikr", "smh", "nvm", "lmk", "jk", "wtf", "omw",
        "hbu", "wyd", "wbu", "rn", "bc", "cuz", "pls", "plz", "srsly", "ngl", "tmi", "irl", "afaik",
        "fyi", "asap", "bff", "ffs", "yeah", "yep", "yup", "nope", "gonna", "wanna", "gotta",
        "kinda", "dunno", "talk", "later",
    ]
)
# Shorthand and interjections that are also words elsewhere ("ty" and "np" are Polish, "ok",
# "oh", "hey" and "bye" are said in many languages): English only when every word of the
# reply is shorthand or English, as in "ty np" or "ok bye".
_TEXTING_SHARED = frozenset(
    [
        "np", "ty", "u", "ur", "k", "kk", "thnx", "xo", "xoxo", "ok", "okay", "okey", "oh", "ah",
        "hey", "hi", "hiya", "bye", "cya", "soon", "hmm", "ugh", "aww",
    ]
)
_CANDIDATES = [
    "ENGLISH",
    "SPANISH",
    "GERMAN",
    "FRENCH",
    "PORTUGUESE",
    "ITALIAN",
    "DUTCH",
    "POLISH",
    "SWEDISH",
    "DANISH",
    "BOKMAL",
    "FINNISH",
    "TURKISH",
    "INDONESIAN",
    "MALAY",
    "ROMANIAN",
    "CZECH",
    "SLOVAK",
    "HUNGARIAN",
    "CROATIAN",
    "SERBIAN",
    "SLOVENE",
    "CATALAN",
    "AFRIKAANS",
    "TAGALOG",
    "RUSSIAN",
    "UKRAINIAN",
    "GREEK",
    "ARABIC",
    "HEBREW",
    "PERSIAN",
    "HINDI",
    "BENGALI",
    "URDU",
    "CHINESE",
    "JAPANESE",
    "KOREAN",
    "VIETNAMESE",
    "THAI",
    "SWAHILI",
    "WELSH",
    "IRISH",
]
MIN_WORDS = 3
# Latin text with words of five letters and more (lingua loads a model of n letters only for
# text that has them), for the languages written in Latin letters.
_LATIN = "Hola, ¿cómo estás? Das ist wunderbar."
# Languages that share a script other than Latin, each pair with text in letters both use:
# a pair loads both languages' models (a letter only one of them uses would decide without
# them, and the next reply in that language would wait for its models).
_SHARED_PAIRS = (
    ("RUSSIAN", "UKRAINIAN", "привет дорогие друзья"),
    ("SERBIAN", "RUSSIAN", "привет дорогие друзья"),
    ("ARABIC", "PERSIAN", "سلام دوستان من"),
    ("PERSIAN", "URDU", "سلام دوستان من"),
)
MIN_CONFIDENCE = 0.12
ENGLISH_SHARE = 0.25


@functools.cache
def _detector():  # type: ignore[no-untyped-def]
    from lingua import Language, LanguageDetectorBuilder

    # The languages people most often write in; fewer candidates, fewer confusions.
    names = _CANDIDATES
    return LanguageDetectorBuilder.from_languages(
        *(getattr(Language, n) for n in names)
    ).build(), Language


def is_texting(text: str) -> bool:
    """Whether `text` is made only of texting shorthand ("omg idk lol", "brb")."""
    words = [w.lower() for w in _WORD.findall(text)]
    return bool(words) and all(w in _TEXTING or w in _TEXTING_SHARED for w in words)


def language_of(text: str) -> str | None:
    """The reply's language when it is clearly not English (e.g. "Spanish"), else None."""
    found = identify(text)
    return found[0] if found else None


# Where Latin-script text in a language lingua has no model for lands: romanised Hindi reads
# as Swahili at 0.68, Hinglish as Tagalog or Malay. Below SURE, these names are only a guess.
_SINKS = frozenset({"SWAHILI", "TAGALOG", "MALAY", "INDONESIAN", "AFRIKAANS"})
SURE = 0.9


def identify(text: str) -> tuple[str, bool] | None:
    """(the language, whether the name is sure) when `text` is clearly not English."""
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < MIN_WORDS:
        return None
    if sum(w in _ENGLISH or w in _TEXTING for w in words) >= ENGLISH_SHARE * len(words):
        return None
    if all(w in _ENGLISH or w in _TEXTING or w in _TEXTING_SHARED for w in words):
        return None
    detector, language = _detector()
    values = detector.compute_language_confidence_values(text)
    if not values:
        return None
    top = values[0]
    if top.language == language.ENGLISH:
        return None
    english = next((v.value for v in values if v.language == language.ENGLISH), 0.0)
    # Short replies spread the confidence thin, so the bar is low but relative: another
    # language well ahead of English.
    if top.value >= MIN_CONFIDENCE and english < top.value / 2:
        return top.language.name.title(), top.language.name not in _SINKS or top.value >= SURE
    return None


def warm_up(pause: float = 0.05) -> None:
    """Load the language models now (about five seconds of work), so that the first reply
    in another language is not the one that waits for them. Safe to call from a background
    thread.

    lingua loads a language's models while holding the GIL, and all of them at once holds
    it for seconds: a background warm-up then freezes the app it runs in (its first page
    waited 6 s on a quiet machine, over 30 s on a loaded one). lingua caches each language's
    models once per process, whichever detector asked, so they are loaded a pair of
    languages at a time (each well under half a second), with a pause between pairs in
    which other threads run: every candidate beside English on Latin text, then the pairs
    that share another script."""
    from lingua import Language, LanguageDetectorBuilder

    pairs = [("ENGLISH", name, _LATIN) for name in _CANDIDATES[1:]] + list(_SHARED_PAIRS)
    for one, other, text in pairs:
        detector = LanguageDetectorBuilder.from_languages(
            getattr(Language, one), getattr(Language, other)
        ).build()
        detector.compute_language_confidence_values(text)
        time.sleep(pause)
    _detector()
