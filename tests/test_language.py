"""Which language a reply is in (coach/judges/acts/language.py): English texting shorthand is
English; real replies in other languages are still told apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coach.judges.acts.language import language_of

NON_ENGLISH = Path(__file__).resolve().parents[1] / "evals" / "adversarial" / "non_english.jsonl"


@pytest.mark.parametrize(
    "reply",
    ["gtg", "gtg, talk later", "omg idk lol", "gtg ttyl np", "k gtg bye", "lol ok gtg ttyl",
     "omg omg omg", "ty np", "np ty", "brb", "idk what to say", "ok bye"],
)
def test_english_texting_is_english(reply: str) -> None:
    assert language_of(reply) is None


def test_every_non_english_suite_reply_is_still_named() -> None:
    rows = [json.loads(line) for line in NON_ENGLISH.read_text().splitlines() if line.strip()]
    assert len(rows) >= 10
    missed = [r["reply"] for r in rows if language_of(r["reply"]) is None]
    assert not missed


@pytest.mark.parametrize("reply", ["Ah, lo siento mucho, mi amor.", "A ty co o tym myślisz?"])
def test_a_shared_interjection_or_shorthand_does_not_make_a_reply_english(reply: str) -> None:
    assert language_of(reply) is not None


def test_a_language_it_cannot_name_for_sure_is_named_only_as_a_guess() -> None:
    # lingua knows no romanised Hindi and reads this as Swahili; the user must not be told
    # "This reply looks like Swahili".
    from coach.judges.builtin import unreadable

    reply = "Yaar, tum theek ho? Mujhe batao kya hua."
    why = unreadable(reply)
    assert why is not None and "not in English (it may be" in why
    assert "looks like" not in why
    sure = unreadable("Lo siento mucho, mi amor. Estoy contigo, no tienes que estar bien.")
    assert sure is not None and sure.startswith("This reply looks like Spanish.")


def test_the_warm_up_loads_the_languages_a_pair_at_a_time(monkeypatch) -> None:
    # lingua holds the GIL while it loads models; loading every Latin-script language in one
    # call froze the app for seconds (its first page waited over 30 s under CI load).
    import lingua

    from coach.judges.acts import language

    built: list[int] = []
    pauses: list[float] = []
    real = lingua.LanguageDetectorBuilder.from_languages

    def counting(*languages):  # type: ignore[no-untyped-def]
        built.append(len(languages))
        return real(*languages)

    monkeypatch.setattr(lingua.LanguageDetectorBuilder, "from_languages", counting)
    monkeypatch.setattr(language.time, "sleep", pauses.append)
    language._detector.cache_clear()
    try:
        language.warm_up(pause=0.01)
    finally:
        language._detector.cache_clear()
    pairs, whole = built[:-1], built[-1]
    assert pairs and all(n == 2 for n in pairs)
    # every candidate beside English once, then the pairs that share another script
    assert len(pairs) == len(language._CANDIDATES) - 1 + len(language._SHARED_PAIRS)
    assert whole == len(language._CANDIDATES)
    assert len(pauses) == len(pairs) and set(pauses) == {0.01}
    shared = {n for one, other, _ in language._SHARED_PAIRS for n in (one, other)}
    assert {"RUSSIAN", "UKRAINIAN", "ARABIC", "PERSIAN", "URDU"} <= shared
    assert language.language_of("Lo siento mucho, debe haber sido horrible.") == "Spanish"
