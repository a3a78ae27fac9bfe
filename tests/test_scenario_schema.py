"""Scenario files: every shipped one loads; each kind of broken file gets a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.adapters.scenario_files import default_scenario_dir, load_library, load_scenario
from coach.cli import main
from coach.core.errors import ScenarioError

SHIPPED = sorted(default_scenario_dir().glob("*.toml"))
VALID = (default_scenario_dir() / "vent-humiliated-at-work.toml").read_text()


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_scenario_loads(path: Path) -> None:
    sc = load_scenario(path)
    assert sc.id == path.stem
    assert len(sc.beats) >= 4
    assert sc.turns == len(sc.beats) + 1


def test_library_has_the_vent_scenario_and_at_least_three(library) -> None:
    assert "vent-humiliated-at-work" in library
    assert len(library) >= 3


def _write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


BROKEN = [
    # (how to break the valid file, words the message must contain)
    (lambda s: s.replace('title = "', "title = ", 1), ["not valid TOML", "line"]),
    (lambda s: s.replace('difficulty = "easy"\n', ""), ["difficulty", "required field is missing"]),
    (lambda s: s.replace("hidden_need = ", "hiden_need = ", 1), ["hiden_need", "unknown field"]),
    (lambda s: s.replace('difficulty = "easy"', 'difficulty = "brutal"'), ["difficulty", "easy"]),
    (
        lambda s: s.replace('practice = "active listening"', 'practice = "listening"'),
        ["practice", "active listening"],
    ),
    (lambda s: s.replace("no_fixing = 3", "no_fixes = 3"), ["weights", "no_fixes"]),
    (lambda s: s.replace("turn = 3", "turn = 9", 1), ["  - examples[5].turn is 9"]),
    (
        lambda s: s.replace("start_openness = 0\n", "") + "\nstart_openness = 0\n",
        ["start_openness", "top-level field", "move it above the first [table]"],
    ),
    (lambda s: s.replace("warmth = 2,", "warmth = 7,", 1), ["examples[0]", "0, 1 or 2"]),
    (lambda s: s.replace("age = 34", 'age = "thirty"'), ["partner.age", "integer"]),
    (
        lambda s: s.replace('neutral = "Yeah. It was bad.', 'neutrall = "Yeah. It was bad.'),
        ["beats[0]", "neutral"],
    ),
]


@pytest.mark.parametrize(("breaker", "words"), BROKEN)
def test_broken_file_gets_a_message_naming_file_and_field(tmp_path, breaker, words) -> None:
    broken = breaker(VALID)
    assert broken != VALID, "the breaker did not change the file"
    path = _write(tmp_path, broken)
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    msg = str(e.value)
    assert str(path) in msg
    for w in words:
        assert w in msg, msg
    assert "Traceback" not in msg


def test_file_name_that_is_not_an_id_says_to_rename(tmp_path) -> None:
    with pytest.raises(ScenarioError, match="rename the file"):
        load_scenario(_write(tmp_path, VALID, "My_Scenario.toml"))


def test_unreachable_felt_heard_threshold_is_refused(tmp_path) -> None:
    with pytest.raises(ScenarioError, match="felt_heard_at"):
        load_scenario(_write(tmp_path, VALID.replace("felt_heard_at = 4", "felt_heard_at = 6")))


def test_missing_file_and_duplicate_ids(tmp_path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.toml")
    _write(tmp_path, VALID, "a.toml")
    _write(tmp_path, 'id = "a"\n' + VALID, "b.toml")
    with pytest.raises(ScenarioError, match="already used"):
        load_library(tmp_path)


def test_check_command_reports_each_file(tmp_path, capsys) -> None:
    good = _write(tmp_path, VALID, "good.toml")
    bad = _write(tmp_path, VALID.replace("opening = ", "openin = "), "bad.toml")
    assert main(["scenarios", "--check", str(good)]) == 0
    assert "good.toml: ok" in capsys.readouterr().out
    assert main(["scenarios", "--check", str(good), str(bad)]) == 2
    out = capsys.readouterr().out
    assert "good.toml: ok" in out
    assert "bad.toml" in out and "openin" in out and "opening" in out


def test_scenarios_command_lists_ids_first(library, capsys) -> None:
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split()[0] for ln in lines] == list(library)
    vent = next(ln for ln in lines if ln.startswith("vent-humiliated-at-work"))
    assert "active listening" in vent and vent.rstrip().endswith("easy")
