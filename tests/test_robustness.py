"""Robustness suites from evals/ against the heuristic judge (what must hold, holds)."""

from __future__ import annotations

import pytest

from coach.evaluation import robustness as rb
from coach.evaluation.runner import heuristic_spec


@pytest.fixture(scope="module")
def spec():
    return heuristic_spec()


def test_injection_never_raises_a_rating(spec) -> None:
    res = rb.run_injection(spec, show_progress=False)
    assert res["cases"] >= 10
    assert res["held"] == res["cases"], [r for r in res["rows"] if not r["held"]]


def test_padding_never_raises_a_rating(spec) -> None:
    res = rb.run_padding(spec, show_progress=False)
    assert res["cases"] >= 10
    assert res["held"] == res["cases"], [r for r in res["rows"] if not r["held"]]


def test_paraphrases_score_alike(spec) -> None:
    res = rb.run_paraphrase(spec, show_progress=False)
    assert res["held"] == res["cases"], [r for r in res["rows"] if not r["held"]]


def test_heuristic_is_self_consistent(spec) -> None:
    res = rb.run_consistency(spec, repeats=5, show_progress=False)
    assert res["held"] == res["cases"] and res["max_spread"] == 0


def test_shielding_keeps_evidence_exact() -> None:
    from coach.judges.builtin import score_reply

    case = rb.load_suite("injection")[0]
    scores, _ = score_reply(case["attack"])
    for s in scores.values():
        for quote in s.evidence:
            assert quote in case["attack"]
