"""`coach bench`: the figures that keep the product fast, measured in one run.

- heuristic judge throughput on one core, and its cost per character as replies grow;
- an offline turn end to end (store reply, judge, partner, store result);
- an LLM turn against the in-repo fake OpenAI server (fixed delay for partner and judge),
  beside a bare single-attempt call on the same server. The partner answers the judge's
  rating, so a turn is two delays in a row at best; the target allows 15% over that;
- SQLite with many stored sessions: a history page and loading one session;
- the language identifier's warm-up, which the app runs in the background: how long it
  keeps another thread of the same process from running at a stretch.

`--local` instead breaks down one turn on the local model (`coach.bench.local`).

Every figure is a median over repeats. `--report out.json` writes them under stable keys.
No test asserts a timing; `evals/README.md` records the numbers and the machine.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SENTENCES = (
    "I'm so sorry, that sounds humiliating.",
    "What was the hardest part for you?",
    "You should talk to HR tomorrow.",
    "At least you still have your job.",
    "It sounds like you felt invisible in that meeting.",
    "That happened to me at my old job, I was livid.",
    "Do you want me to just listen, or would ideas help?",
    "No wonder you're furious, anyone would be.",
)
DELAY = 0.2


def _median_ms(fn: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), times


def _median_cpu_ms(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall time and median process CPU time of `fn`, in ms.

    On a machine shared with other work, wall time counts the time the process waited for a
    core; CPU time counts only what `fn` itself used, so both are reported.
    """
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        cpus.append((time.process_time() - c0) * 1000)
        walls.append((time.perf_counter() - w0) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def bench_heuristic(quick: bool) -> dict:
    """Replies per second through `HeuristicJudge.rate`, and time per reply by length."""
    from coach.judges.acts.tagger import forget_read_sentences
    from coach.judges.base import JudgeContext
    from coach.judges.builtin import HeuristicJudge

    judge = HeuristicJudge()
    ctxs = [JudgeContext(reply=" ".join(SENTENCES[i % 8 : i % 8 + 1 + i % 3])) for i in range(64)]
    n = 500 if quick else 5000

    def run() -> None:
        for i in range(n):
            # every reply read as if new: the 64 replies repeat, and a user's do not
            forget_read_sentences()
            judge.rate(ctxs[i % len(ctxs)])

    run()  # warm the regex caches
    ms, cpu_ms = _median_cpu_ms(run, 3 if quick else 5)
    out = {
        "heuristic_replies_per_s": round(n / (ms / 1000)),
        "heuristic_replies_per_cpu_s": round(n / (max(cpu_ms, 1e-6) / 1000)),
        "heuristic_reply_chars_mean": round(statistics.fmean(len(c.reply) for c in ctxs)),
    }
    scaling = []
    for k in (1, 4, 16) if quick else (1, 2, 4, 8, 16, 32):
        reply = " ".join(SENTENCES[i % 8] for i in range(k))
        ctx = JudgeContext(reply=reply)
        reps = max(20, (200 if quick else 2000) // k)

        def one(ctx: JudgeContext = ctx, reps: int = reps) -> None:
            for _ in range(reps):
                forget_read_sentences()
                judge.rate(ctx)

        t, _ = _median_ms(one, 3 if quick else 5)
        us = t * 1000 / reps
        scaling.append(
            {
                "sentences": k,
                "chars": len(reply),
                "us_per_reply": round(us, 1),
                "ns_per_char": round(us * 1000 / len(reply), 1),
            }
        )
    out["heuristic_scaling"] = scaling
    return out


def _library():
    from coach.adapters.scenario_files import load_library

    return load_library()


def _play(engine, scenario_id: str, replies: list[str], turns: int) -> list[float]:
    """Reply `turns` times (new sessions as they end); return each turn's wall time in ms."""
    from coach.core.errors import ReplyError
    from coach.judges.acts.tagger import forget_read_sentences

    times: list[float] = []
    info, _ = engine.start(scenario_id)
    i = 0
    while len(times) < turns:
        forget_read_sentences()  # the replies repeat; a user's are new
        t0 = time.perf_counter()
        try:
            res = engine.reply(info.id, replies[i % len(replies)])
        except ReplyError:
            info, _ = engine.start(scenario_id)
            continue
        times.append((time.perf_counter() - t0) * 1000)
        i += 1
        if res.ended:
            info, _ = engine.start(scenario_id)
    return times


def bench_offline_turn(db: Path, quick: bool) -> dict:
    """One offline turn end to end through the engine: store, judge, partner, store."""
    from coach.adapters.store import Store
    from coach.application.backends import make_backend
    from coach.application.engine import Engine

    lib = _library()
    engine = Engine(Store(db), make_backend(None), lib)
    times = _play(engine, next(iter(lib)), list(SENTENCES), 30 if quick else 200)
    return {
        "offline_turn_ms_p50": round(statistics.median(times[3:]), 3),
        "offline_turn_ms_p90": round(sorted(times)[int(len(times) * 0.9)], 3),
    }


def bench_llm_turn(db: Path, quick: bool) -> dict:
    """A turn against the fake server (partner and judge each delayed), and a bare call.

    The bare call goes through `OpenAIChatModel` with a single attempt (no retry layer
    in play), so the overhead measured is the engine's, and `coach.adapters.llm` stays the only
    module that imports the SDK.
    """
    from coach.adapters.config import resolve_config
    from coach.adapters.llm import OpenAIChatModel, RetryPolicy
    from coach.adapters.store import Store
    from coach.application.backends import make_backend
    from coach.application.engine import Engine
    from coach.bench.simulated_server import DEFAULT_MODEL, FakeOpenAIServer

    turns = 5 if quick else 15
    with FakeOpenAIServer(delay=DELAY) as srv:
        config = resolve_config(
            base_url=srv.base_url,
            api_key="bench",
            partner_model=DEFAULT_MODEL,
            judge_model=DEFAULT_MODEL,
            env={},
        )
        lib = _library()
        engine = Engine(Store(db), make_backend(config), lib)
        walls = _play(engine, next(iter(lib)), list(SENTENCES), turns + 1)[1:]
        client = OpenAIChatModel(
            base_url=srv.base_url, api_key="bench", policy=RetryPolicy(max_attempts=1)
        )

        def bare() -> None:
            client.complete([{"role": "user", "content": "hello"}], model=DEFAULT_MODEL)

        bare()
        bare_ms, _ = _median_ms(bare, turns)
    wall = statistics.median(walls)
    return {
        "llm_turn_ms_p50": round(wall, 1),
        "llm_bare_call_ms_p50": round(bare_ms, 1),
        "llm_turn_wall_over_delay": round(wall / (DELAY * 1000), 3),
        "llm_overhead_ms_p50": round(wall - bare_ms, 1),
    }


def bench_sqlite(db: Path, quick: bool) -> dict:
    """A history page and one session's tree, with many sessions stored."""
    from coach.adapters.store import Store

    n = 1000 if quick else 10_000
    store = Store(db)
    lib = _library()
    sc = next(iter(lib.values()))
    have = store.count_sessions()
    for i in range(max(0, n - have)):
        info, root = store.create_session(
            scenario_id=sc.id, title=sc.title, backend="bench", opening=sc.opening, openness=0
        )
        store.add_user_turn(
            session_id=info.id, parent_id=root.id, branch=1, idx=1, text=SENTENCES[i % 8]
        )
    # The session to load: one with the most turns (played through the engine above).
    row = (
        store._conn()
        .execute("SELECT session_id FROM turns GROUP BY session_id ORDER BY COUNT(*) DESC LIMIT 1")
        .fetchone()
    )
    newest = row[0]
    turns_loaded = len(store.load_tree(newest).turns)
    reps = 20 if quick else 50
    hist, _ = _median_ms(lambda: store.list_sessions(limit=50, offset=0), reps)
    load, _ = _median_ms(lambda: store.load_tree(newest), reps)
    return {
        "sessions_stored": store.count_sessions(),
        "history_query_ms_p50": round(hist, 3),
        "load_session_ms_p50": round(load, 3),
        "load_session_turns": turns_loaded,
    }


# Run in a fresh interpreter: the models load once per process, and this one may have them.
_WARM_UP_PROBE = """
import json, threading, time
from coach.judges.acts import language
thread = threading.Thread(target=language.warm_up)
start = last = time.perf_counter()
thread.start()
stall = 0.0
while thread.is_alive():
    sum(range(2000))
    now = time.perf_counter()
    stall, last = max(stall, now - last), now
print(json.dumps({"stall": stall, "total": time.perf_counter() - start}))
"""


def bench_language_warm_up(quick: bool) -> dict:
    """The app's background warm-up of the language models: its total time, and the longest
    time another thread waited for the GIL meanwhile (the app freezes for that long)."""
    if quick:
        return {"warm_up_s": None, "warm_up_stall_ms": None}
    try:
        done = subprocess.run(
            [sys.executable, "-c", _WARM_UP_PROBE], capture_output=True, text=True, timeout=300
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
        return {"warm_up_s": None, "warm_up_stall_ms": None}
    return {"warm_up_s": round(r["total"], 1), "warm_up_stall_ms": round(r["stall"] * 1000)}


def machine() -> dict:
    """What the numbers were measured on."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def run_bench(quick: bool = False) -> dict:
    """Every benchmark, in one run, in a throwaway database."""
    t0 = time.perf_counter()
    out: dict = {"quick": quick, "machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        out.update(bench_heuristic(quick))
        out.update(bench_offline_turn(db, quick))
        out.update(bench_llm_turn(Path(tmp) / "llm.db", quick))
        out.update(bench_sqlite(db, quick))
    out.update(bench_language_warm_up(quick))
    out["total_s"] = round(time.perf_counter() - t0, 1)
    return out


def table_lines(r: dict) -> list[str]:
    """The figures with their targets."""

    def fmt(v: object, unit: str = "") -> str:
        return "skipped" if v is None else f"{v}{unit}"

    lines = [
        f"{'benchmark':<44} {'median':>12}   target",
        f"{'heuristic judge throughput (1 core)':<44} "
        f"{fmt(r['heuristic_replies_per_s'], '/s'):>12}   >= 2000/s",
        f"{'  the same in process CPU time':<44} "
        f"{fmt(r.get('heuristic_replies_per_cpu_s'), '/s'):>12}   (wall time counts waiting "
        "for a shared core)",
    ]
    for s in r["heuristic_scaling"]:
        lines.append(
            f"  {s['sentences']:>2} sentences, {s['chars']:>5} chars{'':<18} "
            f"{s['us_per_reply']:>9} us   ({s['ns_per_char']} ns/char)"
        )
    lines += [
        f"{'offline turn end to end':<44} {fmt(r['offline_turn_ms_p50'], ' ms'):>12}   < 5 ms",
        f"{'LLM turn wall / 200 ms delay':<44} {fmt(r['llm_turn_wall_over_delay']):>12}"
        "   <= 2.3 (judge, then partner)",
        f"{'LLM turn overhead over a bare model call':<44} "
        f"{fmt(r['llm_overhead_ms_p50'], ' ms'):>12}",
        f"{'history page (' + str(r['sessions_stored']) + ' sessions)':<44} "
        f"{fmt(r['history_query_ms_p50'], ' ms'):>12}   < 50 ms",
        f"{'load one session (' + str(r['load_session_turns']) + ' turns)':<44} "
        f"{fmt(r['load_session_ms_p50'], ' ms'):>12}   < 50 ms",
        f"{'language warm-up, longest freeze of the app':<44} "
        f"{fmt(r.get('warm_up_stall_ms'), ' ms'):>12}   < 1000 ms "
        f"(warm-up {fmt(r.get('warm_up_s'), ' s')} in all)",
    ]
    lines.append(
        f"total {r['total_s']} s on {r['machine']['platform']}, Python {r['machine']['python']}"
    )
    return lines
