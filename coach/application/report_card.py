"""The report card, "How good is this judge?": `coach eval` for the judge a person chose.

`run_report_card` is the one function the CLI (`coach report-card`) and the app's Judge page
call. It measures the judge (the built-in rules, or the model judge of the session's
backend) with the evaluation machinery (`coach.evaluation`) on:

- the project's own suites, always: the gold set (the scenario examples) and the
  adversarial suites (evals/adversarial);
- each labelled dataset the person has: a folder given (the page's field, `--dataset`) or
  its environment variable (COACH_EPITOME_DIR, ...). One that is not there is named in
  `needs`, with what a full run takes and where the public data comes from.

Ratings go through the eval rating cache, so a run that was stopped carries on where it
stopped; the finished card is kept in the same cache file, keyed by the judge (kind, model,
prompt and rules version, server) and a digest of the data, so asking again gives it back at
once. `refresh=True` rates everything afresh. Progress is reported through `on_progress`;
setting `cancel` stops the run between ratings (`Cancelled`). A model that cannot be reached
ends the run with its one-line error in the card (`error`), beside what was finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from coach.core.errors import CoachError, ModelError
from coach.core.wording import UI, either, worded
from coach.evaluation import adversarial
from coach.evaluation import datasets as ds
from coach.evaluation.cache import RatingCache, default_cache_path
from coach.evaluation.report import EPITOME_GOAL, EPITOME_REFERENCE, LAE_REFERENCE
from coach.evaluation.runner import CachedJudge, Cancelled, JudgeSpec, rate_items, spec_of
from coach.evaluation.scoring import score_dataset
from coach.judges.base import Judge

__all__ = ["Cancelled", "CardProgress", "ReportCard", "Row", "run_report_card"]

# Bump when the card's content or the way its figures are computed (scoring, the safety
# gate) changes: older cards are then not reused. The judge's own version is in the key.
CARD_VERSION = "card2"
EXTERNAL = ("epitome", "lend-an-ear", "esconv", "annomi")
ENV = ds.ENV  # dataset name -> the environment variable that names its folder
TITLES = {
    "gold": "Gold set",
    "epitome": "EPITOME",
    "lend-an-ear": "Lend an Ear",
    "esconv": "ESConv",
    "annomi": "AnnoMI",
}
# Where each dataset comes from, and what its folder must hold (see the data README).
SOURCES = {
    "epitome": "EPITOME (Sharma et al., EMNLP 2020): github.com/behavioral-data/"
    "Empathy-Mental-Health, academic licence",
    "lend-an-ear": "Lend an Ear (Kumar et al., \"When LLMs are reliable for judging empathic "
    "communication\"): the 50 rated conversations come from the authors",
    "esconv": "ESConv (Liu et al., ACL 2021): github.com/thu-coai/Emotional-Support-Conversation"
    ", CC BY-NC 4.0",
    "annomi": "AnnoMI (Wu et al., ICASSP 2022): github.com/uccollab/AnnoMI",
}
FILES = {
    "epitome": ", ".join(ds.EPITOME_FILES.values()),
    "lend-an-ear": "conversations.csv and expert1_ratings.csv (expert2, expert3...)",
    "esconv": ds.ESCONV_FILE + " (seeker_before, response, strategy)",
    "annomi": ds.ANNOMI_FILE + " (transcript_id, utterance_id, client_before, utterance_text, "
    "reflection, question, therapist_input)",
}
ROBERTA = "RoBERTa, fine-tuned (authors)"
LLM_JUDGES = "LLM judges (published)"
CROWD = "crowd workers"
EXPERTS = "expert vs expert"
REFERENCES = (ROBERTA, LLM_JUDGES, CROWD, EXPERTS)
MAX_FAILURES_SHOWN = 30


@dataclass(frozen=True)
class CardProgress:
    """How far a run is: `done` of `total` ratings, and what it is doing now."""

    done: int
    total: int
    stage: str

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 0.0


@dataclass
class Row:
    """One line of the comparison: the judge's figure beside the published ones.

    Attributes:
        dataset: "EPITOME", "Lend an Ear", "ESConv", "AnnoMI" or "Gold set".
        measure: "macro-F1", "QWK" (quadratic-weighted kappa), "F1", "Spearman", ...
        what: the dimension, code or criterion.
        judge: this judge's figure (None: not run, see `note`).
        ci: its 95% bootstrap interval, when there is one.
        n: how many items the figure is over.
        refs: published figures by source (`REFERENCES`), where the literature has one.
        expert_range: the range of agreement between two experts, where published.
        goal: the project's target (issue 9), where there is one.
        note: why there is no figure ("not run: ...").
    """

    dataset: str
    measure: str
    what: str
    judge: float | None = None
    ci: list[float] | None = None
    n: int = 0
    refs: dict[str, float] = field(default_factory=dict)
    expert_range: list[float] | None = None
    goal: float | None = None
    note: str = ""


@dataclass
class ReportCard:
    """A finished (or model-interrupted) report card; see the module docstring."""

    judge: str
    kind: str
    model: str
    prompt_version: str
    endpoint: str
    made_at: str
    rows: list[Row]
    suites: list[dict]
    failures: list[dict]
    skipped: dict[str, str]
    needs: list[str]
    problems: list[str]
    left_out: list[str]
    error: str
    ratings: dict[str, int]
    report: dict
    from_cache: bool = False

    def needs_for(self, ui: UI) -> list[str]:
        """What a full run needs, in the words of `ui`."""
        return [worded(n, ui) for n in self.needs]

    def error_for(self, ui: UI) -> str:
        """The model's error (one line), in the words of `ui`; "" when there was none."""
        return worded(self.error, ui)

    @property
    def adversarial(self) -> tuple[int, int]:
        """(passed, cases) over every adversarial suite that ran."""
        return (sum(s["passed"] for s in self.suites), sum(s["cases"] for s in self.suites))

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ReportCard:
        data = json.loads(text)
        data["rows"] = [Row(**r) for r in data["rows"]]
        return cls(**data)


# ------------------------------------------------------------------ the table and chart


def table(card: ReportCard) -> list[dict[str, object]]:
    """The comparison as rows of named columns (numbers as numbers, None where empty)."""
    out = []
    for r in card.rows:
        row: dict[str, object] = {
            "Dataset": r.dataset,
            "Measure": r.measure,
            "What": r.what,
            "This judge": r.judge,
            "95% CI": f"{r.ci[0]:.2f} to {r.ci[1]:.2f}" if r.ci else "",
            "n": r.n or None,
        }
        for name in REFERENCES[:-1]:
            row[name] = r.refs.get(name)
        row[EXPERTS] = (
            f"{r.expert_range[0]:.2f} to {r.expert_range[1]:.2f}" if r.expert_range else ""
        )
        row["Goal"] = r.goal
        row["Note"] = r.note
        out.append(row)
    return out


def chart_points(card: ReportCard) -> list[dict[str, object]]:
    """Long-form points for a grouped bar chart: one bar per (row, source), drawn from
    `start` to `end` (0 to the value; the experts' range from its low to its high end).
    Charted: rows with a published reference or a goal, and the gold set's criteria."""
    out: list[dict[str, object]] = []
    for r in card.rows:
        # The gold set has no published figure, but its criteria belong on the chart.
        gold = r.dataset == "Gold set" and r.measure == "macro-F1" and r.what != "all criteria"
        if not (r.refs or r.expert_range or r.goal is not None or gold):
            continue
        panel = f"{r.dataset}: {r.measure}"

        def bar(source: str, start: float, end: float, text: str, r=r, panel=panel) -> None:
            out.append({"panel": panel, "what": r.what, "source": source, "start": start,
                        "end": end, "label": text})

        if r.judge is not None:
            bar("this judge", 0.0, r.judge, f"{r.judge:.2f}")
        for name, value in r.refs.items():
            bar(name, 0.0, value, f"{value:.2f}")
        if r.expert_range:
            lo, hi = r.expert_range
            bar(EXPERTS, lo, hi, f"{lo:.2f} to {hi:.2f}")
        if r.goal is not None:
            bar("goal", 0.0, r.goal, f"{r.goal:.2f}")
    return out


def _what(key: str) -> str:
    return key.replace("_", " ")


def comparison_rows(report: dict, skipped: Mapping[str, str]) -> list[Row]:
    """The card's rows from an eval report (`coach eval`'s JSON shape)."""
    got = report["datasets"]
    rows: list[Row] = []
    epi = got.get("epitome")
    for mech, ref in EPITOME_REFERENCE.items():
        m = (epi or {}).get(mech)
        row = Row("EPITOME", "macro-F1", _what(mech), refs={ROBERTA: ref},
                  goal=EPITOME_GOAL[mech])
        if m:
            row.judge, row.ci, row.n = m["macro_f1"], m.get("macro_f1_ci95"), m["n"]
        elif "epitome" in skipped:
            row.note = "not run"
        else:
            continue
        rows.append(row)
    lae = got.get("lend_an_ear")
    for dim, ref in LAE_REFERENCE.items():
        m = (lae or {}).get(dim)
        row = Row("Lend an Ear", "QWK", _what(dim),
                  refs={LLM_JUDGES: ref["llm"], CROWD: ref["crowd"]},
                  expert_range=list(ref["experts"]))
        if m:
            row.judge, row.ci, row.n = m["qwk"], m.get("qwk_ci95"), m["n"]
        elif "lend_an_ear" in skipped:
            row.note = "not run"
        else:
            continue
        rows.append(row)
    for key in ("esconv", "annomi"):
        d = got.get(key) or {}
        for code, m in d.items():
            if isinstance(m, dict) and "f1" in m:
                rows.append(Row(TITLES[key], "F1", _what(code), judge=m["f1"],
                                ci=m.get("f1_ci95"), n=m["n"], goal=m.get("goal")))
        ratio = d.get("ratio")
        if ratio:
            rows.append(Row(TITLES[key], "Spearman", "reflection-to-question ratio",
                            judge=ratio["spearman"], ci=ratio.get("spearman_ci95"),
                            n=ratio["n"]))
    gold = got.get("gold") or {}
    if "all" in gold:
        a = gold["all"]
        rows += [
            Row("Gold set", "accuracy", "all criteria", judge=a["accuracy"], n=a["n"]),
            Row("Gold set", "macro-F1", "all criteria", judge=a["macro_f1"],
                ci=a.get("macro_f1_ci95"), n=a["n"]),
            Row("Gold set", "within one level", "all criteria", judge=a["within_one"],
                n=a["n"]),
        ]
        for key, m in gold.items():
            if key != "all" and isinstance(m, dict) and "macro_f1" in m:
                rows.append(Row("Gold set", "macro-F1", _what(key), judge=m["macro_f1"],
                                n=m["n"]))
    return rows


# ------------------------------------------------------------------ what a full run needs


def _need(name: str, why: str) -> str:
    env = ds.ENV[name]
    where = either(
        cli=f"set {env} (or pass --dataset {name}=DIR)",
        app=f"give the {TITLES[name]} folder under Labelled data on this page (or set {env} "
        "before starting the app)",
    )
    return (f"{TITLES[name]} was not run ({why}). For it, {where}: a folder with "
            f"{FILES[name]}. The data: {SOURCES[name]}.")


def _folder(name: str, given: str | Path | None, env: Mapping[str, str]) -> Path:
    """The dataset's folder, from `given` or its environment variable.

    Raises:
        DatasetMissing: neither is set, or it is not a folder; the message says which.
    """
    raw = str(given).strip() if given else env.get(ds.ENV[name], "").strip()
    if not raw:
        raise ds.DatasetMissing("no folder given")
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise ds.DatasetMissing(f"{path} is not a folder")
    return path


# ------------------------------------------------------------------ the run


class _Tracker:
    """Counts ratings from any thread and reports progress, at most every 0.1 s (and at
    every stage change), so a fast judge does not flood the page or the terminal."""

    def __init__(self, total: int, report: Callable[[CardProgress], None] | None) -> None:
        self.total, self.done, self.stage = total, 0, ""
        self._report = report
        self._lock = threading.Lock()
        self._last = 0.0

    def begin(self, stage: str, done: int | None = None) -> None:
        with self._lock:
            self.stage = stage
            if done is not None:
                self.done = done
        self._send(force=True)

    def step(self) -> None:
        with self._lock:
            self.done += 1
        self._send()

    def _send(self, force: bool = False) -> None:
        if self._report is None:
            return
        now = time.monotonic()
        if force or now - self._last >= 0.1:
            self._last = now
            self._report(CardProgress(min(self.done, self.total), self.total, self.stage))


def _digest(h: hashlib._Hash, *parts: object) -> None:
    for p in parts:
        h.update(str(p).encode("utf-8"))
        h.update(b"\x1f")


def card_key(spec: JudgeSpec, data: Mapping[str, list[ds.Item]], suites: Mapping[str, list],
             library: Mapping, skipped: Mapping[str, str], *, limit: int | None,
             rounds: int) -> str:
    """The cache key of a card: the judge's identity and everything the card depends on
    (the data, and why a dataset is missing: the card says it)."""
    h = hashlib.sha256()
    _digest(h, CARD_VERSION, spec.name, spec.model, spec.prompt_version,
            spec.endpoint, limit, rounds, sorted(skipped.items()))
    for name, items in data.items():
        _digest(h, "dataset", name, len(items))
        for it in items:
            _digest(h, it.id, it.group, sorted(it.gold.items()), sorted(it.meta.items()),
                    *(t.key_text() for t in it.turns))
    for name, cases in suites.items():
        _digest(h, "suite", name, *(c.model_dump_json() for c in cases))
    for sid, sc in library.items():
        _digest(h, "scenario", sid, sc.model_dump_json())
    return h.hexdigest()


def default_concurrency(endpoint: str) -> int:
    """How many judge calls to keep in flight: one for a server on this computer, four
    otherwise. A local server (llama.cpp, LM Studio, Ollama's default) usually answers one
    request at a time, so calls sent together wait in its queue, and the last of them runs
    out of its time budget while it waits, which stops the whole card."""
    host = (urlsplit(endpoint).hostname or "") if endpoint else ""
    if host in ("localhost", "::1") or host.startswith("127."):
        return 1
    return 4


def run_report_card(
    judge: Judge | None = None,
    folders: Mapping[str, str | Path | None] | None = None,
    *,
    limit: int | None = None,
    refresh: bool = False,
    cache_path: Path | None = None,
    scenarios: Path | None = None,
    concurrency: int | None = None,
    rounds: int = 1000,
    on_progress: Callable[[CardProgress], None] | None = None,
    cancel: threading.Event | None = None,
    env: Mapping[str, str] | None = None,
) -> ReportCard:
    """Measure `judge` and compare it with the published figures.

    Args:
        judge: the judge a session uses (a model judge, or None / the built-in rules).
        folders: dataset name ("epitome", "lend-an-ear", "esconv", "annomi") -> folder;
            a name left out or empty falls back to its environment variable.
        limit: rate at most this many items per dataset (None: all).
        refresh: rate everything afresh and make a new card (the old one is replaced).
        cache_path: the eval cache file (default `$COACH_HOME/eval-cache/ratings.sqlite`).
        scenarios: the scenario folder (default: the library) for the gold set and suites.
        concurrency: judge calls in flight (default: `default_concurrency` for the judge's
            server).
        rounds: bootstrap rounds for the 95% intervals (as `coach eval --bootstrap`).
        on_progress: called with the progress, from the running thread.
        cancel: set it to stop the run between ratings.
        env: where the dataset variables are read (default: os.environ).

    Returns:
        The card; `from_cache` says it was the stored one.

    Raises:
        Cancelled: `cancel` was set; the ratings made so far are kept in the cache.
        CoachError: a scenario or suite file is broken, or the cache cannot be written.
    """
    from coach.adapters.scenario_files import load_library

    env = os.environ if env is None else env
    if limit is not None and limit < 1:
        raise CoachError(f"the limit must be a positive number of items (got {limit})")
    spec = spec_of(judge)
    if concurrency is None:
        concurrency = default_concurrency(spec.endpoint)
    folders = folders or {}
    if on_progress is not None:  # reading big datasets takes a moment: say so
        on_progress(CardProgress(0, 0, "Reading the datasets"))
    library = load_library(scenarios)
    data: dict[str, list[ds.Item]] = {"gold": ds.load_gold(scenarios)}
    skipped: dict[str, str] = {}
    needs: list[str] = []
    problems: list[str] = []
    for name in EXTERNAL:
        try:
            data[name] = ds.LOADERS[name](_folder(name, folders.get(name), env))
        except ds.DatasetMissing as e:
            skipped[ds.REPORT_KEY[name]] = str(e)
            needs.append(_need(name, str(e)))
        except CoachError as e:  # there, but broken: one line naming the file and line
            skipped[ds.REPORT_KEY[name]] = str(e)
            problems.append(f"{TITLES[name]} was not run: {e}")
    if limit:
        data = {name: items[:limit] for name, items in data.items()}
    suites = {name: adversarial.load_suite(path)
              for name, path in adversarial.suite_paths().items()}
    total = sum(len(it.turns) for items in data.values() for it in items)
    total += sum(len(adversarial.texts_of(c)) for cases in suites.values() for c in cases)
    tracker = _Tracker(total, on_progress)
    key = card_key(spec, data, suites, library, skipped, limit=limit, rounds=rounds)

    cache = RatingCache(cache_path or default_cache_path(), read=not refresh)
    try:
        stored = cache.get_card(key)
        if stored is not None:
            card = ReportCard.from_json(stored)
            card.from_cache = True
            tracker.begin("From the cache", done=total)
            return card
        report: dict = {"judge": spec.name, "model": spec.model,
                        "prompt_version": spec.prompt_version, "datasets": {},
                        "skipped": skipped}
        error = _measure(spec, data, suites, library, report, cache, tracker,
                         concurrency=concurrency, rounds=rounds, cancel=cancel)
        card = _card(spec, report, skipped, needs, problems, error, cache)
        if not error and not problems:
            cache.put_card(key, card.to_json())
        tracker.begin("Done", done=total)
        return card
    finally:
        cache.close()


def _measure(spec: JudgeSpec, data: Mapping[str, list[ds.Item]], suites: Mapping[str, list],
             library: Mapping, report: dict, cache: RatingCache, tracker: _Tracker, *,
             concurrency: int, rounds: int, cancel: threading.Event | None) -> str:
    """Rate and score everything into `report`; the model's error ("" when none)."""
    done = 0
    try:
        for name, items in data.items():
            n = sum(len(it.turns) for it in items)
            tracker.begin(f"Rating {TITLES[name]} ({n:,} replies)", done=done)
            ratings = rate_items(spec, items, cache=cache, concurrency=concurrency,
                                 show_progress=False, on_step=tracker.step, cancel=cancel)
            done += n
            tracker.begin(f"Scoring {TITLES[name]} (95% intervals)", done=done)
            report["datasets"][ds.REPORT_KEY[name]] = score_dataset(
                name, items, ratings, spec.name, rounds)
            if cancel is not None and cancel.is_set():
                raise Cancelled
        tracker.begin("Adversarial suites", done=done)
        judge = CachedJudge(spec, cache, on_step=tracker.step, cancel=cancel)
        report["adversarial"] = adversarial.run_all(
            judge, library=library, concurrency=concurrency,
            on_suite=lambda s: tracker.begin(f"Adversarial suite: {s.replace('_', ' ')}"),
        )
    except ModelError as e:
        return e.template  # marked for either UI's wording; redacted by ModelError itself
    finally:
        cache.flush()
    return ""


def _card(spec: JudgeSpec, report: dict, skipped: dict[str, str], needs: list[str],
          problems: list[str], error: str, cache: RatingCache) -> ReportCard:
    adv = report.get("adversarial") or {"suites": {}}
    suites = [{"suite": name, "passed": s["passed"], "cases": s["cases"]}
              for name, s in adv["suites"].items()]
    failures = [{"suite": name, "id": f["id"], "why": "; ".join(f["reasons"])}
                for name, s in adv["suites"].items() for f in s["failures"]]
    left_out = []
    for name, d in report["datasets"].items():
        parts = [f"{d[k]} {k}" for k in ("fallback", "unscored") if d.get(k)]
        if parts:
            # Fallback ratings are the rules' grades, not the model's: never counted.
            left_out.append(f"{name}: {d.get('n_items', 0)} items rated by the judge; left "
                            f"out of the figures: {', '.join(parts)}")
    label = (f"built-in rules ({spec.model})" if spec.name == "heuristic"
             else f"model {spec.model} at {spec.endpoint}")
    return ReportCard(
        judge=label, kind=spec.name, model=spec.model, prompt_version=spec.prompt_version,
        endpoint=spec.endpoint, made_at=datetime.now(UTC).isoformat(timespec="seconds"),
        rows=comparison_rows(report, skipped), suites=suites,
        failures=failures[:MAX_FAILURES_SHOWN], skipped=skipped, needs=needs,
        problems=problems, left_out=left_out, error=error,
        ratings={"cached": cache.hits, "new": cache.misses}, report=report,
    )
