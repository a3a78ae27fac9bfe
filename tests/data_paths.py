"""Where the tests find the labelled dev data (never in the repo), and what to do without it.

Each dataset is read from its environment variable (COACH_EPITOME_DIR, COACH_ESCONV_DIR,
COACH_ANNOMI_DIR, COACH_LEND_AN_EAR_DIR), else from ../shared/data next to the repository.
When it is not there the test is skipped with a message saying how to provide it, unless
COACH_REQUIRE_DATA=1 (as `.ci/run` sets): then it fails, so CI cannot go green by skipping
the validity gate.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from coach.evaluation import datasets as ds

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FOLDERS = {
    "epitome": "epitome-dev",
    "esconv": "esconv-dev",
    "annomi": "annomi-dev",
    "lend-an-ear": "lend-an-ear-format",
}
LOADERS = {
    "epitome": ds.load_epitome,
    "esconv": ds.load_esconv,
    "annomi": ds.load_annomi,
    "lend-an-ear": ds.load_lend_an_ear,
}


def required() -> bool:
    """COACH_REQUIRE_DATA=1: missing data fails instead of skipping."""
    return os.environ.get("COACH_REQUIRE_DATA") == "1"


def _missing(why: str) -> None:
    if required():
        pytest.fail(f"{why} (COACH_REQUIRE_DATA=1, so this must not be skipped)")
    pytest.skip(why)


def load_dev(name: str) -> list[ds.Item]:
    """The dev split of dataset `name`; skips (or fails, see above) when it is not there."""
    env = ds.ENV[name]
    folder = Path(os.environ.get(env) or SHARED / FOLDERS[name])
    if not folder.is_dir():
        _missing(f"{name} dev data not found at {folder}: set {env} to its folder")
    try:
        return LOADERS[name](folder)
    except ds.DatasetMissing as e:
        _missing(f"{e}: set {env} to the folder that holds it")
        raise  # not reached: skip and fail raise


@functools.cache
def rated_dev(name: str) -> tuple[list, list]:
    """The dev set `name` and the built-in judge's ratings of every turn, once per test
    process: the floors and the better-reply property read the same ratings (their tests
    share an xdist group per dataset, `dev_group`, so one worker rates each set once)."""
    from coach.evaluation.runner import heuristic_spec, rate_items

    items = load_dev(name)
    return items, rate_items(heuristic_spec(), items, show_progress=False)


def dev_group(name: str):  # type: ignore[no-untyped-def]
    """The xdist group of the tests that read `rated_dev(name)`."""
    return pytest.mark.xdist_group(f"dev-{name}")
