"""The report card ("How good is this judge?"): the application function and `coach
report-card`, with the built-in judge and a model judge on the fake OpenAI-compatible server.
No dataset is read from outside the test's own folder; nothing touches the internet."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from coach.adapters.config import resolve_config
from coach.application import report_card as rc
from coach.application.backends import make_backend
from coach.bench.simulated_server import DEFAULT_MODEL, FakeOpenAIServer, Fault, Trickle
from coach.cli import main
from coach.evaluation.datasets import ENV
from tests.llm_fixtures import KEY, wait_for

# Bounds that only turn "never ends" into a failure; nothing is timed.
STARTUP = 60.0
EXIT = 30.0


@pytest.fixture(autouse=True)
def _no_outside_data(monkeypatch, tmp_path):
    """Every test starts with no dataset variable (CI may set them) and its own home."""
    for var in ENV.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COACH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COACH_SCENARIOS", raising=False)
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "COACH_PARTNER_MODEL", "COACH_JUDGE_MODEL"):
        monkeypatch.delenv(var, raising=False)


def tiny_epitome(folder: Path) -> Path:
    """Three EPITOME-shaped files of four made-up rows each (levels 0-2)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        ("s1", "r1", "I failed my exam.", "Oh no, that sounds so hard. What happened?", 2),
        ("s2", "r2", "My dog died today.", "ok", 0),
        ("s3", "r3", "I feel alone at work.", "That must feel isolating. I'm sorry.", 1),
        ("s4", "r4", "Nobody listens to me.", "You should just talk louder.", 0),
    ]
    for name in ("emotional-reactions-reddit.csv", "interpretations-reddit.csv",
                 "explorations-reddit.csv"):
        with (folder / name).open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales"])
            for r in rows:
                w.writerow([*r, ""])
    return folder


# ------------------------------------------------------------------ the application function


def test_built_in_judge_without_data_runs_the_suites_and_says_what_a_full_run_needs(tmp_path):
    seen: list[rc.CardProgress] = []
    card = rc.run_report_card(None, on_progress=seen.append, cache_path=tmp_path / "c.sqlite")
    assert card.kind == "heuristic" and card.judge.startswith("built-in rules")
    gold = [r for r in card.rows if r.dataset == "Gold set"]
    assert gold and all(r.judge is not None for r in gold)
    passed, cases = card.adversarial
    assert cases > 100 and 0 < passed <= cases
    # The published figures stand in the table even before the data is there.
    epi = [r for r in card.rows if r.dataset == "EPITOME"]
    assert [r.refs[rc.ROBERTA] for r in epi] == [0.764, 0.657, 0.717]
    assert all(r.judge is None and r.note == "not run" for r in epi)
    lae = [r for r in card.rows if r.dataset == "Lend an Ear"]
    assert lae[0].refs == {rc.LLM_JUDGES: 0.63, rc.CROWD: 0.32}
    assert lae[0].expert_range == [0.25, 0.58]
    # What a full run needs: the variable, the field, and where the data comes from.
    cli, app = card.needs_for("cli"), card.needs_for("app")
    assert len(cli) == 4
    assert any("COACH_EPITOME_DIR" in n and "behavioral-data/Empathy-Mental-Health" in n
               for n in cli)
    assert any("--dataset esconv=DIR" in n for n in cli)
    assert any("EPITOME folder" in n and "--dataset" not in n for n in app)
    # progress went forward to the end
    assert seen[-1].done == seen[-1].total and seen[-1].stage == "Done"
    assert [p.done for p in seen] == sorted(p.done for p in seen)


def test_a_second_run_gives_the_cached_card_and_refresh_makes_a_new_one(tmp_path):
    cache = tmp_path / "c.sqlite"
    first = rc.run_report_card(None, cache_path=cache)
    assert not first.from_cache and first.ratings["new"] > 0
    again = rc.run_report_card(None, cache_path=cache)
    assert again.from_cache
    assert again.made_at == first.made_at and again.rows == first.rows
    fresh = rc.run_report_card(None, cache_path=cache, refresh=True)
    assert not fresh.from_cache and fresh.ratings["cached"] == 0
    assert fresh.rows == first.rows  # the rules are deterministic


def test_other_data_is_another_card(tmp_path):
    cache = tmp_path / "c.sqlite"
    rc.run_report_card(None, cache_path=cache)
    folder = tiny_epitome(tmp_path / "epitome")
    card = rc.run_report_card(None, {"epitome": str(folder)}, cache_path=cache)
    assert not card.from_cache
    epi = [r for r in card.rows if r.dataset == "EPITOME"]
    assert all(r.judge is not None and r.n == 4 for r in epi)
    assert epi[0].refs == {rc.ROBERTA: 0.764} and epi[0].goal == 0.72
    assert not any("EPITOME" in n for n in card.needs)
    # from the environment variable, as `coach eval` reads it: the same data, the same card
    env = {"COACH_EPITOME_DIR": str(folder)}
    assert rc.run_report_card(None, cache_path=cache, env=env).from_cache


def test_a_broken_dataset_is_one_line_and_the_rest_still_runs(tmp_path):
    bad = tmp_path / "epitome"
    bad.mkdir()
    (bad / "explorations-reddit.csv").write_bytes(b"sp_id,rp_id\n1,2\n")
    card = rc.run_report_card(None, {"epitome": str(bad)}, cache_path=tmp_path / "c.sqlite")
    assert len(card.problems) == 1
    assert "explorations-reddit.csv" in card.problems[0]
    assert "missing column" in card.problems[0]
    assert card.adversarial[1] > 0


def test_cancel_stops_between_ratings_and_keeps_what_was_rated(tmp_path):
    cancel = threading.Event()

    def progress(p: rc.CardProgress) -> None:
        if p.done >= 20:
            cancel.set()

    cache = tmp_path / "c.sqlite"
    with pytest.raises(rc.Cancelled):
        rc.run_report_card(None, cache_path=cache, on_progress=progress, cancel=cancel)
    # no card was stored; the ratings made before the cancel were
    card = rc.run_report_card(None, cache_path=cache)
    assert not card.from_cache and card.ratings["cached"] >= 20


def test_a_model_judge_on_the_fake_server(tmp_path):
    with FakeOpenAIServer() as srv:
        config = resolve_config(base_url=srv.base_url, partner_model=DEFAULT_MODEL, env={})
        judge = make_backend(config).judge
        card = rc.run_report_card(judge, cache_path=tmp_path / "c.sqlite", limit=5)
        asked = len(srv.chat_requests)
    assert card.kind == "llm" and card.model == DEFAULT_MODEL
    assert card.endpoint == srv.base_url
    assert asked > 0 and not card.error
    gold = next(r for r in card.rows if r.dataset == "Gold set" and r.measure == "accuracy")
    assert gold.n > 0  # the fake judge's answers were scored, not left out


def test_a_model_that_fails_is_one_line_in_the_card(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_TIME_BUDGET", "1")
    monkeypatch.setenv("COACH_TIMEOUT", "1")
    with FakeOpenAIServer(handler=lambda req: Fault(500, "the GPU caught fire")) as srv:
        config = resolve_config(base_url=srv.base_url, partner_model=DEFAULT_MODEL,
                                api_key=KEY)
        card = rc.run_report_card(make_backend(config).judge, cache_path=tmp_path / "c.sqlite")
    assert card.error and "\n" not in card.error
    assert KEY not in card.to_json()
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert KEY.encode() not in f.read_bytes(), f
    assert not card.suites  # it stopped at the first dataset
    # a failed card is not kept: the next run asks the model again
    with FakeOpenAIServer() as srv2:
        config = resolve_config(base_url=srv2.base_url, partner_model=DEFAULT_MODEL, env={})
        assert not rc.run_report_card(make_backend(config).judge, limit=2,
                                      cache_path=tmp_path / "c.sqlite").from_cache


def test_url_credentials_never_reach_the_card_or_the_cache(tmp_path):
    with FakeOpenAIServer() as srv:
        url = srv.base_url.replace("http://", "http://user:hunter2secret@")
        config = resolve_config(base_url=url, partner_model=DEFAULT_MODEL, env={})
        card = rc.run_report_card(make_backend(config).judge, limit=2,
                                  cache_path=tmp_path / "c.sqlite")
    assert card.endpoint == srv.base_url
    assert "hunter2secret" not in card.to_json()
    assert b"hunter2secret" not in (tmp_path / "c.sqlite").read_bytes()


def test_a_limit_below_one_is_refused():
    with pytest.raises(rc.CoachError, match="positive"):
        rc.run_report_card(None, limit=0)


# ------------------------------------------------------------------ coach report-card


def test_cli_prints_the_table_then_the_cached_card(capsys, tmp_path):
    folder = tiny_epitome(tmp_path / "epitome")
    report = tmp_path / "out" / "card.json"
    assert main(["report-card", "-q", "--dataset", f"epitome={folder}", "--report",
                 str(report)]) == 0
    out = capsys.readouterr().out
    assert "How good is this judge? built-in rules" in out
    header = next(line for line in out.splitlines() if line.startswith("Dataset"))
    for col in ("This judge", "RoBERTa", "LLM judges", "crowd", "experts", "Goal"):
        assert col in header
    assert "Adversarial suites:" in out
    assert "COACH_LEND_AN_EAR_DIR" in out and "COACH_EPITOME_DIR" not in out
    assert json.loads(report.read_text())["kind"] == "heuristic"
    assert main(["report-card", "-q", "--dataset", f"epitome={folder}"]) == 0
    assert "from the cache" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arg", "says"),
    [("nope=/x", "unknown dataset 'nope'"), ("esconv", "give its folder")],
)
def test_cli_bad_dataset_flag_is_one_line(capsys, arg, says):
    assert main(["report-card", "-q", "--dataset", arg]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err and err.count("\n") == 1


def test_cli_exit_2_and_one_line_when_the_model_fails(capsys, monkeypatch):
    monkeypatch.setenv("COACH_TIME_BUDGET", "1")
    with FakeOpenAIServer(handler=lambda req: Fault(500, "overloaded")) as srv:
        code = main(["report-card", "-q", "--base-url", srv.base_url,
                     "--partner-model", DEFAULT_MODEL])
    out = capsys.readouterr().out
    assert code == 2
    stopped = [line for line in out.splitlines() if line.startswith("The model stopped")]
    assert len(stopped) == 1 and srv.base_url.split("//")[1] in stopped[0]


def test_cli_ctrl_c_is_one_clear_line(tmp_path):
    # The model trickles with a budget far longer than the test: only Ctrl-C ends the run.
    with FakeOpenAIServer(handler=lambda req: Trickle(interval=0.3)) as srv:
        env = {**{k: v for k, v in os.environ.items() if k not in ENV.values()},
               "COACH_HOME": str(tmp_path), "OPENAI_BASE_URL": srv.base_url,
               "COACH_PARTNER_MODEL": DEFAULT_MODEL, "OPENAI_API_KEY": KEY,
               "COACH_TIMEOUT": "600", "COACH_TIME_BUDGET": "600"}
        proc = subprocess.Popen([sys.executable, "-m", "coach", "report-card"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
        try:
            assert wait_for(lambda: len(srv.chat_requests) >= 1, STARTUP), proc.poll()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=EXIT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Traceback" not in out
    assert err.strip().splitlines()[-1].startswith("coach report-card: stopped.")
    assert KEY not in out + err


def test_a_server_on_this_computer_gets_one_judge_call_at_a_time(tmp_path):
    # Found trying the card with `coach serve-local`: four calls sent together to a server
    # that answers one at a time queued there, and the last ran out of its time budget,
    # which stopped the whole card at 3 of 381 ratings.
    import time

    from coach.bench.simulated_server import auto_reply

    lock, state = threading.Lock(), {"now": 0, "most": 0}

    def one_at_a_time(req):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return auto_reply(req)

    with FakeOpenAIServer(handler=one_at_a_time) as srv:
        config = resolve_config(base_url=srv.base_url, partner_model=DEFAULT_MODEL, env={})
        card = rc.run_report_card(make_backend(config).judge, cache_path=tmp_path / "c.sqlite",
                                  limit=4)
    assert not card.error and len(srv.chat_requests) > 4
    assert state["most"] == 1
    assert rc.default_concurrency("http://127.0.0.1:8080/v1") == 1
    assert rc.default_concurrency("http://localhost:11434/v1") == 1
    assert rc.default_concurrency("https://api.openai.com/v1") == 4
    assert rc.default_concurrency("") == 4
