"""The heuristic's EPITOME figures on the real dev set, when it is available locally.

The data is never in the repo: set COACH_EPITOME_DIR, or keep ../shared/data next to it
(missing data skips, or fails with COACH_REQUIRE_DATA=1: see tests/data_paths.py).
"""

from __future__ import annotations

from coach.evaluation.scoring import score_epitome
from tests.data_paths import dev_group, rated_dev

TARGETS = {"emotional_reactions": 0.66, "interpretations": 0.56, "explorations": 0.62}


@dev_group("epitome")
def test_heuristic_reaches_the_targets_on_epitome_dev() -> None:
    items, ratings = rated_dev("epitome")
    result = score_epitome(items, [[r[0]] for r in ratings], judge="heuristic", rounds=0)
    for mech, target in TARGETS.items():
        assert result[mech]["macro_f1"] >= target, (mech, result[mech]["macro_f1"])
