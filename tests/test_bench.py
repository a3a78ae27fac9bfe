"""`coach bench --quick` runs and writes every stable key (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coach.cli import main

KEYS = (
    "heuristic_replies_per_s",
    "offline_turn_ms_p50",
    "llm_turn_wall_over_slowest",
    "llm_overhead_ms_p50",
    "history_query_ms_p50",
    "load_session_ms_p50",
)


def test_quick_bench_writes_the_stable_keys(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--report", str(out)]) == 0
    report = json.loads(out.read_text())
    for key in KEYS:
        assert key in report
    assert report["heuristic_replies_per_s"] > 0
    assert len(report["heuristic_scaling"]) >= 3
    assert "heuristic judge throughput" in capsys.readouterr().out
