"""Shared fixtures. Every test runs offline, with its own data folder."""

from __future__ import annotations

import pytest

from coach.adapters.scenario_files import load_library
from coach.adapters.store import Store
from coach.application.backends import make_backend
from coach.application.engine import Engine

MODEL_ENV = (
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "COACH_PARTNER_MODEL",
    "COACH_JUDGE_MODEL",
    "COACH_STRUCTURED",
    "COACH_TIMEOUT",
    "COACH_TIME_BUDGET",
    "COACH_DB",
    "COACH_SCENARIOS",
)


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test reads the developer's model settings or writes to their data folder."""
    for name in MODEL_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COACH_HOME", str(tmp_path_factory.mktemp("coach-home")))


@pytest.fixture(scope="session")
def library():
    return load_library()


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(tmp_path / "coach.db")
    yield s
    s.close()


@pytest.fixture
def engine(store, library) -> Engine:
    return Engine(store, make_backend(None), library)
