"""Validity is a gate: the built-in judge's dev figures stay above the floors in
evals/floors.toml (on the lower 95% bootstrap bound), and the gate itself can fail.

The dev data is read as tests/data_paths.py says: missing data skips, or fails under
COACH_REQUIRE_DATA=1 (CI). A dataset whose floors are not set yet is skipped with a message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.core.errors import CoachError
from coach.core.rubric import CriterionScore
from coach.evaluation import codes
from coach.evaluation.floors import CRITERIA, DEFAULT_PATH, check_floors, load_floors
from coach.evaluation.scoring import score_dataset as score
from tests.data_paths import dev_group, load_dev, rated_dev

FLOORS = Path(__file__).resolve().parents[1] / "evals" / "floors.toml"
ROUNDS = 1000  # the floors are set on 1,000 resamples (seed 0)


@pytest.fixture
def epitome_run():
    return rated_dev("epitome")


def test_the_floors_file_is_where_the_harness_looks_and_reads_cleanly() -> None:
    assert FLOORS == DEFAULT_PATH
    floors = load_floors(FLOORS)
    assert set(floors) == set(CRITERIA)
    assert set(floors["epitome"]) == set(CRITERIA["epitome"])  # every mechanism is gated


# The users of one dev set's ratings on one worker: it is rated once (--dist loadgroup).
@dev_group("epitome")
def test_epitome_dev_figures_meet_their_floors(epitome_run) -> None:
    items, ratings = epitome_run
    result = score("epitome", items, ratings, "heuristic", ROUNDS)
    assert check_floors({"epitome": result}, load_floors(FLOORS)) == []


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=dev_group(n)) for n in ("esconv", "annomi")]
)
def test_act_dataset_dev_figures_meet_their_floors(name: str) -> None:
    load_dev(name)  # the real file must at least read cleanly
    floors = load_floors(FLOORS)
    if not floors[name]:
        pytest.skip(
            f"no floors for {name} in evals/floors.toml yet: they are set from the act "
            "tagger's dev figures (today's judge tags no acts)"
        )
    items, ratings = rated_dev(name)
    result = score(name, items, ratings, "heuristic", ROUNDS)
    assert check_floors({name: result}, floors) == []


@dev_group("epitome")
def test_halving_one_mechanism_fails_the_gate(epitome_run) -> None:
    """Half of the replies with warmth lose it (a rule change that halves emotional
    reactions): that floor fails, the other two still hold."""
    items, ratings = epitome_run
    damaged, dropped = [], 0
    for rs in ratings:
        r = rs[0]
        if (r.level("warmth") or 0) > 0:
            dropped += 1
            if dropped % 2:
                r = r.model_copy(update={"scores": {**r.scores, "warmth": CriterionScore(level=0)}})
        damaged.append([r])
    result = score("epitome", items, damaged, "heuristic", ROUNDS)
    failures = check_floors({"epitome": result}, load_floors(FLOORS))
    assert [f.split(":")[0] for f in failures] == ["epitome.emotional_reactions"], failures


# ------------------------------------------------------------------ the gate itself


def test_check_floors_reads_the_lower_bound() -> None:
    floors = {"epitome": {"explorations": 0.5}, "esconv": {"question": 0.6},
              "annomi": {"ratio": 0.1}}
    report = {
        "epitome": {"explorations": {"macro_f1": 0.7, "macro_f1_ci95": [0.49, 0.8]}},
        "esconv": {"question": {"f1": 0.65, "f1_ci95": [0.6, 0.7]}},
        "annomi": {"ratio": {"spearman": 0.3, "spearman_ci95": [0.05, 0.5]}},
    }
    assert check_floors(report, floors) == [
        "epitome.explorations: lower 95% bound 0.490 < floor 0.50",  # point 0.7 is not enough
        "annomi.ratio: lower 95% bound 0.050 < floor 0.10",
    ]
    assert check_floors({"esconv": report["esconv"]}, floors) == []  # absent datasets: unchecked


def test_a_floor_without_an_interval_is_not_met() -> None:
    floors = {"esconv": {"question": 0.6}}
    failures = check_floors({"esconv": {"question": {"f1": 0.9}}}, floors)
    assert failures == ["esconv.question: no 95% interval to check (floor 0.60)"]
    assert check_floors({"esconv": {}}, floors)  # the code is missing from the report


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[epitom]\nexplorations = 0.5\n", "unknown dataset [epitom]"),
        ("[epitome]\nexploration = 0.5\n", "[epitome] exploration is not a criterion"),
        ("[esconv]\nquestion = 'high'\n", "question = 'high' is not a number from -1 to 1"),
        ("[esconv]\nquestion = 1.5\n", "is not a number from -1 to 1"),
        ("[esconv]\nquestion = true\n", "is not a number"),
        ("epitome = 0.5\n", "epitome must be a table"),
        ("[esconv\n", "not valid TOML"),
    ],
)
def test_malformed_floors_file_is_a_message(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "floors.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CoachError) as e:
        load_floors(path)
    assert str(path) in str(e.value) and needle in str(e.value)


def test_every_code_can_carry_a_floor() -> None:
    assert set(CRITERIA["esconv"]) == {c.key for c in codes.ESCONV_CODES}
    assert set(CRITERIA["annomi"]) == {c.key for c in codes.ANNOMI_CODES} | {"ratio"}


def test_eval_floors_flag_exits_1_when_a_floor_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from coach.cli import main
    from tests.test_eval_codes import write_esconv

    esc = write_esconv(tmp_path / "esc")
    floors = tmp_path / "floors.toml"
    # Whatever the judge tags, an F1's lower bound is never under -1, and with the bootstrap
    # off there is no interval to read: the outcome does not depend on today's rules.
    floors.write_text("[esconv]\nquestion = -1.0\n", encoding="utf-8")
    args = ["eval", "-q", "--no-robustness", "--no-cache", "--bootstrap", "20",
            "--dataset", f"esconv={esc}", "--floors", str(floors)]
    assert main(args) == 0 and "every floor met" in capsys.readouterr().out
    no_interval = [a if a != "20" else "0" for a in args]
    assert main(no_interval) == 1
    assert "FAILED esconv.question: no 95% interval to check" in capsys.readouterr().out
    missing = [*args[:-4], "--dataset", f"esconv={tmp_path / 'nowhere'}", *args[-2:]]
    assert main(missing) == 1  # asked for, not there: its floors cannot pass by a skip
    assert "esconv: skipped, so its floors were not checked" in capsys.readouterr().out
    floors.write_text("[esconv]\nquestoin = 0.0\n", encoding="utf-8")
    assert main(args) == 2  # a typo in the file is a user error, before any rating
    assert "questoin is not a criterion" in capsys.readouterr().err


def test_missing_data_skips_or_fails_under_coach_require_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COACH_ESCONV_DIR", str(tmp_path / "nowhere"))
    monkeypatch.delenv("COACH_REQUIRE_DATA", raising=False)
    with pytest.raises(pytest.skip.Exception, match="set COACH_ESCONV_DIR"):
        load_dev("esconv")
    monkeypatch.setenv("COACH_REQUIRE_DATA", "1")
    with pytest.raises(pytest.fail.Exception, match="COACH_REQUIRE_DATA=1"):
        load_dev("esconv")
