"""Adversarial suites (`evals/adversarial/*.jsonl`): replies with bounds a careful person
would agree with, written independently of the judge they measure.

Each line of a suite is one case, rated as the reply to one partner line:

    {"id", "partner", "scenario", "reply", "expect": {...}}          # a bounded case
    {"id", "partner", "scenario", "base", "reply", "expect": {...}}  # stuffing: base -> reply
    {"id", "partner", "scenario", "better", "worse", "margin": 5}    # a contrastive pair

`expect` keys (the fixed vocabulary, see evals/adversarial/README.md): overall_max,
overall_min, flags_any, no_flags, unscored, criterion_min, criterion_max, max_lift.
Every expectation except `unscored` needs a scored rating: a judge that abstains on an
English reply it should read fails the case. A case may carry `lang` (ISO 639-1): then the
unscored reason must say it is about the language.

Replies go through the same safety gate a session uses (`coach.core.safety.concern`) before the
judge: a reply the gate pauses is "withheld", which fails any scored expectation. That is
how a false alarm ("that abuse of power by your boss is awful") shows up here.

Everything is a pure function of the judge and the cases; no cache, no files written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from coach.adapters.resources import adversarial_dir
from coach.core.errors import CoachError
from coach.core.rubric import CRITERION_KEYS, MAX_LEVEL, Horseman, Provenance, Rating
from coach.core.safety import concern
from coach.core.scenario import Scenario
from coach.core.session import Line
from coach.judges.base import Judge, JudgeContext

SUITES = (
    "stuffing",
    "sarcasm",
    "wrapped_contempt",
    "defensiveness",
    "bare_ack",
    "natural_good",
    "non_english",
    "pairs",
)
# English names for the `lang` codes the suites use: an unscored reason may name the
# language instead of saying "language" or "English".
LANGUAGE_NAMES = {
    "es": "spanish",
    "de": "german",
    "fr": "french",
    "pt": "portuguese",
    "it": "italian",
    "nl": "dutch",
    "pl": "polish",
    "sv": "swedish",
    "tr": "turkish",
    "ja": "japanese",
    "ro": "romanian",
    "da": "danish",
    "cs": "czech",
    "fi": "finnish",
    "el": "greek",
    "ru": "russian",
    "hu": "hungarian",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Level = Field(ge=0, le=MAX_LEVEL)


class Expect(_Strict):
    """What must hold for one case's rating (every key present must hold)."""

    overall_max: float | None = None
    overall_min: float | None = None
    flags_any: list[Horseman] | None = Field(default=None, min_length=1)
    no_flags: Literal[True] | None = None
    unscored: Literal[True] | None = None
    criterion_min: dict[str, int] | None = None
    criterion_max: dict[str, int] | None = None
    max_lift: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check(self) -> Expect:
        given = {k for k, v in self if v is not None}
        if not given:
            raise ValueError("expect is empty; give at least one bound")
        if self.unscored and given - {"unscored"}:
            raise ValueError("'unscored' cannot be combined with score bounds")
        if self.flags_any and self.no_flags:
            raise ValueError("'flags_any' and 'no_flags' contradict each other")
        for name in ("criterion_min", "criterion_max"):
            levels = getattr(self, name) or {}
            unknown = sorted(set(levels) - set(CRITERION_KEYS))
            if unknown:
                raise ValueError(f"{name}: unknown criteria {unknown}")
            bad = {k: v for k, v in levels.items() if not 0 <= v <= MAX_LEVEL}
            if bad:
                raise ValueError(f"{name}: levels must be 0, 1 or 2, got {bad}")
        return self


class _Item(_Strict):
    """What every case and pair has: an id, and the partner line (from a scenario) it
    answers."""

    id: str = Field(min_length=1)
    partner: str = Field(min_length=1)
    scenario: str | None = None


class Case(_Item):
    """One reply with its bounds; stuffing cases also carry the unstuffed `base`."""

    reply: str = Field(min_length=1)
    base: str | None = None
    lang: str | None = None
    expect: Expect

    @model_validator(mode="after")
    def _check(self) -> Case:
        if (self.expect.max_lift is None) != (self.base is None):
            raise ValueError("'max_lift' and 'base' go together (the base is the unstuffed reply)")
        return self


class Pair(_Item):
    """Two replies to the same line: `better` must beat `worse` by `margin` points."""

    better: str = Field(min_length=1)
    worse: str = Field(min_length=1)
    margin: float = Field(default=5.0, ge=0)


Item = Case | Pair


def default_dir() -> Path:
    """The suites shipped in the repo: `evals/adversarial/`."""
    return adversarial_dir()


def _field_errors(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(line)"
        parts.append(f"{loc}: {e['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def parse_line(text: str, *, source: str) -> Item:
    """One JSONL line -> a Case or a Pair (a line with `better` is a pair).

    Raises:
        CoachError: not JSON, or not a valid case; the message names `source` and the field.
    """
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise CoachError(f"{source}: not valid JSON ({e.msg})") from None
    if not isinstance(obj, dict):
        raise CoachError(f"{source}: each line must be a JSON object")
    model: type[Case] | type[Pair] = Pair if "better" in obj else Case
    try:
        return model.model_validate(obj)
    except ValidationError as e:
        raise CoachError(f"{source}: not a valid case: {_field_errors(e)}") from None


def load_suite(path: Path) -> list[Item]:
    """Every case of one suite file (blank lines are skipped; ids must be unique).

    Raises:
        CoachError: the file cannot be read, or a line is broken (named by file and line).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CoachError(f"{path}: no such suite file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CoachError(f"{path}: cannot read the suite ({e})") from None
    items: list[Item] = []
    seen: set[str] = set()
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        item = parse_line(line, source=f"{path}:{n}")
        if item.id in seen:
            raise CoachError(f"{path}:{n}: id '{item.id}' is used twice")
        seen.add(item.id)
        items.append(item)
    return items


def suite_paths(directory: Path | None = None) -> dict[str, Path]:
    """Suite name (file stem) -> path for every `*.jsonl` in the folder, in a stable order:
    the shipped suites first in `SUITES` order, then any other file by name.

    Raises:
        CoachError: the folder is missing or holds no suite.
    """
    directory = directory or default_dir()
    if not directory.is_dir():
        raise CoachError(f"{directory}: adversarial suite folder not found")
    found = {p.stem: p for p in sorted(directory.glob("*.jsonl"))}
    if not found:
        raise CoachError(f"{directory}: no *.jsonl suites in this folder")
    order = [s for s in SUITES if s in found] + [s for s in found if s not in SUITES]
    return {s: found[s] for s in order}


def turn_of(scenario: Scenario | None, partner: str) -> int:
    """Which user turn answers `partner`: 1 after the opening, i + 2 after beat i's line.

    A line that is not in the scenario (or no scenario) counts as the opening turn.
    """
    if scenario is None:
        return 1
    if partner.strip() == scenario.opening:
        return 1
    for i, beat in enumerate(scenario.beats):
        if partner.strip() in {beat.heard, beat.fixing, beat.dismissing, beat.self_focused,
                               beat.neutral}:
            return i + 2
    return 1


def rate_reply(
    judge: Judge, partner: str, reply: str, scenario: Scenario | None, *, safety: bool = True
) -> Rating:
    """Rate `reply` as the answer to `partner`, through the session's safety gate first."""
    if safety:
        phrase = concern(reply)
        if phrase:
            return Rating(
                status="withheld",
                reason=f"the safety check paused the role-play on '{phrase}'",
                source=Provenance(backend="safety"),
            )
    ctx = JudgeContext(
        reply=reply,
        history=(Line("partner", partner),),
        scenario=scenario,
        turn=turn_of(scenario, partner),
    )
    return judge.rate(ctx)


def _show(r: Rating) -> str:
    if r.status != "scored" or r.overall is None:
        why = f": {r.reason}" if r.reason else ""
        return f"{r.status}{why}"
    return f"{r.overall:g}"


def _mentions_language(reason: str, lang: str | None) -> bool:
    low = reason.lower()
    names = {"language", "english"}
    if lang:
        names |= {lang.lower(), LANGUAGE_NAMES.get(lang.lower(), lang.lower())}
    return any(n in low for n in names)


def check_case(case: Case, rating: Rating, base: Rating | None = None) -> list[str]:
    """Why `rating` breaks the case's bounds (empty when every bound holds).

    Args:
        case: the case and its `expect`.
        rating: the rating of `case.reply`.
        base: the rating of `case.base` (stuffing cases only).
    """
    exp = case.expect
    if exp.unscored:
        if rating.status != "unscored":
            return [f"expected unscored, got {_show(rating)}"]
        if not rating.reason.strip():
            return ["unscored without a reason"]
        if case.lang and not _mentions_language(rating.reason, case.lang):
            return [f"unscored, but the reason does not mention the language: {rating.reason!r}"]
        return []
    if rating.status != "scored" or rating.overall is None:
        return [f"expected a scored rating, got {_show(rating)}"]
    out: list[str] = []
    o = rating.overall
    if exp.overall_max is not None and o > exp.overall_max:
        out.append(f"overall {o:g} > max {exp.overall_max:g}")
    if exp.overall_min is not None and o < exp.overall_min:
        out.append(f"overall {o:g} < min {exp.overall_min:g}")
    if exp.flags_any and not set(exp.flags_any) & set(rating.flags):
        out.append(f"no flag among {exp.flags_any} (flags: {rating.flags})")
    if exp.no_flags and rating.flags:
        out.append(f"unexpected flags {rating.flags}")
    for key, lo in (exp.criterion_min or {}).items():
        got = rating.level(key)
        if got is None or got < lo:
            out.append(f"{key} level {got} < min {lo}")
    for key, hi in (exp.criterion_max or {}).items():
        got = rating.level(key)
        if got is None or got > hi:
            out.append(f"{key} level {got} > max {hi}")
    if exp.max_lift is not None:
        if base is None or base.status != "scored" or base.overall is None:
            out.append(f"base reply not scored ({'missing' if base is None else _show(base)})")
        elif o - base.overall > exp.max_lift:
            out.append(
                f"lift {o - base.overall:+g} > max {exp.max_lift:g} "
                f"(base {base.overall:g} -> {o:g})"
            )
    return out


def check_pair(pair: Pair, better: Rating, worse: Rating) -> list[str]:
    """Why the pair is not ordered (empty when better beats worse by the margin)."""
    if better.status != "scored" or better.overall is None:
        return [f"better reply not scored ({_show(better)})"]
    if worse.status != "scored" or worse.overall is None:
        return [f"worse reply not scored ({_show(worse)})"]
    gap = better.overall - worse.overall
    if gap < pair.margin:
        return [
            f"better {better.overall:g} - worse {worse.overall:g} = {gap:+g} "
            f"< margin {pair.margin:g}"
        ]
    return []


def texts_of(item: Item) -> list[str]:
    """The replies one case or pair has the judge rate (1 or 2)."""
    if isinstance(item, Pair):
        return [item.better, item.worse]
    return [item.reply] if item.base is None else [item.reply, item.base]


def run_suite(
    judge: Judge,
    items: Sequence[Item],
    library: Mapping[str, Scenario] | None = None,
    *,
    safety: bool = True,
    concurrency: int = 1,
) -> dict:
    """Rate every reply of a suite and check each case.

    Args:
        judge: any `Judge`.
        items: the suite's cases and pairs.
        library: scenario id -> scenario, for cases that name one (weights and turn).
        safety: pass replies through the session's safety gate first (as a session does).
        concurrency: judge calls in flight (worker threads); 1 rates in order.

    Returns:
        {"cases", "passed", "failures": [{"id", "reasons", "ratings"}], "rows": [...]},
        where ratings are the overall scores (or status) of the replies in the case.

    Raises:
        CoachError: a case names a scenario the library does not have.
    """
    library = library or {}
    jobs: list[tuple[str, str, Scenario | None]] = []
    for item in items:
        sc = None
        if item.scenario is not None:
            sc = library.get(item.scenario)
            if sc is None:
                raise CoachError(
                    f"case '{item.id}': unknown scenario '{item.scenario}' "
                    "(use an id from the scenario folder, or leave it out)"
                )
        jobs += [(item.partner, text, sc) for text in texts_of(item)]

    def one(job: tuple[str, str, Scenario | None]) -> Rating:
        return rate_reply(judge, job[0], job[1], job[2], safety=safety)

    if concurrency > 1 and len(jobs) > 1:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            ratings = list(pool.map(one, jobs))
    else:
        ratings = [one(j) for j in jobs]

    rows, failures, i = [], [], 0
    for item in items:
        got = ratings[i : i + len(texts_of(item))]
        i += len(got)
        if isinstance(item, Pair):
            reasons = check_pair(item, got[0], got[1])
        else:
            reasons = check_case(item, got[0], got[1] if len(got) > 1 else None)
        shown = [_show(r) for r in got]
        rows.append({"id": item.id, "passed": not reasons, "ratings": shown})
        if reasons:
            failures.append({"id": item.id, "reasons": reasons, "ratings": shown})
    return {
        "cases": len(items),
        "passed": len(items) - len(failures),
        "failures": failures,
        "rows": rows,
    }


def run_all(
    judge: Judge,
    directory: Path | None = None,
    library: Mapping[str, Scenario] | None = None,
    *,
    suites: Sequence[str] | None = None,
    safety: bool = True,
    concurrency: int = 1,
    on_suite: Callable[[str], None] | None = None,
) -> dict:
    """Every suite in `directory` (default: the shipped ones), and the totals.

    Args:
        judge: any `Judge`.
        directory: a folder of `*.jsonl` suites (the held-out probe set is one such folder).
        library: scenarios by id (default: the scenario library).
        suites: only these suite names (file stems).
        safety, concurrency: as in `run_suite`.
        on_suite: called with each suite's name before it runs (progress).

    Returns:
        {"directory", "cases", "passed", "suites": {name: run_suite(...)}}.

    Raises:
        CoachError: a missing folder or suite, a broken line, an unknown scenario.
    """
    if library is None:
        from coach.adapters.scenario_files import load_library

        library = load_library()
    paths = suite_paths(directory)
    if suites is not None:
        missing = [s for s in suites if s not in paths]
        if missing:
            raise CoachError(f"no suite named {', '.join(missing)} in {directory or default_dir()}")
        paths = {s: paths[s] for s in suites}
    out: dict = {"directory": str(directory or default_dir()), "cases": 0, "passed": 0,
                 "suites": {}}
    for name, path in paths.items():
        if on_suite is not None:
            on_suite(name)
        res = run_suite(judge, load_suite(path), library, safety=safety, concurrency=concurrency)
        out["suites"][name] = res
        out["cases"] += res["cases"]
        out["passed"] += res["passed"]
    return out
