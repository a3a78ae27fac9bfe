"""The scenario schema (coach/core/scenario.py), parsed from TOML text: the lines a beat says,
the act lines a file still lacks, and one readable line per problem in a broken file."""

from __future__ import annotations

import pytest

from coach.adapters.scenario_files import default_scenario_dir
from coach.core.errors import ScenarioError
from coach.core.reading import Reading
from coach.core.response import Response
from coach.core.scenario import (
    MAX_SCENARIO_BYTES,
    Beat,
    Variants,
    act_line_gaps,
    parse_scenario,
)

VALID = (default_scenario_dir() / "vent-humiliated-at-work.toml").read_text()
# The same file without its weights and examples, to write them anew.
_W = VALID.index("[weights]")
_HEAD, _BODY = VALID[:_W], VALID[VALID.index("[[beats]]"):VALID.index("[[examples]]")]


def _file(weights: str = "", examples: str = "") -> str:
    return f"{_HEAD}[weights]\n{weights}\n\n{_BODY}{examples}"


def _parse(text: str = VALID, default_id: str = "mine") -> object:
    return parse_scenario(text, source="mine.toml", default_id=default_id)


def _error(text: str) -> str:
    with pytest.raises(ScenarioError) as e:
        _parse(text)
    return str(e.value)


READING_LINES = dict(heard="H", fixing="F", dismissing="D", self_focused="S", neutral="N")


# ------------------------------------------------------------------ what a beat says


def test_a_band_left_out_uses_the_nearest_one_written() -> None:
    v = Variants(guarded="retreat", open="prod")
    assert (v.pick("guarded"), v.pick("opening"), v.pick("open")) == ("retreat", "prod", "prod")
    assert Variants(opening="only").pick("open") == "only"
    assert Variants(opening="only").pick("guarded") == "only"
    assert Variants(guarded="g").pick("open") == "g"
    assert Variants(guarded="g", opening="o").pick("open") == "o"
    assert Variants(guarded="g", opening="o", open="p").pick("opening") == "o"
    assert Variants(opening="o", open="p").pick("guarded") == "o"
    assert Variants(open="p").pick("guarded") == "p"  # the last resort of each band
    assert Variants(guarded="g").pick("opening") == "g"


def test_variants_need_at_least_one_band() -> None:
    with pytest.raises(ValueError, match="write at least one of guarded, opening, open"):
        Variants()


def test_a_beat_says_its_act_line_then_the_fallbacks_then_the_reading_line() -> None:
    beat = Beat(**READING_LINES, answer="A", bare=Variants(guarded="retreat", open="prod"))
    assert beat.says(Response.ANSWER, Reading.HEARD) == "A"
    assert beat.says(Response.BARE, Reading.NEUTRAL, openness=-3) == "retreat"
    assert beat.says(Response.BARE, Reading.NEUTRAL, openness=4) == "prod"
    assert beat.says(Response.PUT_DOWN, Reading.HEARD) == "D"  # put_down falls back to dismissing
    assert beat.says(Response.MORE, Reading.FIXING) == "F"  # no `more`: the reading's line
    assert Beat(**READING_LINES).says(Response.BARE, Reading.HEARD) == "N"  # bare -> neutral
    assert beat.line(Reading.SELF_FOCUSED) == "S"
    varied = Beat(**{**READING_LINES, "heard": Variants(guarded="g", open="o")})
    assert varied.says(Response.MORE, Reading.HEARD, openness=-3) == "g"  # at its openness


def test_a_reading_line_may_vary_by_openness() -> None:
    beat = Beat(**{**READING_LINES, "heard": Variants(guarded="g", open="o")})
    assert beat.line(Reading.HEARD, openness=-2) == "g"
    assert beat.line(Reading.HEARD) == "o"  # openness 0 is "opening": it leans open


def test_the_act_lines_a_beat_lacks_are_named_in_order() -> None:
    assert Beat(**READING_LINES, more="M", bare="B").missing() == ["answer", "apology", "put_down"]
    full = dict(answer="A", more="M", apology="P", put_down="X", bare="B")
    assert Beat(**READING_LINES, **full).missing() == []


# ------------------------------------------------------------------ the schema


def test_a_valid_file_parses_with_its_file_stem_as_the_default_id() -> None:
    sc = _parse()
    assert sc.id == "mine" and sc.turns == len(sc.beats) + 1
    assert _parse(VALID.replace('title = "', 'id = "own-id"\ntitle = "', 1)).id == "own-id"


def test_a_weight_defaults_to_one() -> None:
    sc = _parse(_file("warmth = 2.5"))
    assert sc.weight("warmth") == 2.5 and sc.weight("validation") == 1.0


def test_weights_must_name_criteria_and_stay_between_0_and_5() -> None:
    msg = _error(_file("kindness = 2"))
    assert "weights: unknown criteria ['kindness']; use any of warmth, " in msg
    for bad in ("-1", "5.5"):
        msg = _error(_file(f"warmth = {bad}"))
        assert "weights must be between 0 and 5, got {'warmth': " in msg
    assert _parse(_file("warmth = 0\nvalidation = 5")).weight("validation") == 5


def _with_example(turn: int, levels: str) -> str:
    return _file(examples=f'\n[[examples]]\nturn = {turn}\nreply = "I hear you."\n'
                 f'quality = "mixed"\nlevels = {levels}\n')


def test_an_example_is_checked_against_the_rubric_and_the_beats() -> None:
    turns = _parse().turns
    assert _parse(_with_example(turns, "{ warmth = 2, validation = 0 }")).examples[0].turn == turns
    msg = _error(_with_example(turns + 1, "{ warmth = 2 }"))
    assert f"examples[0].turn is {turns + 1}, but the scenario has {turns} user turns" in msg
    assert "unknown criteria ['kindness']; use any of warmth" in _error(
        _with_example(1, "{ kindness = 1 }"))
    assert "levels must be 0, 1 or 2, got {'warmth': 3}" in _error(
        _with_example(1, "{ warmth = 3 }"))
    assert "levels must be 0, 1 or 2, got {'warmth': -1}" in _error(
        _with_example(1, "{ warmth = -1 }"))
    assert "give at least one criterion level" in _error(_with_example(1, "{ }"))


# ------------------------------------------------------------------ act lines a file lacks


def _without_act_lines(text: str, keep: tuple[str, ...] = ()) -> str:
    drop = tuple(f"{f} = " for f in ("answer", "more", "apology", "put_down", "bare")
                 if f not in keep)
    return "\n".join(ln for ln in text.split("\n") if not ln.startswith(drop))


def test_a_file_with_every_act_line_has_no_gaps() -> None:
    assert act_line_gaps(_parse()) == []


def test_the_gaps_name_each_beat_and_explain_only_the_missing_fields() -> None:
    sc = _parse(_without_act_lines(VALID, keep=("answer", "more", "apology")))
    gaps = act_line_gaps(sc)
    assert gaps[:-1] == [f"beats[{i}]: add put_down, bare" for i in range(len(sc.beats))]
    assert gaps[-1] == (
        "what each line is: put_down = hurt or withdrawal at a put-down; bare = a prod or a "
        "retreat after a bare 'ok' (see 'What the reply did' in scenarios/AUTHORING.md)"
    )


def test_the_explanation_follows_the_field_order_whichever_beat_lacks_what() -> None:
    sc = _parse()
    beats = list(sc.beats)
    beats[0] = beats[0].model_copy(update={"bare": None})
    beats[1] = beats[1].model_copy(update={"answer": None})
    gaps = act_line_gaps(sc.model_copy(update={"beats": beats}))
    assert gaps[:2] == ["beats[0]: add bare", "beats[1]: add answer"] and len(gaps) == 3
    assert gaps[2].startswith("what each line is: answer = the answer to an open question")
    assert "; bare = a prod" in gaps[2] and "more =" not in gaps[2]


# ------------------------------------------------------------------ one line per problem


def test_every_problem_names_the_file_and_the_field() -> None:
    text = VALID.replace("hidden_need = ", "hiden_need = ", 1).replace(
        'difficulty = "easy"\n', "")
    lines = _error(text).split("\n")
    assert lines[0] == "mine.toml: not a valid scenario:"
    assert "  - difficulty: required field is missing" in lines
    assert "  - hiden_need: unknown field (check the spelling; see scenarios/AUTHORING.md)" in lines
    assert "  - hidden_need: required field is missing" in lines


def test_a_nested_field_is_named_by_its_path() -> None:
    msg = _error(VALID.replace("name = ", "nme = ", 1))
    assert "  - partner.nme: unknown field" in msg
    bad_beat = VALID.replace("heard = ", "herd = ", 1)
    assert "  - beats[0].herd: unknown field" in _error(bad_beat)


def test_a_top_level_field_under_a_table_says_to_move_it() -> None:
    msg = _error(VALID + '\nopening = "again"\n')
    assert "'opening' is a top-level field, but it sits under a [table]." in msg
    assert "move it above the first [table]" in msg
    msg = _error(VALID.replace("[endings]\n", '[endings]\ntitle = "again"\n', 1))
    assert "  - endings.title: 'title' is a top-level field, but it sits under a [table]." in msg


def test_a_bad_id_says_how_to_name_the_file() -> None:
    msg = _error(VALID.replace('title = "', 'id = "My Scenario"\ntitle = "', 1))
    assert "  - id: ids are lowercase letters, digits and dashes; rename the file (e.g. " \
        'my-scenario.toml) or set id = "my-scenario" in it' in msg
    msg = _error(VALID.replace('title = "', 'id = 5\ntitle = "', 1))  # not a pattern problem
    assert "  - id: Input should be a valid string" in msg and "rename" not in msg


def test_a_problem_with_no_field_is_said_without_one() -> None:
    msg = _error(_with_example(99, "{ warmth = 1 }"))
    assert "\n  - examples[0].turn is 99" in msg  # the scenario's own check: no field prefix
    assert "(top level)" not in msg and "Value error" not in msg


def test_a_value_error_keeps_its_message_without_the_prefix() -> None:
    msg = _error(VALID.replace("start_openness = 0", "start_openness = 9", 1))
    assert "  - start_openness: Input should be less than or equal to 5" in msg


def test_text_that_is_not_toml_names_the_file_and_the_line() -> None:
    msg = _error('title = "unclosed\n')
    assert msg.startswith("mine.toml: not valid TOML: ") and "line 1" in msg


def test_too_deep_nesting_is_one_line() -> None:
    msg = _error("x = " + "[" * 5000 + "]" * 5000)
    assert msg == ("mine.toml: arrays or tables are nested too deeply to read; a scenario "
                   "needs only a few levels (see scenarios/AUTHORING.md).")


def test_a_file_over_the_size_cap_is_refused_before_it_is_read() -> None:
    big = "# " + "x" * MAX_SCENARIO_BYTES
    assert _error(big) == (
        f"mine.toml: the file is larger than {MAX_SCENARIO_BYTES // 1024} KiB, far more than "
        "a scenario needs (the shipped ones are under 10 KiB); shorten it.")
    wide = "# " + "é" * (MAX_SCENARIO_BYTES // 2 + 1)  # under the cap in characters, not bytes
    assert "larger than" in _error(wide)
    at_the_cap = VALID + "#" * (MAX_SCENARIO_BYTES - len(VALID.encode()))
    assert _parse(at_the_cap).id == "mine"
