"""The harness end to end on tiny synthetic datasets written to tmp_path (both formats)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from coach.cli import main
from coach.core.rubric import Provenance
from coach.evaluation import datasets as ds
from coach.evaluation.scoring import conversation_score, round_half_up

EPI_ROWS = [
    # sp_id, rp_id, seeker, response, (er, int, exp)
    ("s1", "r1", "I lost my job today.", "I'm so sorry you're going through this.", (2, 0, 0)),
    ("s1", "r2", "I lost my job today.", "What happened?", (0, 0, 1)),
    ("s2", "r3", "Nobody calls me.", "I went through that too when I moved.", (0, 2, 0)),
    (
        "s3",
        "r4",
        "I can't sleep.",
        "Hope it gets better. How long has this been going on?",
        (1, 0, 2),
    ),
]


def write_epitome(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, fname in enumerate(ds.EPITOME_FILES.values()):
        with (folder / fname).open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales"])
            for sp, rp, seeker, resp, levels in EPI_ROWS:
                w.writerow([sp, rp, seeker, resp, levels[i], ""])
    return folder


CONVS = {
    "c1": "Seeker: My sister skipped my birthday.\n"
    "Supporter: That must have stung. What went through your head?\n"
    "Seeker: I felt invisible.\n"
    "Supporter: No wonder you're hurt, it makes sense.",
    "c2": "Seeker: I froze in the presentation.\n"
    "Supporter: You should practice more.\n"
    "Seeker: I did practice.\n"
    "Supporter: At least it's over. Calm down.",
}
EXPERTS = [
    {"c1": (5, 4, 4, 1, 1, 1), "c2": (1, 1, 1, 5, 1, 5)},
    {"c1": (4, 4, 5, 1, 1, 2), "c2": (1, 2, 1, 4, 1, 5)},
]


def write_lend_an_ear(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "conversations.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["conversation_id", "full_conversation", "response_length"])
        for cid, text in CONVS.items():
            w.writerow([cid, text, len(text)])
    for n, ratings in enumerate(EXPERTS, start=1):
        with (folder / f"expert{n}_ratings.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["conversation_id", *ds.LAE_DIMENSIONS])
            for cid, vals in ratings.items():
                w.writerow([cid, *vals])
    return folder


def test_epitome_reader(tmp_path: Path) -> None:
    items = ds.load_epitome(write_epitome(tmp_path / "epi"))
    assert len(items) == 4
    first = items[0]
    assert first.gold == {"emotional_reactions": 2, "interpretations": 0, "explorations": 0}
    assert first.turns[0].history[0].text == "I lost my job today."
    assert {ds.half_of(it.group) for it in items} <= {"A", "B"}


def test_lend_an_ear_reader_averages_the_experts(tmp_path: Path) -> None:
    items = ds.load_lend_an_ear(write_lend_an_ear(tmp_path / "lae"))
    c1 = next(it for it in items if it.id == "c1")
    assert [t.reply for t in c1.turns] == [
        "That must have stung. What went through your head?",
        "No wonder you're hurt, it makes sense.",
    ]
    assert [ln.role for ln in c1.turns[1].history] == ["partner", "user", "partner"]
    assert c1.gold["validating_emotions"] == 4.5
    assert c1.gold["dismissing_emotions"] == 1.5


def test_conversation_score_mean_rule() -> None:
    """The earlier rule, kept as a reported variant: 1 + 2 * mean amount."""
    assert conversation_score([2, 2], inverse=False, how="mean") == 5.0
    assert conversation_score([0, 1], inverse=False, how="mean") == 2.0
    assert conversation_score([2, 2], inverse=True, how="mean") == 1.0  # no advice at all -> 1
    assert conversation_score([0, 2], inverse=True, how="mean") == 3.0
    assert conversation_score([0, 2], inverse=True, how="peak") == 5.0
    assert round_half_up(2.5) == 3 and round_half_up(3.49) == 3


def test_conversation_score_peak_and_share() -> None:
    """1 + peak amount + 2 * share of turns with any of it (the headline rule)."""
    assert conversation_score([0, 0, 0], inverse=False) == 1.0  # none at all
    assert conversation_score([2, 2, 2], inverse=False) == 5.0  # clear, every turn
    assert conversation_score([1, 1, 1], inverse=False) == 4.0  # weak, every turn
    assert conversation_score([2, 0, 0, 0], inverse=False) == 3.5  # clear once among four
    assert conversation_score([1, 0, 0, 0], inverse=False) == 2.5
    # One self-focused turn (level 0 on stays_with_them) among five: "some" self-orientation,
    # where the mean of levels said 1.8 (rounded: 2, "hardly any").
    assert conversation_score([2, 2, 0, 2, 2], inverse=True) == pytest.approx(3.4)
    assert conversation_score([2, 2, 0, 2, 2], inverse=True, how="mean") == pytest.approx(1.8)
    assert conversation_score([2, 2, 2], inverse=True) == 1.0  # no advice at all
    # One clear instance never scores below "some", however long the conversation.
    assert conversation_score([2] + [0] * 40, inverse=False) >= 3.0


def test_conversation_score_never_falls_when_a_turn_gains_some() -> None:
    from itertools import product

    for levels in product((0, 1, 2), repeat=3):
        for i in range(3):
            if levels[i] < 2:
                more = list(levels)
                more[i] += 1
                assert conversation_score(more, False) >= conversation_score(levels, False)
                # for inverse criteria a higher level is less of the behaviour
                assert conversation_score(more, True) <= conversation_score(levels, True)
    with pytest.raises(ValueError, match="unknown conversation score rule"):
        conversation_score([1], False, how="median")


def _run(tmp_path: Path, *extra: str) -> dict:
    report = tmp_path / "out.json"
    code = main(
        [
            "eval",
            "-q",
            "--bootstrap",
            "50",
            "--cache",
            str(tmp_path / "c.sqlite"),
            "--report",
            str(report),
            *extra,
        ]
    )
    assert code == 0
    return json.loads(report.read_text())


def test_report_has_the_stable_core(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    epi = write_epitome(tmp_path / "epi")
    lae = write_lend_an_ear(tmp_path / "lae")
    rep = _run(
        tmp_path,
        "--dataset",
        f"epitome={epi}",
        "--dataset",
        f"lend-an-ear={lae}",
        "--dataset",
        "gold",
        "--chart",
        str(tmp_path / "chart.png"),
    )
    assert rep["judge"] == "heuristic" and rep["model"]
    for mech in ("emotional_reactions", "interpretations", "explorations"):
        m = rep["datasets"]["epitome"][mech]
        assert {"macro_f1", "accuracy", "n"} <= set(m) and m["n"] == 4
    for dim in ds.LAE_DIMENSIONS:
        m = rep["datasets"]["lend_an_ear"][dim]
        assert {"qwk", "spearman", "n"} <= set(m) and m["n"] == 2
    assert rep["datasets"]["gold"]["all"]["n"] > 0
    assert rep["robustness"]["injection"]["held"] == rep["robustness"]["injection"]["cases"]
    out = capsys.readouterr().out
    assert "EPITOME" in out and "Lend an Ear" in out and "Gold set" in out
    assert (tmp_path / "chart.png").stat().st_size > 0


def test_rerun_is_served_from_the_cache(tmp_path: Path) -> None:
    epi = write_epitome(tmp_path / "epi")
    first = _run(tmp_path, "--dataset", f"epitome={epi}", "--no-robustness")
    second = _run(tmp_path, "--dataset", f"epitome={epi}", "--no-robustness")
    assert first["cache"]["misses"] == 4
    assert second["cache"] == {**first["cache"], "hits": 4, "misses": 0}
    assert second["datasets"] == first["datasets"]


def test_limit(tmp_path: Path) -> None:
    epi = write_epitome(tmp_path / "epi")
    rep = _run(tmp_path, "--dataset", f"epitome={epi}", "--no-robustness", "--limit", "2")
    assert rep["datasets"]["epitome"]["explorations"]["n"] == 2


def test_missing_dataset_is_skipped_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv("COACH_LEND_AN_EAR_DIR", raising=False)
    rep = _run(
        tmp_path,
        "--dataset",
        f"epitome={tmp_path / 'nowhere'}",
        "--dataset",
        "lend-an-ear",
        "--no-robustness",
    )
    assert "epitome" not in rep["datasets"]
    assert "COACH_EPITOME_DIR" in rep["skipped"]["epitome"]
    assert "COACH_LEND_AN_EAR_DIR" in rep["skipped"]["lend_an_ear"]
    assert "skipping" in capsys.readouterr().err


def test_folder_without_the_files_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ds.DatasetMissing, match="emotional-reactions"):
        ds.load_epitome(tmp_path / "empty")
    with pytest.raises(ds.DatasetMissing, match="conversations.csv"):
        ds.load_lend_an_ear(tmp_path / "empty")


def test_unknown_dataset_is_a_user_error(tmp_path: Path) -> None:
    assert main(["eval", "-q", "--dataset", "nope", "--no-robustness"]) == 2


def test_gold_set_agrees_with_the_heuristic(tmp_path: Path) -> None:
    rep = _run(tmp_path, "--dataset", "gold", "--no-robustness")
    gold = rep["datasets"]["gold"]
    assert gold["unscored"] == 0
    # What honestly holds today on the scenario library (512 labels): 0.73 exact, 0.93
    # within one level. A drop below these is a regression in the rules.
    assert gold["all"]["n"] >= 40
    assert gold["all"]["accuracy"] >= 0.7
    assert gold["all"]["within_one"] >= 0.9


def test_llm_judge_without_a_model_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "COACH_JUDGE_MODEL", "COACH_PARTNER_MODEL"):
        monkeypatch.delenv(var, raising=False)
    assert main(["eval", "-q", "--judge", "llm", "--dataset", "gold"]) == 2
    assert "needs a model" in capsys.readouterr().err


def test_llm_judge_through_the_fake_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from coach.bench.simulated_server import DEFAULT_MODEL, FakeOpenAIServer

    monkeypatch.setenv("OPENAI_API_KEY", "test")
    with FakeOpenAIServer() as srv:
        flags = [
            "--judge",
            "llm",
            "--base-url",
            srv.base_url,
            "--judge-model",
            DEFAULT_MODEL,
            "--partner-model",
            DEFAULT_MODEL,
            "--dataset",
            "gold",
            "--limit",
            "3",
            "--repeats",
            "2",
        ]
        first = _run(tmp_path, *flags)
        requests = len(srv.chat_requests)
        second = _run(tmp_path, *flags, "--no-robustness")
        assert len(srv.chat_requests) == requests  # every gold rating came from the cache
    assert first["judge"] == "llm" and first["model"] == DEFAULT_MODEL
    assert first["prompt_version"]
    assert second["cache"]["misses"] == 0
    assert first["robustness"]["consistency"]["repeats"] == 2


def _rating(level: int, *, fallback: bool = False, status: str = "scored"):
    from coach.core.rubric import CRITERION_KEYS, CriterionScore, Rating

    if status != "scored":
        return Rating(status=status, reason="no usable answer",
                      source=Provenance(backend="llm"))
    scores = {k: CriterionScore(level=level) for k in CRITERION_KEYS}
    return Rating(scores=scores, overall=50.0, source=Provenance(fallback=fallback,
                                    backend="heuristic" if fallback else "llm"))


def test_cache_keeps_only_the_judges_own_ratings(tmp_path: Path) -> None:
    from coach.evaluation.cache import RatingCache

    cache = RatingCache(tmp_path / "c.sqlite")
    cache.put("own", _rating(2))
    cache.put("fallback", _rating(1, fallback=True))
    cache.put("unscored", _rating(0, status="unscored"))
    cache.close()
    again = RatingCache(tmp_path / "c.sqlite")
    assert again.get("own") is not None
    assert again.get("fallback") is None and again.get("unscored") is None
    again.close()


def test_fallback_ratings_are_counted_apart_not_as_agreement() -> None:
    from coach.evaluation.report import table_lines
    from coach.evaluation.scoring import score_gold

    items = [ds.Item(f"i{n}", [ds.Turn("r")], {"warmth": 2.0}) for n in range(4)]
    ratings = [[_rating(2)], [_rating(2)], [_rating(0, fallback=True)],
               [_rating(0, status="unscored")]]
    out = score_gold(items, ratings, rounds=0)
    assert (out["fallback"], out["unscored"], out["n_items"]) == (1, 1, 2)
    # Only the model's own two ratings count, and both agree with the gold level.
    assert out["warmth"]["n"] == 2 and out["warmth"]["accuracy"] == 1.0
    lines = table_lines({"judge": "llm", "model": "m", "datasets": {"gold": out}})
    assert any("2 items rated by the judge" in ln and "1 fallback" in ln for ln in lines)


def test_heuristic_version_tracks_the_rules_and_the_policy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import shutil
    from importlib import resources

    from coach.judges import builtin as heuristic
    from coach.judges.acts import policy
    from coach.judges.acts.ruleset import load_rules, read_rules
    from coach.judges.base import JudgeContext

    version = heuristic.rules_version()
    assert version.startswith("rules-") and len(version) == len("rules-") + 8
    rating = heuristic.HeuristicJudge().rate(JudgeContext(reply="ok"))
    assert rating.source.model == rating.source.prompt_version == version
    # Any edit to a rule file or the lexicon changes the rule set's version.
    root = tmp_path / "acts"
    shutil.copytree(str(resources.files("coach.judges.acts")), root)
    assert read_rules(root).version == load_rules().version
    care = root / "rules" / "care.toml"
    care.write_text(care.read_text().replace('why = "heartfelt sorrow"', 'why = "sorrow"', 1))
    assert read_rules(root).version != load_rules().version
    # ... and so does any number of the scoring policy.
    for name, value in (("CAPS", {**policy.CAPS, "contempt": 21.0}), ("FLAG_COST", 11.0),
                        ("STOCK_LIFT", 9.0), ("EMPTY_CAP", 19.0)):
        monkeypatch.setattr(policy, name, value)
        heuristic.rules_version.cache_clear()
        assert heuristic.rules_version() != version, name
        monkeypatch.undo()
    # ... and so does the judge's code (its context rules and better reply are Python).
    monkeypatch.setattr(heuristic, "_code_digest", lambda: "another build")
    heuristic.rules_version.cache_clear()
    assert heuristic.rules_version() != version
    monkeypatch.undo()
    heuristic.rules_version.cache_clear()
    assert heuristic.rules_version() == version


def test_cache_key_includes_the_server() -> None:
    from coach.evaluation.cache import cache_key

    a = cache_key("t", "llm", "m", "judge-1+json_object", "http://a/v1")
    assert a != cache_key("t", "llm", "m", "judge-1+json_object", "http://b/v1")
    assert a != cache_key("t", "llm", "m", "judge-1+prompt", "http://a/v1")


def test_llm_eval_cache_is_keyed_by_structured_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coach.bench.simulated_server import DEFAULT_MODEL, FakeOpenAIServer

    monkeypatch.setenv("OPENAI_API_KEY", "test")
    with FakeOpenAIServer() as srv:
        flags = ["--judge", "llm", "--base-url", srv.base_url, "--partner-model", DEFAULT_MODEL,
                 "--dataset", "gold", "--limit", "2", "--no-robustness"]
        first = _run(tmp_path, *flags, "--structured", "json_object")
        again = _run(tmp_path, *flags, "--structured", "json_object")
        other = _run(tmp_path, *flags, "--structured", "prompt")
    assert first["cache"]["misses"] == 2 and again["cache"]["misses"] == 0
    assert other["cache"]["misses"] == 2  # another mode is another judge: nothing reused
    assert other["prompt_version"].endswith("+prompt")


def _epitome_with(folder: Path, text: bytes) -> Path:
    write_epitome(folder)
    (folder / ds.EPITOME_FILES["interpretations"]).write_bytes(text)
    return folder / ds.EPITOME_FILES["interpretations"]


HEADER = b"sp_id,rp_id,seeker_post,response_post,level,rationales\n"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"sp_id,rp_id,seeker_post,response_post\ns1,r1,a,b\n", "missing column(s) level"),
        (HEADER + b"s1,r1,a,b,1,\ns1,r2,a,b,high,\n", "line 3: level='high' is not a number"),
        (HEADER + b"s1,r1,a,b,7,\n", "line 2: level='7' is not a number from 0 to 2"),
        (HEADER + b"s1,r1,a,b\n", "line 2: the row has too few fields"),
        (HEADER + b"s1,r1,caf\xe9,b,1,\n", "not UTF-8 text"),
    ],
)
def test_malformed_epitome_file_names_the_file_and_line(
    tmp_path: Path, body: bytes, needle: str
) -> None:
    from coach.core.errors import CoachError

    bad = _epitome_with(tmp_path / "epi", body)
    with pytest.raises(CoachError) as e:
        ds.load_epitome(tmp_path / "epi")
    assert str(bad) in str(e.value) and needle in str(e.value)


def test_malformed_lend_an_ear_rating_names_the_file_and_line(tmp_path: Path) -> None:
    from coach.core.errors import CoachError

    folder = write_lend_an_ear(tmp_path / "lae")
    path = folder / "expert2_ratings.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ",n/a"  # the last rating of the second row
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CoachError, match=r"expert2_ratings\.csv, line 3: dismissing_emotions="):
        ds.load_lend_an_ear(folder)
    path.unlink()
    (folder / "conversations.csv").write_text("conversation_id,text\nc1,hi\n", encoding="utf-8")
    with pytest.raises(CoachError, match="conversations.csv: missing column"):
        ds.load_lend_an_ear(folder)


def test_malformed_dataset_through_the_cli_is_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    _epitome_with(tmp_path / "epi", HEADER + b"s1,r1,a,b,high,\n")
    code = main(["eval", "-q", "--no-cache", "--no-robustness", "--dataset",
                 f"epitome={tmp_path / 'epi'}"])
    err = capsys.readouterr().err
    assert code == 2 and "level='high'" in err and "Traceback" not in err


@pytest.mark.parametrize("limit", ["-1", "0"])
def test_non_positive_limit_is_rejected(limit: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["eval", "-q", "--no-cache", "--no-robustness", "--limit", limit]) == 2
    assert "--limit must be a positive number" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--report", "--chart", "--cache"])
def test_unwritable_outputs_are_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture, flag: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker / "sub" / "out"
    code = main(["eval", "-q", "--no-robustness", "--dataset", "gold", "--limit", "1",
                 "--cache", str(tmp_path / "c.sqlite"), flag, str(target)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"{target}: cannot write" in err


def test_write_json_into_a_file_is_a_coach_error(tmp_path: Path) -> None:
    from coach.core.errors import CoachError
    from coach.evaluation.report import write_json

    (tmp_path / "f").write_text("x")
    with pytest.raises(CoachError, match="cannot write"):
        write_json({}, tmp_path / "f" / "r.json")


def test_coach_eval_counts_where_the_rules_and_a_model_judge_disagree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A weak model judge that gives 2 everywhere: on the gold set the built-in rules
    disagree with it on the hurtful replies, and the report says who was nearer the label."""
    from coach.bench.simulated_server import (
        DEFAULT_MODEL,
        REPLY_RE,
        FakeOpenAIServer,
        Reply,
    )
    from tests.llm_fixtures import judge_json

    def all_twos(req):
        found = REPLY_RE.search(req.last_user_text)
        text = found.group(1) if found else "x"
        return Reply(judge_json(text, level=2, quote=" ".join(text.split(" ")[:4]).strip()))

    monkeypatch.setenv("OPENAI_API_KEY", "test")
    with FakeOpenAIServer(handler=all_twos) as srv:
        report = _run(tmp_path, "--judge", "llm", "--base-url", srv.base_url, "--judge-model",
                      DEFAULT_MODEL, "--partner-model", DEFAULT_MODEL, "--dataset", "gold",
                      "--no-robustness", "--no-cache")
    c = report["crosscheck"]["gold"]
    assert c["compared"] > 0 and 0 < c["disagree"] <= c["compared"]
    assert c["builtin_nearer"] > c["model_nearer"]  # 2 everywhere is wrong on hurtful replies
