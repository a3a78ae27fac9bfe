"""`coach eval`: measure a judge against labelled datasets, the robustness suites and the
adversarial suites (evals/adversarial, or any folder of them with --adversarial DIR).

    coach eval --judge heuristic --dataset epitome=DIR --dataset lend-an-ear=DIR \\
        --dataset esconv=DIR --dataset annomi=DIR --report out.json --chart out.png

`gold` (the scenario examples) needs no path; EPITOME, Lend an Ear, ESConv and AnnoMI take
one, or fall back to COACH_EPITOME_DIR / COACH_LEND_AN_EAR_DIR / COACH_ESCONV_DIR /
COACH_ANNOMI_DIR. A dataset that is not there is skipped with a message saying how to
provide it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from coach.core.errors import CoachError
from coach.evaluation import datasets as ds
from coach.evaluation.cache import RatingCache, default_cache_path
from coach.evaluation.crosscheck import crosscheck_figures
from coach.evaluation.floors import check_floors, load_floors
from coach.evaluation.report import table_lines, write_chart, write_json
from coach.evaluation.runner import JudgeSpec, heuristic_spec, rate_items
from coach.evaluation.scoring import score_dataset


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `eval` subcommand."""
    from coach.cli.model_flags import add_model_flags

    p = subparsers.add_parser(
        "eval",
        help="measure a judge against labelled data and robustness suites",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--judge", choices=["heuristic", "llm"], default="heuristic")
    p.add_argument(
        "--dataset",
        action="append",
        metavar="NAME[=DIR]",
        help="gold, epitome[=DIR], lend-an-ear[=DIR], esconv[=DIR] or annomi[=DIR]; "
        "repeatable (default: gold, plus any dataset whose environment variable is set)",
    )
    p.add_argument("--limit", type=int, help="rate at most N items per dataset")
    p.add_argument("--concurrency", type=int, default=4, help="judge calls in flight (default 4)")
    p.add_argument("--report", type=Path, help="write the JSON report here")
    p.add_argument("--chart", type=Path, help="write the PNG chart here")
    p.add_argument(
        "--floors",
        type=Path,
        help="check the figures against a floors file (e.g. evals/floors.toml); "
        "exit 1 when a lower 95%% bound is under its floor",
    )
    p.add_argument("--no-cache", action="store_true", help="rate everything afresh")
    p.add_argument("--cache", type=Path, help="cache file (default $COACH_HOME/eval-cache/)")
    p.add_argument(
        "--no-robustness",
        action="store_true",
        help="skip the injection/padding/paraphrase suites, and the adversarial suites "
        "unless --adversarial is given",
    )
    p.add_argument(
        "--adversarial",
        type=Path,
        metavar="DIR",
        help="folder of adversarial suites (*.jsonl) to run (default: evals/adversarial)",
    )
    p.add_argument("--no-adversarial", action="store_true", help="skip the adversarial suites")
    p.add_argument("--repeats", type=int, default=5, help="self-consistency repeats (default 5)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap rounds (0: none)")
    p.add_argument("--scenarios", type=Path, help="scenario folder for the gold set")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_model_flags(p)
    p.set_defaults(func=run)


def parse_datasets(values: list[str] | None) -> dict[str, str | None]:
    """`["gold", "epitome=DIR"]` -> {"gold": None, "epitome": "DIR"}.

    Raises:
        CoachError: an unknown dataset name.
    """
    if not values:
        chosen: dict[str, str | None] = {"gold": None}
        for name, env in ds.ENV.items():
            if os.environ.get(env):
                chosen[name] = None
        return chosen
    out: dict[str, str | None] = {}
    for v in values:
        name, _, path = v.partition("=")
        name = name.strip().lower().replace("_", "-")
        if name not in ds.NAMES:
            raise CoachError(f"unknown dataset '{name}'; use one of {', '.join(ds.NAMES)}")
        out[name] = path or None
    return out


def llm_spec(args: argparse.Namespace) -> JudgeSpec:
    """The configured model judge, through the same backend the app uses.

    Raises:
        CoachError: no model is configured, or the model backends are not installed.
    """
    from coach.cli.model_flags import config_from_args

    config = config_from_args(args)
    if config is None:
        raise CoachError(
            "--judge llm needs a model: set OPENAI_BASE_URL (and COACH_JUDGE_MODEL) "
            "or pass --base-url/--judge-model"
        )
    from coach.adapters.config import safe_url
    from coach.adapters.llm import OpenAIChatModel
    from coach.judges.builtin import HeuristicJudge
    from coach.judges.model import LLMJudge

    # As `coach.application.backends.make_backend` builds it for a session: the built-in
    # rules stand in for an unusable answer (and such ratings are counted, never scored).
    judge = LLMJudge(OpenAIChatModel.from_config(config), config.judge_model, config.structured,
                     fallback=HeuristicJudge())
    return JudgeSpec(
        "llm", judge, config.judge_model, judge.prompt_version, endpoint=safe_url(config.base_url)
    )


def load_items(name: str, path: str | None, args: argparse.Namespace) -> list[ds.Item]:
    """Read one dataset. Raises DatasetMissing when it is not there."""
    if name == "gold":
        return ds.load_gold(args.scenarios)
    return ds.LOADERS[name](ds.resolve_path(name, path))


def evaluate(args: argparse.Namespace) -> dict:
    """Run the whole evaluation described by `args` and return the report."""
    if args.limit is not None and args.limit < 1:
        raise CoachError(f"--limit must be a positive number of items (got {args.limit})")
    if args.concurrency < 1:
        raise CoachError(f"--concurrency must be at least 1 (got {args.concurrency})")
    spec = heuristic_spec() if args.judge == "heuristic" else llm_spec(args)
    cache = RatingCache(None if args.no_cache else (args.cache or default_cache_path()))
    kw = {"cache": cache, "concurrency": args.concurrency, "show_progress": not args.quiet}
    report: dict = {
        "judge": spec.name,
        "model": spec.model,
        "prompt_version": spec.prompt_version,
        "datasets": {},
        "skipped": {},
    }
    for name, path in parse_datasets(args.dataset).items():
        try:
            items = load_items(name, path, args)
        except ds.DatasetMissing as e:
            report["skipped"][ds.REPORT_KEY[name]] = str(e)
            print(f"coach eval: skipping {e}", file=sys.stderr)
            continue
        if args.limit:
            items = items[: args.limit]
        per_item = rate_items(spec, items, label=name, **kw)
        report["datasets"][ds.REPORT_KEY[name]] = score_dataset(name, items, per_item, spec.name,
                                                     args.bootstrap)
        if spec.name != "heuristic":
            # The built-in rules read every reply a model judges (as in a session): how
            # often they disagree sharply, and who was nearer the label when they did.
            rules = rate_items(heuristic_spec(), items, show_progress=False)
            report.setdefault("crosscheck", {})[ds.REPORT_KEY[name]] = crosscheck_figures(
                items, per_item, rules
            )
    if not args.no_robustness:
        from coach.evaluation.robustness import run_all

        repeats = args.repeats if spec.name == "llm" else 1
        report["robustness"] = run_all(spec, repeats=repeats, **kw)
    if not args.no_adversarial and (args.adversarial is not None or not args.no_robustness):
        report["adversarial"] = run_adversarial(spec, args)
    report["cache"] = {"hits": cache.hits, "misses": cache.misses, "path": str(cache.path or "")}
    cache.close()
    return report


def run_adversarial(spec: JudgeSpec, args: argparse.Namespace) -> dict:
    """The adversarial suites in `--adversarial` (default evals/adversarial), with the
    scenarios of `--scenarios` (default library) for weights and turns."""
    from coach.adapters.scenario_files import load_library
    from coach.evaluation import adversarial

    def progress(name: str) -> None:
        if not args.quiet:
            print(f"adversarial: {name}", file=sys.stderr)

    return adversarial.run_all(
        spec.judge,
        args.adversarial,
        load_library(args.scenarios),
        concurrency=args.concurrency,
        on_suite=progress,
    )


def run(args: argparse.Namespace) -> int:
    """The `eval` command: table on stdout, JSON report and chart when asked."""
    for target in (args.report, args.chart):
        # Fail before a long run, not after it, when an output folder cannot be made.
        if target is not None:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise CoachError(f"{target}: cannot write ({e.strerror or e})") from None
    floors = load_floors(args.floors) if args.floors else None  # a bad file fails first
    report = evaluate(args)
    failures: list[str] = []
    if floors is not None:
        failures = check_floors(report["datasets"], floors)
        # A dataset asked for but not there cannot pass its floors by being skipped.
        failures += [
            f"{name}: skipped, so its floors were not checked ({report['skipped'][name]})"
            for name, table in floors.items()
            if table and name in report["skipped"]
        ]
        checked = [n for n, t in floors.items() if t and n in report["datasets"]]
        report["floors"] = {"file": str(args.floors), "checked": checked, "failed": failures}
    for line in table_lines(report):
        print(line)
    if floors is not None:
        print(f"\nfloors ({args.floors}): checked {', '.join(checked) or 'nothing'}")
        for line in failures:
            print(f"  FAILED {line}")
        if not failures:
            print("  every floor met")
    if args.report:
        write_json(report, args.report)
        print(f"report: {args.report}")
    if args.chart:
        why = write_chart(report, args.chart)
        print(f"chart: {args.chart}" if why is None else f"chart skipped: {why}")
    return 1 if failures else 0
