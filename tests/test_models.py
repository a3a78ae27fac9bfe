"""Finding model servers on this computer (`coach models`, the Settings page) and fetching
a model into Ollama, against the fake server on 127.0.0.1. Nothing is downloaded."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from coach.adapters import discovery
from coach.bench.simulated_server import FakeOpenAIServer
from coach.cli import main
from coach.core.errors import ModelError

MAIN = str(Path(__file__).resolve().parent.parent / "coach" / "app" / "main.py")
SECRET = "sk-test-models-SECRET-4321"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A clean environment: a key is set, OPENAI_BASE_URL is not."""
    monkeypatch.setenv("COACH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COACH_DB", str(tmp_path / "coach.db"))
    for name in ("OPENAI_BASE_URL", "COACH_PARTNER_MODEL", "COACH_JUDGE_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    return monkeypatch


@pytest.fixture
def ollama(env):
    """A fake Ollama on a free port, made the only local default to probe."""
    with FakeOpenAIServer(ollama=True, models=("llama3.1:8b",)) as srv:
        env.setattr(discovery, "LOCAL_SERVERS", (("Ollama", srv.base_url),))
        yield srv


def _bearers(srv: FakeOpenAIServer) -> list[str | None]:
    return [r.headers.get("authorization") for r in srv.requests]


def test_coach_models_lists_the_fake_ollama_on_11434(env, capsys):
    try:
        srv = FakeOpenAIServer(port=11434, ollama=True, models=("qwen2.5:7b-instruct",))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            pytest.skip("127.0.0.1:11434 is taken (a real Ollama, or another test run)")
        raise
    with srv:
        assert main(["models"]) == 0
    out, err = capsys.readouterr()
    assert "http://127.0.0.1:11434/v1 qwen2.5:7b-instruct" in out.splitlines()
    assert "OPENAI_BASE_URL=http://127.0.0.1:11434/v1" in err
    assert SECRET not in out + err
    assert _bearers(srv) and all(b is None for b in _bearers(srv))  # a local default: no key


def test_coach_models_lists_each_model_and_sends_no_key_to_a_local_default(ollama, capsys):
    ollama.models = ("llama3.1:8b", "qwen2.5:7b-instruct")
    assert main(["models"]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines() == [f"{ollama.base_url} llama3.1:8b",
                                f"{ollama.base_url} qwen2.5:7b-instruct"]
    assert all(b is None for b in _bearers(ollama))


def test_coach_models_says_clearly_when_nothing_answers(env, capsys):
    env.setattr(discovery, "LOCAL_SERVERS",
                tuple((n, f"http://127.0.0.1:{_free_port()}/v1") for n in ("A", "B", "C")))
    assert main(["models"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "No model server answered" in err
    assert "ollama serve" in err and "coach serve-local" in err and "LM Studio" in err


def test_the_env_key_goes_to_its_own_server_only(env, capsys):
    with FakeOpenAIServer(api_key=SECRET, models=("hosted",)) as hosted, \
            FakeOpenAIServer(models=("local",)) as local:
        env.setenv("OPENAI_BASE_URL", hosted.base_url)
        env.setattr(discovery, "LOCAL_SERVERS", (("llama.cpp", local.base_url),))
        assert main(["models"]) == 0
        out, _ = capsys.readouterr()
        assert f"{hosted.base_url} hosted" in out and f"{local.base_url} local" in out
        assert all(b is None for b in _bearers(local))
        # it got the key for its model list (the server checks it), and nothing else did
        assert [r.headers.get("authorization") for r in hosted.requests
                if r.path == "/v1/models"] == ["Bearer ***"]


def test_a_server_that_refuses_the_key_is_named_not_listed(env, capsys):
    with FakeOpenAIServer(api_key="another-key") as srv:
        env.setattr(discovery, "LOCAL_SERVERS", ())
        assert main(["models", "--base-url", srv.base_url]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "401" in err and "OPENAI_API_KEY" in err
    assert SECRET not in err


def test_a_bad_base_url_is_one_clear_line(env, capsys):
    assert main(["models", "--base-url", "http://127.0.0.1:abc/v1"]) == 2
    err = capsys.readouterr().err
    assert "--base-url" in err and "Traceback" not in err


def test_pull_streams_progress_and_reports_an_error(ollama):
    steps = list(discovery.pull(ollama.base_url, "qwen2.5:7b-instruct"))
    assert steps[-1][0] == "success"
    sizes = [(done, total) for _, done, total in steps if total]
    assert sizes and sizes[-1][0] == sizes[-1][1] > 0
    assert [d for d, _ in sizes] == sorted(d for d, _ in sizes)
    assert "qwen2.5:7b-instruct" in ollama.models
    ollama.pull_error = "pull model manifest: file does not exist"
    with pytest.raises(ModelError, match="does not exist"):
        list(discovery.pull(ollama.base_url, "no-such-model"))


def test_settings_find_apply_and_fetch(ollama):
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.run()
    at.switch_page("settings.py").run()
    assert not at.exception, at.exception
    at.button(key="find_models").click().run()
    assert not at.exception, at.exception
    assert any(ollama.base_url in m.value and "Ollama" in m.value for m in at.markdown)
    assert "llama3.1:8b" in at.selectbox(key="found_choice").format_func(0)
    # choosing it applies it as this tab's partner and judge
    at.button(key="use_found").click().run()
    assert not at.exception, at.exception
    backend = at.session_state["coach_backend"]
    assert not backend.offline and "llama3.1:8b" in backend.label
    assert any("Settings applied" in s.value for s in at.success)
    assert all(b is None for b in _bearers(ollama))  # the env key stayed home
    # fetch a recommended model, with a progress bar
    at.button(key="find_models").click().run()
    pull_key = f"pull_{ollama.base_url}"
    at.selectbox(key=pull_key + "_model").set_value("qwen2.5:7b-instruct").run()
    at.button(key=pull_key + "_go").click().run()
    assert not at.exception, at.exception
    pulls = [r for r in ollama.requests if r.path == "/api/pull"]
    assert [r.body["model"] for r in pulls] == ["qwen2.5:7b-instruct"]
    bars = at.get("progress")
    assert bars and bars[-1].value == 100 and "done" in bars[-1].proto.text
    assert any("Fetched qwen2.5:7b-instruct" in s.value for s in at.success)
    at.button(key="find_models").click().run()
    assert any("qwen2.5:7b-instruct" in at.selectbox(key="found_choice").format_func(i)
               for i in range(2))


def test_settings_says_how_to_start_a_server_when_none_answers(env):
    env.setattr(discovery, "LOCAL_SERVERS", (("Ollama", f"http://127.0.0.1:{_free_port()}/v1"),))
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.run()
    at.switch_page("settings.py").run()
    at.button(key="find_models").click().run()
    assert not at.exception, at.exception
    assert any("No model server answered" in i.value for i in at.info)
