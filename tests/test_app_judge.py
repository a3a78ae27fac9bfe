"""The app's "How good is this judge?" page through AppTest: the report card runs in a
background thread against the fake OpenAI-compatible server (gold and adversarial suites),
shows the comparison table and chart, comes back from the cache, and is cancelled."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from coach.app.judge import EMPTY
from coach.bench.simulated_server import DEFAULT_MODEL, FakeOpenAIServer, Trickle
from coach.evaluation.datasets import ENV

MAIN = str(Path(__file__).resolve().parent.parent / "coach" / "app" / "main.py")
JOIN_S = 300.0  # a bound that turns "never ends" into a failure; nothing is timed


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COACH_DB", str(tmp_path / "coach.db"))
    for var in (*ENV.values(), "COACH_SCENARIOS", "OPENAI_API_KEY", "COACH_JUDGE_MODEL"):
        monkeypatch.delenv(var, raising=False)


def judge_page() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.run()
    at.switch_page("judge.py").run()
    assert not at.exception, at.exception
    return at


def run_card(at: AppTest, key: str = "judge_run") -> AppTest:
    """Click Run, wait for the background thread, and show the page it leaves behind."""
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    try:
        job = at.session_state["judge_card_job"]
    except KeyError:  # it had finished by the end of that run
        job = None
    if job is not None:
        job.thread.join(JOIN_S)
        assert not job.thread.is_alive()
        at.run()
    assert not at.exception, at.exception
    return at


def table(at: AppTest):
    return next(d.value for d in at.dataframe if "This judge" in d.value.columns)


def test_the_card_of_a_model_judge_on_the_fake_server(monkeypatch):
    with FakeOpenAIServer() as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("COACH_PARTNER_MODEL", DEFAULT_MODEL)
        at = judge_page()
        assert any(DEFAULT_MODEL in m.value.replace("\\", "") for m in at.markdown
                   if "Judge:" in m.value)
        run_card(at)
        asked = len(srv.chat_requests)
    assert asked > 0  # the model judged, through the real client
    assert "judge_card_job" not in at.session_state
    df = table(at)
    for col in ("This judge", "RoBERTa, fine-tuned (authors)", "LLM judges (published)",
                "crowd workers", "expert vs expert", "Goal"):
        assert col in df.columns
    gold = df[df["Dataset"] == "Gold set"]
    assert len(gold) > 0 and (gold["This judge"] != EMPTY).all()
    lae = df[df["Dataset"] == "Lend an Ear"]
    assert list(lae["LLM judges (published)"])[:2] == ["0.630", "0.860"]
    assert (lae["This judge"] == EMPTY).all()  # a dash, not a grey "None"
    assert (lae["Note"] == "not run").all()
    assert any("report card" in s.value.lower() for s in at.subheader)
    assert any(m.label == "Adversarial cases passed" for m in at.metric)
    # no dataset: says what a full run needs, in the app's words
    needs = " ".join(i.value for i in at.info).replace("\\", "")
    assert "COACH_EPITOME_DIR" in needs and "EPITOME folder under Labelled data" in needs
    assert "--dataset" not in needs


def test_a_second_run_is_the_cached_card_and_run_again_rates_afresh(monkeypatch):
    at = run_card(judge_page())  # the built-in rules
    first = at.session_state["judge_card"]
    assert not first.from_cache
    run_card(at)
    assert at.session_state["judge_card"].from_cache
    assert any("From the cache" in c.value for c in at.caption)
    run_card(at, key="judge_rerun")
    again = at.session_state["judge_card"]
    assert not again.from_cache and again.ratings["cached"] == 0


def test_a_dataset_folder_typed_on_the_page_is_measured(tmp_path):
    from tests.test_report_card import tiny_epitome

    folder = tiny_epitome(tmp_path / "epi")
    at = judge_page()
    at.text_input(key="judge_dir_epitome").set_value(str(folder)).run()
    run_card(at)
    df = table(at)
    epi = df[df["Dataset"] == "EPITOME"]
    assert (epi["This judge"] != EMPTY).all() and list(epi["n"]) == ["4", "4", "4"]
    assert list(epi["RoBERTa, fine-tuned (authors)"]) == ["0.764", "0.657", "0.717"]


def test_a_folder_that_is_not_there_is_one_clear_line(tmp_path):
    at = judge_page()
    at.text_input(key="judge_dir_esconv").set_value(str(tmp_path / "nothing")).run()
    run_card(at)
    assert not at.exception
    needs = " ".join(i.value for i in at.info).replace("\\", "")
    assert "is not a folder" in needs


def test_cancel_stops_the_run_and_no_card_is_shown(monkeypatch):
    # The model trickles forever: only Cancel ends this run.
    with FakeOpenAIServer(handler=lambda req: Trickle(interval=0.3)) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("COACH_PARTNER_MODEL", DEFAULT_MODEL)
        at = judge_page()
        at.button(key="judge_run").click().run()
        job = at.session_state["judge_card_job"]
        assert job.running
        assert at.button(key="judge_cancel")
        assert len(at.get("progress")) == 1
        at.button(key="judge_cancel").click().run()
        assert not at.exception, at.exception
        assert job.cancel.is_set()
        assert "judge_card_job" not in at.session_state
        assert "judge_card" not in at.session_state
        assert any("Cancelled" in i.value for i in at.info)
        assert at.button(key="judge_run")  # ready to run again
