"""Scenario files on disk: one TOML file, or a folder of them (the shipped ones by default).

The schema and the strict parse are pure (coach/core/scenario.py); this is the reading.
"""

from __future__ import annotations

import os
from pathlib import Path

from coach.adapters.resources import scenarios_dir
from coach.core.errors import ScenarioError
from coach.core.scenario import (
    DIFFICULTY_ORDER,
    MAX_SCENARIO_BYTES,
    Scenario,
    parse_scenario,
    too_big_message,
)


def load_scenario(path: Path) -> Scenario:
    """Load and validate one scenario file.

    Raises:
        ScenarioError: naming the file and the field that is wrong.
    """
    try:
        with path.open("rb") as f:
            data = f.read(MAX_SCENARIO_BYTES + 1)  # never more than the cap into memory
        if len(data) > MAX_SCENARIO_BYTES:
            raise ScenarioError(too_big_message(str(path)))
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError(f"{path}: cannot read the file ({e})") from None
    return parse_scenario(text, source=str(path), default_id=path.stem)


def default_scenario_dir() -> Path:
    """`COACH_SCENARIOS` if set, else the scenarios shipped with the coach (`scenarios/`)."""
    env = os.environ.get("COACH_SCENARIOS")
    if env:
        return Path(env).expanduser()
    return scenarios_dir()


def load_library(directory: Path | None = None) -> dict[str, Scenario]:
    """Load every `*.toml` scenario in a folder, sorted by difficulty then title.

    Raises:
        ScenarioError: for the first broken file, or when two files share an id.
    """
    directory = directory or default_scenario_dir()
    if not directory.is_dir():
        raise ScenarioError(f"{directory}: scenario folder not found")
    found: dict[str, Scenario] = {}
    for path in sorted(directory.glob("*.toml")):
        sc = load_scenario(path)
        if sc.id in found:
            raise ScenarioError(f"{path}: id '{sc.id}' is already used by another scenario")
        found[sc.id] = sc
    ordered = sorted(found.values(), key=lambda s: (DIFFICULTY_ORDER[s.difficulty], s.title))
    return {s.id: s for s in ordered}
