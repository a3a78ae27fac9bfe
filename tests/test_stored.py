"""Stored ratings of older versions load, migrated forward (coach/adapters/stored.py)."""

from __future__ import annotations

import json

from coach.adapters.stored import rating_from_json
from coach.core.rubric import Provenance, Rating

# A rating as coach wrote it before the verdict and its provenance were split.
FLAT = {
    "status": "scored",
    "scores": {"warmth": {"level": 2, "evidence": ["so sorry"]}},
    "overall": 81.0,
    "backend": "llm",
    "model": "qwen2.5:7b",
    "prompt_version": "judge-abc",
    "latency_ms": 812.5,
    "usage": {"prompt_tokens": 900, "completion_tokens": 120},
    "fallback": False,
    "tip": "Ask what they need.",
}


def test_a_flat_rating_of_an_older_version_is_migrated_into_its_source():
    r = rating_from_json(json.dumps(FLAT))
    assert r is not None and r.status == "scored" and r.overall == 81.0
    assert r.source == Provenance(
        backend="llm", model="qwen2.5:7b", prompt_version="judge-abc", latency_ms=812.5,
        usage={"prompt_tokens": 900, "completion_tokens": 120}, fallback=False,
    )
    assert r.scores["warmth"].evidence == ["so sorry"] and r.tip == "Ask what they need."


def test_a_flat_fallback_stays_a_fallback():
    r = rating_from_json(json.dumps({**FLAT, "backend": "heuristic", "fallback": True}))
    assert r.source.fallback and r.source.backend == "heuristic"


def test_the_current_shape_round_trips():
    r = Rating(overall=40.0, source=Provenance(backend="heuristic", model="rules-1"))
    assert rating_from_json(r.model_dump_json()) == r


def test_a_rating_has_no_judge_by_default():
    # The default used to be "heuristic", which credited the built-in rules with any
    # rating built without saying who made it.
    assert Rating().source.backend == ""
