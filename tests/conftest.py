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


# Longest first packs the workers best: a long test started last keeps the run going alone
# after the rest have finished (one of the no-secret sweeps did, for half a minute). So the
# tests that take seconds (by `--durations` on two cores) are handed out first, longest
# first, then the rest in the order they were collected. (xdist's loadgroup hands out the
# groups first anyway, largest first: the dev sets and the adversarial results.)
_LONG = (
    "test_better_reply.py::test_better_reply_on_every_dev_reply",
    "test_eval_floors.py", "test_eval_epitome.py",
    "test_adversarial.py::test_heuristic_judge_meets_every_bound",
    # waits on the fault server's timeouts and back-offs, 20 s each
    "test_secrets.py::test_no_secret_is_written_under_any_fault",
    # 5 to 12 s each
    "test_bench.py::test_quick_bench_writes_the_stable_keys",
    "test_report_card.py::test_a_server_on_this_computer_gets_one_judge_call_at_a_time",
    "test_eval.py::test_llm_judge_through_the_fake_server",
    "test_architecture.py::test_xdist_loadgroup_keeps_a_group_on_one_worker",
    "test_cli.py::test_interactive_practice_in_a_real_process",
    "test_cli_interrupt.py::test_ctrl_c_mid_turn_exits_promptly",
    # 2 to 5 s each, most of them
    "test_report_card.py", "test_app_judge.py", "test_eval.py",
    "test_act_rules.py::test_the_cheap_pre_tests_never_skip_a_match",
    "test_app.py::test_review_filters_and_pages_a_long_history",
    "test_llm_faults.py::test_a_trickling", "test_app_stop.py",
)


def _rank(nodeid: str) -> int:
    return next((i for i, k in enumerate(_LONG) if k in nodeid), len(_LONG))


def pytest_collection_modifyitems(config, items) -> None:  # type: ignore[no-untyped-def]
    items.sort(key=lambda it: _rank(it.nodeid))
