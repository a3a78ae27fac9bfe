"""`coach bench --quick` runs and writes every stable key (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coach.cli import main

KEYS = (
    "heuristic_replies_per_s",
    "heuristic_replies_per_cpu_s",
    "offline_turn_ms_p50",
    "llm_turn_wall_over_delay",
    "llm_overhead_ms_p50",
    "history_query_ms_p50",
    "load_session_ms_p50",
    "warm_up_s",
    "warm_up_stall_ms",
)


def test_quick_bench_writes_the_stable_keys(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--report", str(out)]) == 0
    report = json.loads(out.read_text())
    for key in KEYS:
        assert key in report
    assert report["heuristic_replies_per_s"] > 0
    assert report["heuristic_replies_per_cpu_s"] > 0
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
    assert importers == {"adapters/llm.py"}


LOG = """\
Llama._create_completion: cache miss
llama_perf_context_print: prompt eval time =     100.00 ms /    35 tokens (...)
llama_perf_context_print:        eval time =       0.00 ms /     1 runs   (...)
Llama._create_completion: cache hit
Llama.generate: 5 prefix-match hit, remaining 645 prompt tokens to eval
llama_perf_context_print: prompt eval time =    1100.00 ms /   680 tokens (...)
llama_perf_context_print:        eval time =    2000.00 ms /   160 runs   (...)
INFO:     127.0.0.1:44614 - "POST /v1/chat/completions HTTP/1.1" 200 OK
Llama._create_completion: cache hit
Llama.generate: 600 prefix-match hit, remaining 40 prompt tokens to eval
disconnected
Disconnected from client (via refresh/close) Address(host='127.0.0.1', port=36532)
llama_perf_context_print: prompt eval time =      50.00 ms /    10 tokens (...)
llama_perf_context_print:        eval time =      10.00 ms /     2 runs   (...)
"""


def test_local_timings_are_read_per_request_from_the_cumulative_log() -> None:
    from coach.bench.local import parse_timings

    rows = parse_timings(LOG)
    assert len(rows) == 4
    assert [r["reused"] for r in rows] == [0, 5, 600, 0]
    assert "prompt_tokens" not in rows[2]  # closed early by the client: no timings printed
    assert [rows[i]["prompt_tokens"] for i in (0, 1, 3)] == [35, 645, 10]  # the last: reset
    assert [rows[i]["gen_runs"] for i in (0, 1, 3)] == [1, 159, 2]
    assert rows[1]["prompt_ms"] == 1000 and rows[1]["gen_ms"] == 2000


def test_local_bench_says_why_it_is_skipped(monkeypatch, capsys) -> None:
    from coach.bench import local as bench_local

    monkeypatch.setattr(bench_local, "missing", lambda: "local model not installed (test)")
    assert main(["bench", "--local"]) == 0
    assert "local model: skipped (local model not installed (test))" in capsys.readouterr().out
