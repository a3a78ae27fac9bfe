"""The shipped scenario library: it loads, covers the guide, plays out, and its gold set is sane.

These tests read the real files in `scenarios/`, so a broken or thin scenario fails here.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import reduce
from pathlib import Path

import pytest

from coach.adapters.scenario_files import load_library, load_scenario
from coach.core.reading import Reading, advance_openness
from coach.core.rubric import CRITERION_KEYS
from coach.core.scenario import PRACTICES, SIGNS, Beat, Scenario, act_line_gaps
from coach.core.session import Line
from coach.core.turn import ending_for
from coach.partners.base import PartnerContext
from coach.partners.scripted import ScriptedPartner

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"
LIBRARY: dict[str, Scenario] = load_library(SCENARIO_DIR)
SCENARIOS = list(LIBRARY.values())
IDS = [s.id for s in SCENARIOS]
READINGS = [r.value for r in Reading]


def by_id(fn):
    return pytest.mark.parametrize("sc", SCENARIOS, ids=IDS)(fn)


def partner_lines(sc: Scenario) -> list[str]:
    lines = [sc.opening, sc.endings.felt_heard, sc.endings.not_heard]
    for beat in sc.beats:
        for name in Beat.model_fields:
            value = getattr(beat, name)
            if name == "moment" or value is None:
                continue
            # Every openness variant is a line the partner may say.
            lines += [value] if isinstance(value, str) else [
                v for v in (value.guarded, value.opening, value.open) if v
            ]
    return lines


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


# ------------------------------------------------------------------ the library as a whole


def test_at_least_twelve_scenarios_load():
    assert len(LIBRARY) >= 12
    files = sorted(SCENARIO_DIR.glob("*.toml"))
    assert len(files) == len(LIBRARY)
    for path in files:
        assert load_scenario(path).id == path.stem


def test_ids_are_kebab_case_file_stems():
    for path in SCENARIO_DIR.glob("*.toml"):
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", path.stem), path.name


def test_every_practice_is_rehearsed():
    covered = {s.practice for s in SCENARIOS}
    assert covered == set(PRACTICES), f"missing: {set(PRACTICES) - covered}"


def test_every_sign_is_shown():
    covered = {sign for s in SCENARIOS for sign in s.signs}
    assert covered == set(SIGNS), f"missing: {set(SIGNS) - covered}"


def test_three_difficulties_each_with_at_least_three_scenarios():
    counts = Counter(s.difficulty for s in SCENARIOS)
    for level in ("easy", "medium", "hard"):
        assert counts[level] >= 3, counts


def test_hard_scenarios_start_guarded_or_need_more():
    for sc in SCENARIOS:
        if sc.difficulty == "hard":
            assert sc.start_openness < 0 or sc.felt_heard_at > 3, sc.id


def test_partners_are_varied():
    names = [s.partner.name for s in SCENARIOS]
    assert len(set(names)) == len(names), "each scenario needs its own partner"
    pronouns = {s.partner.pronouns for s in SCENARIOS}
    assert len(pronouns) >= 3, pronouns
    ages = [s.partner.age for s in SCENARIOS if s.partner.age is not None]
    assert len(ages) == len(SCENARIOS)
    assert max(ages) - min(ages) >= 30, "partners should span ages"


def test_no_partner_line_is_shared_between_scenarios():
    owner: dict[str, str] = {}
    for sc in SCENARIOS:
        for line in set(map(_norm, partner_lines(sc))):
            assert line not in owner, f"{sc.id} repeats a line from {owner.get(line)}: {line!r}"
            owner[line] = sc.id


# ------------------------------------------------------------------ each scenario


@by_id
def test_scenario_is_complete(sc: Scenario):
    assert len(sc.beats) >= 4
    assert len(sc.signs) >= 1
    assert sc.hidden_need and sc.shuts_down and sc.opens_up
    assert sc.partner.background and sc.partner.speaking_style and sc.partner.mood
    assert all(b.moment for b in sc.beats), "every beat names its moment"
    assert sc.endings.felt_heard != sc.endings.not_heard


@by_id
def test_every_beat_answers_what_a_reply_did(sc: Scenario):
    assert act_line_gaps(sc) == []


@by_id
def test_weights_cover_every_criterion(sc: Scenario):
    assert set(sc.weights) == set(CRITERION_KEYS)
    assert max(sc.weights.values()) > min(sc.weights.values()), "weights should fit the moment"


@by_id
def test_readings_of_a_beat_have_distinct_lines(sc: Scenario):
    for i, beat in enumerate(sc.beats):
        lines = [_norm(beat.line(r)) for r in Reading]
        assert len(set(lines)) == len(READINGS), f"beat {i + 1} repeats a line"


@by_id
def test_no_line_repeats_within_a_scenario(sc: Scenario):
    lines = Counter(map(_norm, partner_lines(sc)))
    repeated = [line for line, n in lines.items() if n > 1]
    assert not repeated, repeated


# ------------------------------------------------------------------ openness and endings


def _final_openness(sc: Scenario, readings: list[Reading]) -> int:
    return reduce(advance_openness, readings, sc.start_openness)


@by_id
@pytest.mark.parametrize(
    ("reading", "expected"),
    [
        (Reading.HEARD, "felt_heard"),
        (Reading.DISMISSING, "not_heard"),
        (Reading.FIXING, "not_heard"),
        (Reading.SELF_FOCUSED, "not_heard"),
        (Reading.NEUTRAL, "not_heard"),
    ],
)
def test_ending_follows_the_replies(sc: Scenario, reading: Reading, expected: str):
    openness = _final_openness(sc, [reading] * sc.turns)
    assert ending_for(sc, openness) == expected


@by_id
def test_one_fumble_among_strong_replies_is_forgiven(sc: Scenario):
    for slip in range(sc.turns):
        readings = [Reading.HEARD] * sc.turns
        readings[slip] = Reading.FIXING
        assert ending_for(sc, _final_openness(sc, readings)) == "felt_heard", slip


def _play(sc: Scenario, reading: Reading) -> list[str]:
    """Drive the scripted partner through a whole session where every reply reads alike."""
    partner = ScriptedPartner()
    history: list[Line] = [Line("partner", sc.opening)]
    openness = sc.start_openness
    said: list[str] = []
    for turn in range(1, sc.turns + 1):
        history.append(Line("user", f"reply {turn}"))
        openness = advance_openness(openness, reading)
        ending = ending_for(sc, openness) if turn == sc.turns else None
        ctx = PartnerContext(
            scenario=sc,
            history=tuple(history),
            reading=reading,
            openness=openness,
            turn=turn,
            ending=ending,
        )
        line = "".join(partner.respond(ctx))
        history.append(Line("partner", line))
        said.append(line)
    return said


@by_id
def test_scripted_play_all_heard_ends_felt_heard(sc: Scenario):
    said = _play(sc, Reading.HEARD)
    assert said[:-1] == [b.heard for b in sc.beats]
    assert said[-1] == sc.endings.felt_heard


@by_id
def test_scripted_play_all_dismissing_ends_not_heard(sc: Scenario):
    said = _play(sc, Reading.DISMISSING)
    assert said[:-1] == [b.dismissing for b in sc.beats]
    assert said[-1] == sc.endings.not_heard


@by_id
def test_scripted_play_all_fixing_pushes_back_and_ends_not_heard(sc: Scenario):
    said = _play(sc, Reading.FIXING)
    assert said[:-1] == [b.fixing for b in sc.beats]
    assert said[-1] == sc.endings.not_heard


# ------------------------------------------------------------------ the gold examples

INVITATIONS = ("tell me", "i want to hear", "i'd like to hear", "i'd really like to hear")
KIND_NOTE = re.compile(r"\b(sounds|kind|loving|supportive|helpful)\b")
HARM_NOTE = re.compile(r"\b(fixes|dismisses|minimizes)\b")


@by_id
def test_examples_cover_strong_mixed_and_poor(sc: Scenario):
    assert len(sc.examples) >= 6
    qualities = Counter(ex.quality for ex in sc.examples)
    assert {"strong", "mixed", "poor"} <= set(qualities), qualities


@by_id
def test_examples_spread_over_turns(sc: Scenario):
    turns = {ex.turn for ex in sc.examples}
    assert len(turns) >= 3, turns
    assert all(1 <= t <= sc.turns for t in turns)


@by_id
def test_examples_name_enough_levels(sc: Scenario):
    for ex in sc.examples:
        assert 4 <= len(ex.levels) <= 8, ex.reply


@by_id
def test_one_example_sounds_kind_but_fixes_or_dismisses(sc: Scenario):
    flagged = [
        ex
        for ex in sc.examples
        if KIND_NOTE.search(ex.note.lower()) and HARM_NOTE.search(ex.note.lower())
    ]
    assert flagged, "add an example that sounds kind but fixes or dismisses, with a note"
    for ex in flagged:
        assert ex.quality != "strong"
        assert ex.levels.get("no_fixing", 2) == 0 or ex.levels.get("no_dismissing", 2) <= 1


@by_id
def test_strong_examples_have_no_zero_and_a_high_mean(sc: Scenario):
    for ex in sc.examples:
        if ex.quality == "strong":
            levels = list(ex.levels.values())
            assert 0 not in levels, ex.reply
            assert sum(levels) / len(levels) >= 1.5, ex.reply


@by_id
def test_poor_examples_have_a_zero(sc: Scenario):
    for ex in sc.examples:
        if ex.quality == "poor":
            assert 0 in ex.levels.values(), ex.reply


@by_id
def test_mixed_examples_sit_between(sc: Scenario):
    for ex in sc.examples:
        if ex.quality == "mixed":
            levels = list(ex.levels.values())
            assert 0 < sum(levels) / len(levels) < 1.75, ex.reply


@by_id
def test_exploration_levels_match_questions(sc: Scenario):
    for ex in sc.examples:
        text = ex.reply.lower()
        invites = "?" in text or any(phrase in text for phrase in INVITATIONS)
        level = ex.levels.get("exploration")
        if level is not None and level >= 1:
            assert invites, f"exploration {level} without a question: {ex.reply}"
        if level == 0:
            assert "?" not in text, f"exploration 0 but asks a question: {ex.reply}"


@by_id
def test_minimizing_phrases_score_zero_on_no_dismissing(sc: Scenario):
    for ex in sc.examples:
        text = ex.reply.lower()
        if "at least" in text or "calm down" in text:
            assert ex.levels.get("no_dismissing") == 0, ex.reply


@by_id
def test_advice_phrases_score_zero_on_no_fixing(sc: Scenario):
    for ex in sc.examples:
        text = ex.reply.lower()
        if "you should" in text or "have you tried" in text:
            assert ex.levels.get("no_fixing") == 0, ex.reply


@by_id
def test_dont_worry_is_at_most_a_mild_brush_off(sc: Scenario):
    for ex in sc.examples:
        if "don't worry" in ex.reply.lower():
            assert ex.levels.get("no_dismissing", 0) <= 1, ex.reply
            assert ex.quality != "strong", ex.reply


@by_id
def test_self_stories_score_low_on_stays_with_them(sc: Scenario):
    pattern = re.compile(r"\b(when my|happened to me|i felt just like|for me too|awkward for me)\b")
    for ex in sc.examples:
        if pattern.search(ex.reply.lower()):
            assert ex.levels.get("stays_with_them") == 0, ex.reply


@by_id
def test_asks_needs_two_means_a_real_question(sc: Scenario):
    for ex in sc.examples:
        if ex.levels.get("asks_needs") == 2:
            text = ex.reply.lower()
            assert "?" in text or "if you want" in text or "or i can" in text, ex.reply
