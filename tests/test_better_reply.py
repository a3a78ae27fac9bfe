"""The better reply is better, over every gold and dev reply: it keeps no sentence the judge
tags as harmful, repeats no sentence, stays in the reply's language, draws on what the
partner said, and scores higher than the user's reply under the same judge."""

from __future__ import annotations

import functools
import re

import pytest

from coach.core.session import Line
from coach.judges.acts.feedback import (
    DROP,
    MAX_ADDED,
    MAX_SENTENCES,
    MAX_WORDS,
    SHORT_WORDS,
)
from coach.judges.acts.policy import RAISES
from coach.judges.acts.tagger import TAKEN_BACK, content_words, make_context, sentences
from coach.judges.base import JudgeContext
from coach.judges.builtin import HeuristicJudge, overall_of, read_reply
from tests.data_paths import dev_group, rated_dev

JUDGE = HeuristicJudge()


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z']+", text.lower()))


@functools.lru_cache(maxsize=8192)
def _read(text: str, partner: str = "", situation: str = ""):  # type: ignore[no-untyped-def]
    """`read_reply`, once per text and context: the checks below read the same reply and
    rewrite several times (a reading is an immutable value)."""
    return read_reply(text, make_context(partner, situation) if partner or situation else None)


@functools.lru_cache(maxsize=8192)
def _said(text: str) -> tuple[str, ...]:
    """The sentences of `text` as the judge splits it: the texts of `_read(text).sentences`
    (a reading keeps one sentence per span of `sentences`), without reading their acts,
    where only the sentences are compared."""
    return tuple(s.text for s in sentences(text))


def _points_at_dropped(s, partner: str) -> bool:
    """A sentence that takes back the hurtful one before it ("Sorry, that was unkind.",
    "Oh, that's not what I meant!") goes with it: alone, its "that" points at nothing. One
    that still listens read on its own, pointing at nothing ("I'm so sorry."), stays."""
    if not any(t.why in TAKEN_BACK for t in s.tags):
        return False
    if re.search(r"\b(that|this|it|said|again|being)\b", s.text, re.I):
        return True
    alone = read_reply(s.text, make_context(partner, "")).sentences
    return not any(t.act in RAISES and not t.stock for a in alone for t in a.tags)


def good_sentences(reply: str, partner: str, scenario=None) -> list[str]:
    """The sentences of `reply` that listen and do no harm, as the judge reads them in
    context: each must be kept, word for word and in order, by any better reply."""
    situation = f"{scenario.situation}\n{scenario.opening}" if scenario else ""
    acts = _read(reply, partner, situation)
    out: list[str] = []
    for s in acts.sentences:
        strong_advice = any(t.act == "advice" and t.strength == 2 for t in s.tags)
        # what listens, and a closed question about them ("Did something happen that hurt
        # you?"): a real question about their experience
        # (a sentence of stock phrases only, "I hear you.", is padding: the rewrite may
        # say it in their partner's words instead)
        own_words = any(t.act in RAISES and not t.stock for t in s.tags)
        listens = (own_words and not s.has(*DROP) and not strong_advice
                   and not _points_at_dropped(s, partner))
        if listens and _norm(s.text) and _norm(s.text) not in map(_norm, out):
            out.append(s.text)
    return out


def kept_problems(reply: str, better: str, partner: str, scenario=None) -> list[str]:
    """What the better reply does to the user's good sentences: each one is in it verbatim
    (up to case and punctuation), in the user's order, and at most `MAX_ADDED` sentences
    are added beside them."""
    good = good_sentences(reply, partner, scenario)
    if not better or not good:
        return []
    problems = []
    text, at = f" {_norm(better)} ", 0
    for g in good:
        i = text.find(f" {_norm(g)} ", at)
        if i < 0:
            where = "out of order" if f" {_norm(g)} " in text else "dropped"
            problems.append(f"{where}: {g!r}")
        else:
            at = i + 1
    own = {_norm(t) for t in _said(reply)}
    added = [t for t in _said(better) if _norm(t) not in own]
    if len(added) > MAX_ADDED:
        problems.append(f"adds {len(added)} sentences to a reply that listens: {added}")
    return problems


def _owns_instead(reply: str, better: str, partner: str, situation: str) -> bool:
    """The one reply that may share no word with theirs: when nothing they said can be
    said back ("Don't say sorry. You already texted sorry. With a heart.": the sorry they
    refused, something said of you, a fragment), owning what they said you did, in the
    user's own sentence kept word for word ("You're right, I did say that ..."), is what
    takes up their situation (`test_owning_a_mistake_with_an_apology_...` asks for it)."""
    from coach.judges.acts.feedback import _their_clause, _their_words

    if _their_clause(partner) or _their_words(partner):
        return False
    acts = read_reply(reply, make_context(partner, situation))
    return any(s.has("ownership") and _norm(s.text) in _norm(better) for s in acts.sentences)


def _check(reply: str, history: tuple[Line, ...], scenario=None, rating=None) -> list[str]:
    """What is wrong with the better reply for `reply` (in `rating`, when it is rated
    already), if anything."""
    if rating is None:
        rating = JUDGE.rate(JudgeContext(reply=reply, history=history, scenario=scenario))
    better = rating.better_reply
    if rating.status != "scored":
        return [] if not better else ["an unscored reply got a better reply"]
    if not better:
        return []
    problems = []
    partner = next((ln.text for ln in reversed(history) if ln.role == "partner"), "")
    situation = f"{scenario.situation}\n{scenario.opening}" if scenario else ""
    acts = _read(better, partner, situation)
    harmful = [s.text for s in acts.sentences if s.has(*DROP)]
    if harmful:
        problems.append(f"keeps harmful sentences {harmful}")
    said = [_norm(s.text) for s in acts.sentences]
    if len(said) != len(set(said)):
        problems.append("repeats a sentence")
    again = overall_of(JudgeContext(reply=better, history=history, scenario=scenario))
    if again is None or rating.overall is None:
        problems.append("the better reply is not scored")
    elif again <= rating.overall:
        problems.append(f"scores {again} <= {rating.overall}")
    theirs = set(content_words(partner))
    if len(theirs) >= 3 and not set(content_words(better)) & theirs and not _owns_instead(
        reply, better, partner, situation
    ):
        problems.append("shares nothing with what the partner said")
    # short as a spoken reply: no longer than about three sentences and 45 words, unless
    # the user's own reply was longer (a short word of care may come on top)
    own_said = _said(reply)
    words, cap = len(better.split()), max(MAX_WORDS, len(reply.split()))
    if words > cap:
        problems.append(f"{words} words, over {cap}")
    long = [s for s in acts.sentences if len(s.text.split()) > SHORT_WORDS]
    # (one more when their words said back had to be added to make it about them)
    if len(long) > max(MAX_SENTENCES, len(own_said)) + 1:
        problems.append(f"{len(long)} sentences")
    own = {_norm(t) for t in own_said}
    stock = [
        s.text
        for s in acts.sentences
        if _norm(s.text) not in own and s.tags and all(t.stock for t in s.tags)
    ]
    if stock:
        problems.append(f"adds stock lines {stock}")
    problems += kept_problems(reply, better, partner, scenario)
    return problems


def _run(cases) -> None:
    failures = []
    for reply, history, scenario, *rating in cases:
        problems = _check(reply, history, scenario, *rating)
        if problems:
            failures.append((reply[:80], problems))
    assert not failures, f"{len(failures)} bad better replies, e.g. {failures[:5]}"


def test_better_reply_on_every_gold_reply(library) -> None:
    cases = []
    for sc in library.values():
        lines = [sc.opening, *(b.heard for b in sc.beats)]
        for ex in sc.examples:
            partner = lines[min(ex.turn - 1, len(lines) - 1)]
            cases.append((ex.reply, (Line("partner", partner),), sc))
    assert len(cases) > 80
    _run(cases)


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=dev_group(n)) for n in ("epitome", "esconv", "annomi")]
)
def test_better_reply_on_every_dev_reply(name: str) -> None:
    # the ratings `coach eval` gives (the floors tests read the same ones)
    items, ratings = rated_dev(name)
    seen: set[str] = set()
    cases = []
    for it, rated in zip(items, ratings, strict=True):
        for turn, rating in zip(it.turns, rated, strict=True):
            if turn.reply in seen:
                continue
            seen.add(turn.reply)
            cases.append((turn.reply, turn.history, None, rating))
    assert len(cases) > 500
    _run(cases)


@pytest.mark.parametrize(
    "reply",
    [
        "Lo siento mucho, mi amor. ¿Qué pasó?",
        "Das tut mir so leid. Erzähl mir alles.",
    ],
)
def test_no_better_reply_in_another_language(reply: str) -> None:
    rating = JUDGE.rate(JudgeContext(reply=reply, history=(Line("partner", "I had a bad day."),)))
    assert rating.status == "unscored" and rating.better_reply == ""
    assert "English" in rating.reason


def test_no_sorry_when_they_say_nothing_is_wrong() -> None:
    rating = JUDGE.rate(JudgeContext(reply="Ok.", history=(Line("partner", "Nothing's wrong!"),)))
    assert rating.better_reply and "sorry" not in rating.better_reply.lower()


def _rated(scenario_id: str, reply: str):
    from coach.adapters.scenario_files import load_library
    from coach.core.session import Line
    from coach.judges.base import JudgeContext
    from coach.judges.builtin import HeuristicJudge

    sc = load_library()[scenario_id]
    return HeuristicJudge().rate(JudgeContext(reply, (Line("partner", sc.opening),), sc, 1))


def test_in_a_reply_that_hurts_only_the_sentences_that_listen_are_kept():
    # "Someone read your email." is the belittling half of the sarcasm around it
    r = _rated("vent-humiliated-at-work",
               "Oh, wow, what a tragedy. Someone read your email. However will you survive.")
    assert "contempt" in r.flags and r.better_reply
    assert "Someone read your email" not in r.better_reply and "tragedy" not in r.better_reply


def test_blame_is_flagged_and_never_kept_nor_answered_with_a_fragment():
    r = _rated("actions-dont-match-words",
               "If you'd reminded me this morning like I asked, this wouldn't have happened.")
    assert "criticism" in r.flags
    assert "reminded me" not in r.better_reply and "With a heart" not in r.better_reply


def test_asking_what_they_need_in_other_words_is_credited_and_not_asked_twice():
    r = _rated("vent-humiliated-at-work", "Do you want to tell me more, or just have me listen?")
    assert r.level("asks_needs") == 2
    assert r.better_reply.count("listen") == 1


def _at(scenario_id: str, partner: str, reply: str):
    from coach.adapters.scenario_files import load_library

    sc = load_library()[scenario_id]
    return JUDGE.rate(JudgeContext(reply, (Line("partner", partner),), sc, 1))


STAGE = ("Like being on a stage with no clothes on. I just sat there. Sixty people. And he was "
         "enjoying it, you could tell.")


def test_a_reply_that_hurts_earns_no_full_marks_for_what_it_holds_back():
    # criticism gives no advice and talks of no one else, but that is not good listening
    r = _at("vent-humiliated-at-work", STAGE, "Honestly you always take everything so personally.")
    assert "criticism" in r.flags
    for key in ("no_fixing", "stays_with_them"):
        assert r.level(key) == 1 and "not earned" in r.scores[key].note
    assert any("not listening" in n for n in r.notes)
    kind = _at("vent-humiliated-at-work", STAGE, "That sounds awful. What was the worst part?")
    assert kind.level("no_fixing") == 2 and kind.level("stays_with_them") == 2


def test_a_fragment_of_their_line_is_said_back_framed_or_not_at_all():
    r = _at("vent-humiliated-at-work", STAGE, "Honestly you always take everything so personally.")
    said = [s.text for s in read_reply(r.better_reply).sentences]
    assert not any(t.startswith(("Being", "Like being")) for t in said), said
    assert "You said it was like being on a stage with no clothes on" in r.better_reply
    # a run they quote is someone's words, not theirs to have said back as a fact; a phrase
    # without a verb ("Roommates who share a Netflix password.") is no sentence
    from coach.judges.acts.feedback import _their_clause

    assert _their_clause("'A masterclass in how not to write to a client.' And they all laughed "
                         "at me.") == "They all laughed at you"
    assert _their_clause("We're roommates now. Roommates who share a Netflix password.") == ""
    assert _their_clause("Sundays. You burning the garlic and me pretending it's a flavour.") \
        == ""
    assert _their_clause("Like wanting more meant something was broken.") == (
        "It felt like wanting more meant something was broken")


def test_a_lone_word_of_theirs_is_said_back_as_what_they_feel_not_as_a_quote():
    r = _at("how-are-you-feeling-today", "Fine. Tired. It was fine.", "Ok.")
    assert r.better_reply and "“Tired”" not in r.better_reply
    assert "You said you're tired" in r.better_reply
    assert r.better_reply.lower().count("tired") == 1  # the feeling named once


OWNING = "You're right, I did say that, and it was unfair to you. I'm sorry."


def test_owning_a_mistake_with_an_apology_is_warm_and_still_gets_a_better_reply(library):
    for sc in library.values():
        for partner in [sc.opening, *(b.heard for b in sc.beats)][:3]:
            r = JUDGE.rate(JudgeContext(OWNING, (Line("partner", partner),), sc, 1))
            assert r.level("warmth") == 2 and r.level("validation") == 2, (sc.id, partner)
            assert r.better_reply or any("No rewrite is suggested" in n for n in r.notes)
    # "Don't say sorry": the better reply keeps the owning and drops the sorry she refused
    r = _at("actions-dont-match-words", "Don't say sorry. You already texted sorry. With a heart.",
            OWNING)
    assert r.better_reply.startswith("You're right, I did say that")
    assert "sorry" not in r.better_reply.lower()


def test_a_kind_reply_gets_a_short_better_reply_that_reads_as_one_person():
    r = _at("vent-humiliated-at-work", STAGE.split(".")[0] + ".",
            "That sounds awful, what happened?")
    better = r.better_reply
    assert better and len(better.split()) <= MAX_WORDS
    assert len(read_reply(better).sentences) <= MAX_SENTENCES
    # the reply's own care is kept; no second "that sounds ..." piled beside it
    assert better.lower().count("that sounds") == 1


def test_no_better_reply_says_why():
    r = _at("actions-dont-match-words", "Don't say sorry. You already texted sorry. With a heart.",
            "If you'd reminded me this morning like I asked, this wouldn't have happened.")
    assert not r.better_reply
    assert any(n.startswith("No rewrite is suggested") for n in r.notes)


def test_texting_shorthand_is_not_kept_in_the_better_reply():
    r = _at("how-are-you-feeling-today", "Fine. Tired. It was fine.", "omg idk lol")
    assert r.status == "scored" and r.better_reply
    assert "omg" not in r.better_reply and "lol" not in r.better_reply


# New-user trials (issue 9, point 5): the better reply dropped the user's own apology,
# validation and open question for fixed lines, and read worse than what they wrote.
OVERHEARD = ("You're right, I did say that, and it made Sean sound like a chore. That was unfair "
             "to you. I'm sorry.")
HUMILIATED = ("Oh no. He put your email up in front of everyone and they laughed? That's "
              "humiliating. What was it like sitting there?")


@pytest.mark.parametrize(
    ("scenario_id", "reply", "theirs"),
    [
        ("cold-shoulder-overheard-call", OVERHEARD,
         ["That was unfair to you.", "I'm sorry."]),
        ("vent-humiliated-at-work", HUMILIATED,
         ["That's humiliating.", "What was it like sitting there?"]),
    ],
)
def test_the_users_own_listening_survives_the_better_reply(scenario_id, reply, theirs):
    r = _rated(scenario_id, reply)
    assert r.status == "scored" and r.overall is not None and r.overall > 60
    if r.better_reply:
        for sentence in theirs:
            assert sentence in r.better_reply, (sentence, r.better_reply)
        assert "you don't have to tell me anything" not in r.better_reply
    else:  # nothing honest to add: say so, in the notes
        assert any("your sentences that listen stay as you said them" in n for n in r.notes)
    from coach.adapters.scenario_files import load_library

    sc = load_library()[scenario_id]
    assert kept_problems(reply, r.better_reply, sc.opening, sc) == []


def test_a_better_reply_adds_to_the_users_listening_in_their_order():
    r = _rated("vent-humiliated-at-work",
               "Oh no. That's humiliating. What was it like sitting there?")
    better = r.better_reply
    assert better.startswith("Oh no. That's humiliating.")
    assert better.endswith("What was it like sitting there?")  # theirs still hands it back
    assert better.count("?") == 1  # no second question piled after theirs
    added = better.removeprefix("Oh no. That's humiliating.").removesuffix(
        "What was it like sitting there?").strip()
    assert added and len(read_reply(added).sentences) <= MAX_ADDED
    assert set(content_words(added)) & set(content_words("He put my email on the big screen"))


def test_an_apology_is_never_answered_with_their_denial_said_back():
    # "It's fine." -> "You said you're just doing the dishes, and that's okay" after the
    # user's own sorry absolves the user, not them
    for reply in (OVERHEARD, "That was unfair to you. I'm sorry.", "I did say that. I'm sorry."):
        r = _rated("cold-shoulder-overheard-call", reply)
        assert "that's okay" not in r.better_reply, r.better_reply
        assert "You feel like you're just doing the dishes" not in r.better_reply


def test_no_fixed_lines_for_pain_after_a_line_that_asks_for_something():
    r = _at("vent-humiliated-at-work", "You know what I'd like? A walk after tea, just us two.",
            "Yes. After tea tomorrow, just us two. I'd love that.")
    assert "getting to you" not in r.better_reply and "hardest part" not in r.better_reply



def test_what_they_say_they_will_do_is_not_said_back_as_their_experience():
    # Found in a new-user trial of mum-had-a-stroke: "Okay. I'll add being fine to the list,
    # after the flights." came back as "You'll add being fine to the list.", agreeing with a
    # bitter joke that she must carry it all.
    from coach.judges.acts.feedback import _their_clause

    assert _their_clause("Okay. I'll add being fine to the list, after the flights.") == ""
    assert _their_clause("Okay. I'll handle it. I always do.") == ""
    assert _their_clause("I'll handle it. He laughed at me in front of everyone.") == (
        "He laughed at you in front of everyone")
    r = _at("mum-had-a-stroke", "Okay. I'll add being fine to the list, after the flights.",
            "You've been holding everyone up all day. Who's holding you?")
    assert "add being fine" not in r.better_reply


def test_after_a_defence_the_better_reply_apologises_rather_than_sympathises():
    # Found in a new-user trial of cold-shoulder-overheard-call: "I'm sorry you feel that way,
    # but I was just venting to my sister." got a better reply opening "I'm so sorry, love."
    # (sympathy, as if someone else had hurt him).
    r = _at("cold-shoulder-overheard-call",
            "Yes. That's what it sounded like. Like my lot are something I've landed you with.",
            "I'm sorry you feel that way, but I was just venting to my sister.")
    assert r.better_reply and "I'm so sorry, love" not in r.better_reply
    assert "I'm sorry I hurt you." in r.better_reply


def test_overall_of_is_the_rated_overall(library) -> None:
    # The checks above compare a better reply's score by `overall_of`; it must be the score
    # a rating shows, or they would check something else.
    sc = library["vent-humiliated-at-work"]
    history = (Line("partner", sc.opening),)
    replies = [ex.reply for ex in sc.examples] + ["Lo siento mucho, mi amor. ¿Qué pasó?"]
    assert len(replies) > 5
    for reply in replies:
        ctx = JudgeContext(reply=reply, history=history, scenario=sc)
        assert overall_of(ctx) == JUDGE.rate(ctx).overall, reply


# Found by the property test: a sorry after a defensive sentence was read as taking that
# sentence back, so the better reply dropped it with the sentence, or offered nothing.
@pytest.mark.parametrize(
    ("scenario_id", "reply", "sorry"),
    [
        ("cold-shoulder-overheard-call",
         "You shouldn't have been listening to my phone call. I'm so sorry.", "I'm so sorry."),
        ("touched-only-in-the-bedroom", "I thought you'd be happy I still try. I'm sorry.",
         "I'm sorry."),
    ],
)
def test_a_bare_sorry_after_a_defence_stays_in_the_better_reply(scenario_id, reply, sorry):
    r = _rated(scenario_id, reply)
    assert r.better_reply.startswith(sorry), r.better_reply
    assert reply.split(".")[0] not in r.better_reply
    # after their sorry, "and that's okay" would read as forgiving yourself
    assert "that's okay" not in r.better_reply



def test_the_reflection_says_back_what_happened_not_a_bare_fact_about_them():
    # "You feel like you're forty-five years old." was the better reply's reflection of
    # "I'm forty-five years old and I sat there like a kid who got the answer wrong."
    r = _at("unsupported-at-dinner", "Yeah. You saw it. Everybody saw it. I'm forty-five "
            "years old and I sat there like a kid who got the answer wrong.", "Okay.")
    assert "forty-five" not in r.better_reply
    assert "You sat there like a kid who got the answer wrong." in r.better_reply



def test_a_sorry_they_refused_earlier_in_the_scene_stays_out_of_the_better_reply():
    # A cold trial: after "Don't say sorry" early in a scene, a later turn's rewrite
    # offered "I'm so sorry, love."; the rewrite read only their last line.
    from coach.adapters.scenario_files import load_library

    sc = load_library()["vent-humiliated-at-work"]
    earlier = "Don't say sorry. Please. Just let me get it out."
    alone = JUDGE.rate(JudgeContext("ok", (Line("partner", sc.opening),), sc, 1))
    assert "sorry" in alone.better_reply.lower()  # what the rewrite says without it
    history = (Line("partner", earlier), Line("user", "ok"), Line("partner", sc.opening))
    r = JUDGE.rate(JudgeContext("ok", history, sc, 2))
    assert r.better_reply and "sorry" not in r.better_reply.lower(), r.better_reply
