"""Shared fixtures. Every test runs offline, with its own data folder."""

from __future__ import annotations

import functools
import tempfile

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


@pytest.fixture(scope="session")
def _homes(tmp_path_factory: pytest.TempPathFactory):
    """The folder that holds each test's own empty COACH_HOME."""
    return tmp_path_factory.mktemp("coach-homes")


@pytest.fixture(autouse=True)
def _isolated_env(_homes, monkeypatch: pytest.MonkeyPatch):
    """No test reads the developer's model settings or writes to their data folder."""
    for name in MODEL_ENV:
        monkeypatch.delenv(name, raising=False)
    # A new empty folder of its own (mkdtemp, not tmp_path_factory.mktemp: that lists every
    # folder made so far to number the next, which over a worker's thousand tests added up)
    monkeypatch.setenv("COACH_HOME", tempfile.mkdtemp(prefix="coach-home-", dir=_homes))


@pytest.fixture(autouse=True, scope="session")
def _streamlit_components_scanned_once():
    """Each new AppTest has streamlit read the metadata of every installed distribution,
    looking for components (a tenth of a second, on each of the app tests); what is
    installed does not change while the tests run, so it is read once per worker."""
    from streamlit.components.v2 import manifest_scanner

    scan = functools.cache(manifest_scanner.scan_component_manifests)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(manifest_scanner, "scan_component_manifests",
                   lambda *a, **kw: list(scan(*a, **kw)))
        yield


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


# The few long tests (the dev-set groups, the adversarial results, the no-secret sweeps)
# are handed to the workers first: started last, one of them alone kept the run going for
# half a minute after the rest had finished (longest first packs the workers better).
_LONG = ("test_better_reply.py::test_better_reply_on_every_dev_reply",
         "test_eval_floors.py", "test_eval_epitome.py",
         "test_adversarial.py::test_heuristic_judge_meets_every_bound",
         "test_secrets.py::test_no_secret_is_written_under_any_fault")


def pytest_collection_modifyitems(config, items) -> None:  # type: ignore[no-untyped-def]
    items.sort(key=lambda it: not any(k in it.nodeid for k in _LONG))
