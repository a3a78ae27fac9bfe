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


def test_only_coach_llm_imports_the_openai_sdk() -> None:
    # One door to the SDK keeps one retry policy and one place where keys are handled.
    import ast

    root = Path(__file__).resolve().parent.parent / "coach"
    importers = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )
            if any(n == "openai" or n.startswith("openai.") for n in names):
                importers.add(path.relative_to(root).as_posix())
    assert importers == {"llm.py"}
