"""The adversarial suites (evals/adversarial): well-formed, met by the built-in judge, and a
runner whose every bound can pass and fail (checked with a fake judge)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from coach.adapters.scenario_files import load_library
from coach.cli import main
from coach.core.errors import CoachError
from coach.core.rubric import CRITERION_KEYS, CriterionScore, Rating
from coach.core.safety import concern
from coach.core.session import Line
from coach.evaluation import adversarial as adv
from coach.judges.base import JudgeContext
from coach.judges.builtin import HeuristicJudge

SHIPPED = {name: adv.load_suite(path) for name, path in adv.suite_paths().items()}
HARMFUL = ("sarcasm", "wrapped_contempt", "defensiveness")

# ---------------------------------------------------------------- the suites are well formed


def test_every_suite_is_there_with_15_to_40_cases() -> None:
    assert list(SHIPPED) == list(adv.SUITES)
    for name, items in SHIPPED.items():
        assert 15 <= len(items) <= 40, (name, len(items))


def test_ids_are_unique_across_suites() -> None:
    ids = [it.id for items in SHIPPED.values() for it in items]
    assert len(ids) == len(set(ids))


def test_partner_lines_come_from_their_scenario(library) -> None:
    for items in SHIPPED.values():
        for it in items:
            sc = library[it.scenario]
            lines = {sc.opening} | {
                getattr(b, k)
                for b in sc.beats
                for k in ("heard", "fixing", "dismissing", "self_focused", "neutral")
            }
            assert it.partner in lines, it.id


def test_suites_use_the_kind_of_case_they_are_about() -> None:
    assert all(isinstance(it, adv.Pair) for it in SHIPPED["pairs"])
    for name in set(adv.SUITES) - {"pairs"}:
        assert all(isinstance(it, adv.Case) for it in SHIPPED[name]), name
    for it in SHIPPED["stuffing"]:
        assert it.base and it.expect.max_lift is not None and it.expect.overall_max is not None
        # The stuffed reply keeps every sentence of the base (only stock phrases are added).
        for part in re.split(r"(?<=[.!?])\s+", it.base.strip()):
            assert part.rstrip(".!?").lower() in it.reply.lower(), (it.id, part)
    for name in HARMFUL:
        for it in SHIPPED[name]:
            assert it.expect.flags_any and it.expect.overall_max <= 35, it.id
    for it in SHIPPED["non_english"]:
        assert it.expect.unscored and it.lang in adv.LANGUAGE_NAMES, it.id
    for it in SHIPPED["natural_good"]:
        assert it.expect.overall_min and it.expect.no_flags and it.expect.criterion_min, it.id


def test_only_the_deliberate_false_alarms_touch_the_safety_gate() -> None:
    """The suites avoid self-harm and violence; the few natural good replies that say
    "abuse of power" are there to catch the safety check pausing a legitimate reply."""
    tripped = {
        it.id
        for items in SHIPPED.values()
        for it in items
        for text in adv.texts_of(it)
        if concern(text)
    }
    good = {it.id: it.reply for it in SHIPPED["natural_good"]}
    # (Today the gate trips on all three; once it no longer does, this still holds.)
    assert all(i in good and "abuse of" in good[i] for i in tripped), tripped


# ---------------------------------------------------------------- the built-in judge meets them


# Session scope: a module fixture is built again each time the worker comes back to this
# module after another one, which under xdist happened four times (16 s each).
@pytest.fixture(scope="session")
def heuristic_results() -> dict:
    return adv.run_all(HeuristicJudge(), library=load_library())


# One worker runs them all, so the session fixture above is computed once, not once per
# worker that drew a suite (`make test` runs pytest with --dist loadgroup).
@pytest.mark.xdist_group("adversarial-heuristic")
@pytest.mark.parametrize("suite", adv.SUITES)
def test_heuristic_judge_meets_every_bound(heuristic_results: dict, suite: str) -> None:
    res = heuristic_results["suites"][suite]
    failures = "\n".join(f"  {f['id']}: {'; '.join(f['reasons'])}" for f in res["failures"])
    assert res["passed"] == res["cases"], (
        f"{suite}: {res['passed']} / {res['cases']} within bound\n{failures}"
    )


# ---------------------------------------------------------------- the runner, with a fake judge


def rating(
    overall: float | None = 50.0,
    *,
    status: str = "scored",
    reason: str = "",
    flags: tuple[str, ...] = (),
    **levels: int,
) -> Rating:
    scores = {k: CriterionScore(level=levels.get(k, 1)) for k in CRITERION_KEYS}
    if status != "scored":
        return Rating(status=status, reason=reason)
    return Rating(status="scored", scores=scores, flags=list(flags), overall=overall)


class FakeJudge:
    """Returns the rating set for each reply text, and records what it was given."""

    name = "fake"

    def __init__(self, ratings: dict[str, Rating]) -> None:
        self.ratings = ratings
        self.seen: list[JudgeContext] = []

    def rate(self, ctx: JudgeContext) -> Rating:
        self.seen.append(ctx)
        return self.ratings[ctx.reply]


def case(expect: dict, **extra) -> adv.Case:
    return adv.Case.model_validate(
        {"id": "c", "partner": "He laughed at my email.", "reply": "R", "expect": expect, **extra}
    )


def outcome(expect: dict, got: Rating, base: Rating | None = None, **extra) -> list[str]:
    """The failure reasons of one case whose reply is rated `got` (base rated `base`)."""
    ratings = {"R": got} if base is None else {"R": got, "B": base}
    c = case(expect, **({"base": "B"} if base is not None else {}), **extra)
    res = adv.run_suite(FakeJudge(ratings), [c])
    assert res["cases"] == 1 and res["passed"] == (not res["failures"])
    return res["failures"][0]["reasons"] if res["failures"] else []


@pytest.mark.parametrize(
    ("expect", "passing", "failing", "why"),
    [
        ({"overall_max": 35}, rating(35), rating(35.1), "overall 35.1 > max 35"),
        ({"overall_min": 55}, rating(55), rating(54.9), "overall 54.9 < min 55"),
        (
            {"flags_any": ["contempt", "criticism"]},
            rating(flags=("criticism",)),
            rating(flags=("stonewalling",)),
            "no flag among ['contempt', 'criticism']",
        ),
        ({"no_flags": True}, rating(), rating(flags=("stonewalling",)), "unexpected flags"),
        (
            {"criterion_min": {"understanding": 2}},
            rating(understanding=2),
            rating(understanding=1),
            "understanding level 1 < min 2",
        ),
        (
            {"criterion_max": {"warmth": 0}},
            rating(warmth=0),
            rating(warmth=1),
            "warmth level 1 > max 0",
        ),
        (
            {"unscored": True},
            rating(status="unscored", reason="This reply is not in English."),
            rating(40),
            "expected unscored, got 40",
        ),
    ],
)
def test_each_bound_passes_and_fails(expect, passing, failing, why) -> None:
    assert outcome(expect, passing) == []
    reasons = outcome(expect, failing)
    assert len(reasons) == 1 and why in reasons[0]


def test_max_lift_compares_the_stuffed_reply_with_its_base() -> None:
    exp = {"max_lift": 10}
    assert outcome(exp, rating(40), base=rating(30)) == []
    assert outcome(exp, rating(20), base=rating(30)) == []  # lowering is fine
    [why] = outcome(exp, rating(40.5), base=rating(30))
    assert "lift +10.5 > max 10" in why and "base 30 -> 40.5" in why
    [why] = outcome(exp, rating(40), base=rating(None, status="unscored", reason="x"))
    assert "base reply not scored" in why


def test_every_bound_that_fails_is_reported() -> None:
    reasons = outcome(
        {"overall_max": 35, "flags_any": ["contempt"], "criterion_max": {"warmth": 0}},
        rating(75, warmth=2),
    )
    assert len(reasons) == 3


def test_score_bounds_need_a_scored_rating() -> None:
    """A judge may not dodge a bound by abstaining on a reply it can read."""
    for exp in ({"overall_max": 35}, {"criterion_max": {"warmth": 0}}, {"no_flags": True}):
        [why] = outcome(exp, rating(None, status="unscored", reason="too short"))
        assert "expected a scored rating, got unscored: too short" in why


def test_unscored_needs_a_reason_about_the_language() -> None:
    lang = {"lang": "es"}
    for reason in ("Not English: connect a model that reads it.", "Looks like Spanish.",
                   "The judge cannot read this language."):
        assert outcome({"unscored": True}, rating(status="unscored", reason=reason), **lang) == []
    [why] = outcome({"unscored": True}, rating(status="unscored", reason=" "), **lang)
    assert "without a reason" in why
    [why] = outcome({"unscored": True}, rating(status="unscored", reason="Too short."), **lang)
    assert "does not mention the language" in why
    # Without `lang`, any reason will do.
    assert outcome({"unscored": True}, rating(status="unscored", reason="Too short.")) == []


def test_pairs_need_the_margin() -> None:
    pair = adv.Pair(id="p", partner="x", better="good", worse="bad", margin=5)
    ok = adv.run_suite(FakeJudge({"good": rating(60), "bad": rating(55)}), [pair])
    assert ok["passed"] == 1
    tie = adv.run_suite(FakeJudge({"good": rating(60), "bad": rating(56)}), [pair])
    assert tie["passed"] == 0 and "= +4 < margin 5" in tie["failures"][0]["reasons"][0]
    unscored = adv.run_suite(
        FakeJudge({"good": rating(status="unscored", reason="?"), "bad": rating(10)}), [pair]
    )
    assert "better reply not scored" in unscored["failures"][0]["reasons"][0]


def test_the_judge_sees_the_partner_line_the_scenario_and_the_turn(library) -> None:
    sc = library["vent-humiliated-at-work"]
    beat1 = sc.beats[1].heard
    items = [
        adv.Case(id="a", partner=sc.opening, scenario=sc.id, reply="R",
                 expect=adv.Expect(overall_max=100)),
        adv.Case(id="b", partner=beat1, scenario=sc.id, reply="R",
                 expect=adv.Expect(overall_max=100)),
    ]
    judge = FakeJudge({"R": rating()})
    adv.run_suite(judge, items, library)
    first, second = judge.seen
    assert first.history == (Line("partner", sc.opening),) and first.scenario is sc
    assert first.turn == 1 and second.turn == 3  # beat 1's line comes before user turn 3
    assert first.weight("no_fixing") == sc.weight("no_fixing")


def test_the_safety_gate_runs_before_the_judge() -> None:
    reply = "He hits me when he's drunk, so I know how scary that is."
    c = case({"overall_min": 55}, reply=reply)
    judge = FakeJudge({reply: rating(80)})
    res = adv.run_suite(judge, [c])
    assert judge.seen == [] and "got withheld" in res["failures"][0]["reasons"][0]
    assert adv.run_suite(judge, [c], safety=False)["passed"] == 1


def test_concurrent_runs_keep_the_order() -> None:
    items = [case({"overall_min": i}, id=f"c{i}", reply=f"r{i}") for i in range(20)]
    judge = FakeJudge({f"r{i}": rating(i) for i in range(20)})
    res = adv.run_suite(judge, items, concurrency=4)
    assert res["passed"] == 20 and [r["id"] for r in res["rows"]] == [f"c{i}" for i in range(20)]


def test_an_unknown_scenario_is_named() -> None:
    c = case({"overall_max": 1}, scenario="no-such-scenario")
    with pytest.raises(CoachError, match="case 'c': unknown scenario 'no-such-scenario'"):
        adv.run_suite(FakeJudge({}), [c], {})


# ---------------------------------------------------------------- loading suite files


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "each line must be a JSON object"),
        ('{"id": "x", "partner": "p", "reply": "r", "expect": {"overall_maximum": 3}}',
         "expect.overall_maximum: Extra inputs are not permitted"),
        ('{"id": "x", "partner": "p", "reply": "r", "expect": {}}', "expect is empty"),
        ('{"id": "x", "partner": "p", "reply": "r", "expect": {"max_lift": 10}}',
         "'max_lift' and 'base' go together"),
        ('{"id": "x", "partner": "p", "reply": "r", "expect": {"criterion_min": {"warm": 1}}}',
         "unknown criteria ['warm']"),
        ('{"id": "x", "partner": "p", "reply": "r", "expect": {"flags_any": ["rudeness"]}}',
         "expect.flags_any.0"),
        ('{"id": "x", "partner": "p", "reply": "r", "expect": {"unscored": true, '
         '"overall_max": 3}}', "cannot be combined"),
        ('{"id": "x", "partner": "p", "better": "b"}', "worse: Field required"),
    ],
)
def test_a_broken_line_is_named_by_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    good = '{"id": "ok", "partner": "p", "reply": "r", "expect": {"overall_max": 3}}'
    path = tmp_path / "s.jsonl"
    path.write_text(good + "\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(CoachError) as e:
        adv.load_suite(path)
    assert str(e.value).startswith(f"{path}:3: ") and message in str(e.value)


def test_duplicate_ids_and_missing_folders_are_named(tmp_path: Path) -> None:
    good = '{"id": "ok", "partner": "p", "reply": "r", "expect": {"overall_max": 3}}'
    (tmp_path / "s.jsonl").write_text(f"{good}\n{good}\n", encoding="utf-8")
    with pytest.raises(CoachError, match="s.jsonl:2: id 'ok' is used twice"):
        adv.load_suite(tmp_path / "s.jsonl")
    with pytest.raises(CoachError, match="adversarial suite folder not found"):
        adv.suite_paths(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CoachError, match="no \\*.jsonl suites"):
        adv.suite_paths(tmp_path / "empty")


def _write_probe_folder(folder: Path) -> Path:
    folder.mkdir()
    rows = {
        "harmful": [{"id": "h1", "partner": "p", "reply": "Ok.", "expect": {"overall_max": 100}}],
        "pairs": [{"id": "p1", "partner": "p", "better": "Tell me.", "worse": "Ok.",
                   "margin": 0}],
    }
    for name, lines in rows.items():
        (folder / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8"
        )
    return folder


def test_any_folder_of_suites_runs(tmp_path: Path, library) -> None:
    """The held-out probe set is such a folder, kept outside the repo."""
    folder = _write_probe_folder(tmp_path / "probe")
    res = adv.run_all(HeuristicJudge(), folder, library)
    assert list(res["suites"]) == ["pairs", "harmful"]  # shipped names first, then by name
    assert res["cases"] == 2 and res["directory"] == str(folder)


def test_coach_eval_reports_the_suites(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = _write_probe_folder(tmp_path / "probe")
    report = tmp_path / "out.json"
    code = main(["eval", "-q", "--no-cache", "--no-robustness", "--dataset", "gold",
                 "--limit", "1", "--adversarial", str(folder), "--report", str(report)])
    assert code == 0
    out = capsys.readouterr().out
    assert "Adversarial suites" in out and re.search(r"harmful\s+1 / 1", out)
    rep = json.loads(report.read_text())
    assert rep["adversarial"]["cases"] == 2 and "robustness" not in rep


def test_coach_eval_skips_them_when_asked(tmp_path: Path) -> None:
    report = tmp_path / "out.json"
    for flags in (["--no-robustness"], ["--no-adversarial"]):
        assert main(["eval", "-q", "--no-cache", "--dataset", "gold", "--limit", "1",
                     *flags, "--report", str(report)]) == 0
        assert "adversarial" not in json.loads(report.read_text())


def test_coach_eval_names_a_broken_suite(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "x.jsonl").write_text("{oops\n", encoding="utf-8")
    code = main(["eval", "-q", "--no-cache", "--no-robustness", "--dataset", "gold",
                 "--limit", "1", "--adversarial", str(folder)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and f"{folder / 'x.jsonl'}:1: not valid JSON" in err
