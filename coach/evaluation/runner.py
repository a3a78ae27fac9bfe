"""Run a judge over many turns: bounded concurrency, a progress bar, and the rating cache.

The judges are synchronous (the app calls them that way), so each call runs in a worker
thread under an asyncio semaphore; `--concurrency` bounds how many are in flight. A run can
report each rating (`on_step`) and be stopped between ratings (`cancel`), which is how the
report card shows progress and honours its Cancel button.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from coach.core.rubric import Rating
from coach.evaluation.cache import RatingCache, cache_key
from coach.evaluation.datasets import Item, Turn
from coach.judges.base import Judge, JudgeContext


class Cancelled(Exception):  # noqa: N818 - it is what happened, not a bug
    """The person stopped the run; the ratings made so far are in the cache."""


@dataclass
class JudgeSpec:
    """A judge and the identity that keys its cached ratings.

    Attributes:
        name: "heuristic" or "llm".
        judge: the judge itself.
        model: the model (or rule set) name.
        prompt_version: the judge's version (for the model judge it includes the
            structured mode).
        endpoint: the model server's URL, without credentials ("" for the heuristic).
    """

    name: str
    judge: Judge
    model: str
    prompt_version: str
    endpoint: str = ""


def heuristic_spec() -> JudgeSpec:
    """The offline rule judge."""
    from coach.judges.builtin import HeuristicJudge

    judge = HeuristicJudge()
    probe = judge.rate(JudgeContext(reply="ok"))
    return JudgeSpec("heuristic", judge, probe.source.model, probe.source.prompt_version)


def spec_of(judge: Judge | None) -> JudgeSpec:
    """The spec of a judge a session uses: the model judge with its model, prompt version
    and server (without credentials), or the built-in rules for anything else (None too)."""
    from coach.judges.model import LLMJudge

    if isinstance(judge, LLMJudge):
        endpoint = getattr(judge.model, "shown_url", "")
        return JudgeSpec("llm", judge, judge.model_name, judge.prompt_version, endpoint=endpoint)
    return heuristic_spec()


def context_text(ctx: JudgeContext) -> str:
    """The text that identifies a judge context in the cache: the turn's own text
    (`Turn.key_text`), plus the scenario (its content, since weights change the overall
    score) and the turn number when there is one."""
    text = Turn(ctx.reply, ctx.history).key_text()
    if ctx.scenario is None:
        return text
    digest = hashlib.sha256(ctx.scenario.model_dump_json().encode("utf-8")).hexdigest()[:16]
    return f"scenario {ctx.scenario.id} {digest} turn {ctx.turn}\n{text}"


class CachedJudge:
    """A `Judge` in front of `spec.judge` that reads and fills the rating cache, reports each
    rating, and stops between ratings once `cancel` is set (raising `Cancelled`).

    For suites that call a judge themselves (the adversarial suites) rather than through
    `rate_turns`.
    """

    def __init__(
        self,
        spec: JudgeSpec,
        cache: RatingCache,
        *,
        on_step: Callable[[], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.spec, self.cache, self.on_step, self.cancel = spec, cache, on_step, cancel
        self.name = spec.judge.name

    def rate(self, ctx: JudgeContext) -> Rating:
        """The cached rating of `ctx`, else the judge's (then cached)."""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled
        spec = self.spec
        key = cache_key(context_text(ctx), spec.name, spec.model, spec.prompt_version,
                        spec.endpoint)
        rating = self.cache.get(key)
        if rating is None:
            rating = spec.judge.rate(ctx)
            self.cache.put(key, rating)
        if self.on_step is not None:
            self.on_step()
        return rating


class Progress:
    """A one-line stderr progress bar, redrawn at most ten times a second."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total, self.label, self.done = total, label, 0
        self.stream = stream if stream is not None else sys.stderr
        self._last = 0.0
        self._t0 = time.monotonic()

    def step(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= 0.1 or self.done >= self.total:
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        width = 30
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(frac * width)
        rate = self.done / max(now - self._t0, 1e-9)
        self.stream.write(
            f"\r{self.label:<12} [{bar:<{width}}] {self.done}/{self.total} {rate:,.0f}/s"
        )
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def _rate_one(spec: JudgeSpec, turn: Turn) -> Rating:
    return spec.judge.rate(JudgeContext(reply=turn.reply, history=turn.history))


async def _run(
    spec: JudgeSpec,
    turns: Sequence[Turn],
    cache: RatingCache,
    concurrency: int,
    progress: Progress | None,
    on_step: Callable[[], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[Rating]:
    sem = asyncio.Semaphore(max(1, concurrency))
    out: list[Rating | None] = [None] * len(turns)

    def stop_if_cancelled() -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled

    async def one(i: int, turn: Turn) -> None:
        stop_if_cancelled()
        key = cache_key(
            turn.key_text(), spec.name, spec.model, spec.prompt_version, spec.endpoint
        )
        rating = cache.get(key)
        if rating is None:
            async with sem:
                stop_if_cancelled()  # checked again: the wait for a slot may be long
                rating = await asyncio.to_thread(_rate_one, spec, turn)
            cache.put(key, rating)
        out[i] = rating
        if progress is not None:
            progress.step()
        if on_step is not None:
            on_step()

    try:
        await asyncio.gather(*(one(i, t) for i, t in enumerate(turns)))
    finally:
        cache.flush()  # a cancelled or failed run keeps what it rated
    return [r for r in out if r is not None]


def rate_turns(
    spec: JudgeSpec,
    turns: Sequence[Turn],
    *,
    cache: RatingCache | None = None,
    concurrency: int = 4,
    label: str = "",
    show_progress: bool = True,
    on_step: Callable[[], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[Rating]:
    """Rate every turn, in order; cached ratings are reused.

    Args:
        spec: the judge and its cache identity.
        turns: what to rate.
        cache: where ratings are kept between runs (None: no cache).
        concurrency: how many judge calls may run at once.
        label: shown before the progress bar.
        show_progress: draw the bar on stderr.
        on_step: called after each rating (cached or new), from the calling thread.
        cancel: once set, no further rating starts and `Cancelled` is raised (the calls
            already in flight finish first: a judge call cannot be interrupted).

    Raises:
        Cancelled: `cancel` was set.
    """
    progress = Progress(len(turns), label or spec.name) if show_progress and turns else None
    return asyncio.run(
        _run(spec, turns, cache or RatingCache(None), concurrency, progress, on_step, cancel)
    )


def rate_items(spec: JudgeSpec, items: Sequence[Item], **kw) -> list[list[Rating]]:
    """Rate every turn of every item (`rate_turns` over them all); one list per item."""
    rated = rate_turns(spec, [t for it in items for t in it.turns], **kw)
    per_item, i = [], 0
    for it in items:
        per_item.append(rated[i : i + len(it.turns)])
        i += len(it.turns)
    return per_item
