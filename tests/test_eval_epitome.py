"""The heuristic's EPITOME figures on the real dev set, when it is available locally.

The data is never in the repo: set COACH_EPITOME_DIR, or keep ../shared/data next to it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from coach.evaluation.datasets import load_epitome
from coach.evaluation.runner import heuristic_spec, rate_turns
from coach.evaluation.scoring import score_epitome

TARGETS = {"emotional_reactions": 0.66, "interpretations": 0.56, "explorations": 0.62}


def _epitome_dir() -> Path:
    env = os.environ.get("COACH_EPITOME_DIR")
    if env:
        return Path(env)
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "epitome-dev"
    if default.is_dir():
        return default
    pytest.skip("EPITOME dev set not found: set COACH_EPITOME_DIR to its folder")


def test_heuristic_reaches_the_targets_on_epitome_dev() -> None:
    items = load_epitome(_epitome_dir())
    ratings = rate_turns(heuristic_spec(), [it.turns[0] for it in items], show_progress=False)
    result = score_epitome(items, [[r] for r in ratings], judge="heuristic", rounds=0)
    for mech, target in TARGETS.items():
        assert result[mech]["macro_f1"] >= target, (mech, result[mech]["macro_f1"])
