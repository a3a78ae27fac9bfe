"""`coach report-card`: how good is the judge you chose? (the app's Judge page, in a terminal)."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

from coach.application import report_card as rc
from coach.core.errors import CoachError

STOPPED = ("coach report-card: stopped. The ratings made so far are kept in the cache; run "
           "it again to carry on from there.")
SHORT = {rc.ROBERTA: "RoBERTa", rc.LLM_JUDGES: "LLM judges", rc.CROWD: "crowd",
         rc.EXPERTS: "experts"}


def register(subparsers: argparse._SubParsersAction, parents: list | None = None) -> None:
    """Add the `report-card` subcommand."""
    from coach.cli.model_flags import add_model_flags

    p = subparsers.add_parser(
        "report-card",
        parents=parents or [],
        help="how good is the judge you chose? its agreement with people, beside the "
        "published figures",
        description="Measures the judge you practise with (the built-in rules, or the model "
        "set by OPENAI_BASE_URL / COACH_JUDGE_MODEL or the flags below) on the project's gold "
        "and adversarial suites and on the labelled datasets you have (COACH_EPITOME_DIR, "
        "COACH_LEND_AN_EAR_DIR, COACH_ESCONV_DIR, COACH_ANNOMI_DIR, or --dataset), and shows "
        "it beside the published reference figures. Ratings and the finished card are "
        "cached: the same judge on the same data gives the card back at once. Ctrl-C stops "
        "it; the ratings made so far are kept. `coach eval` has every figure and option.",
    )
    p.add_argument(
        "--dataset",
        action="append",
        metavar="NAME=DIR",
        help="epitome=DIR, lend-an-ear=DIR, esconv=DIR or annomi=DIR (repeatable); "
        "instead of the dataset's environment variable",
    )
    p.add_argument("--limit", type=_positive, help="rate at most N items per dataset")
    p.add_argument("--refresh", action="store_true",
                   help="rate everything afresh and make a new card")
    p.add_argument("--report", type=Path, help="also write the card as JSON here")
    p.add_argument("--cache", type=Path, help="cache file (default $COACH_HOME/eval-cache/)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_model_flags(p)
    p.set_defaults(func=cmd_report_card, stop_message=STOPPED)


def _positive(v: str) -> int:
    if not v.strip().isdigit() or int(v) < 1:
        raise argparse.ArgumentTypeError(f"'{v}' is not a whole number of 1 or more")
    return int(v)


def folders_from(values: list[str] | None) -> dict[str, str]:
    """`["epitome=DIR"]` -> {"epitome": "DIR"}.

    Raises:
        CoachError: not NAME=DIR, or an unknown dataset name.
    """
    out: dict[str, str] = {}
    for v in values or []:
        name, sep, path = v.partition("=")
        name = name.strip().lower().replace("_", "-")
        if name not in rc.EXTERNAL:
            raise CoachError(f"--dataset: unknown dataset '{name}'; use one of "
                             f"{', '.join(rc.EXTERNAL)} (the gold set needs no folder)")
        if not sep or not path.strip():
            raise CoachError(f"--dataset {name}: give its folder, e.g. --dataset {name}=DIR")
        out[name] = path.strip()
    return out


class _Bar:
    """One redrawn stderr line: the stage, a bar, and the count."""

    def __init__(self) -> None:
        self.width = 0

    def __call__(self, p: rc.CardProgress) -> None:
        filled = int(p.fraction * 30)
        line = f"{p.stage[:44]:<44} [{'#' * filled:<30}] {p.done:,}/{p.total:,}"
        self.width = max(self.width, len(line))
        sys.stderr.write("\r" + line.ljust(self.width))
        sys.stderr.flush()

    def end(self) -> None:
        if self.width:
            sys.stderr.write("\n")
            sys.stderr.flush()


def cmd_report_card(args: argparse.Namespace) -> int:
    """Run the card in a worker thread (so Ctrl-C is answered at once, even while a model
    call is in flight) and print it. Exit 2 when the model failed or a dataset is broken."""
    from coach.application.backends import make_backend
    from coach.cli.model_flags import config_from_args

    folders = folders_from(args.dataset)
    config = config_from_args(args)
    judge = None if config is None else make_backend(config).judge
    bar = None if args.quiet else _Bar()
    cancel = threading.Event()
    box: dict = {}

    def work() -> None:
        try:
            box["card"] = rc.run_report_card(
                judge, folders, limit=args.limit, refresh=args.refresh, cache_path=args.cache,
                scenarios=args.scenarios, on_progress=bar, cancel=cancel,
            )
        except BaseException as e:  # noqa: BLE001 - handed to the main thread below
            box["error"] = e
        finally:
            finished.set()

    # An Event, not Thread.join: a join interrupted by Ctrl-C can leave is_alive() False
    # while the thread still runs (Python < 3.13).
    finished = threading.Event()
    threading.Thread(target=work, name="report-card", daemon=True).start()
    try:
        while not finished.wait(0.2):
            pass
    except KeyboardInterrupt:
        cancel.set()
        # A moment for the ratings in hand to reach the cache (it commits at least every
        # second). A model call in flight is not waited for: the interpreter would join its
        # worker thread at exit, for as long as the model takes, so leave at once instead.
        finished.wait(2.0)
        if bar is not None:
            bar.end()
        if not finished.is_set():
            sys.stdout.flush()
            sys.stderr.write(f"\n{STOPPED}\n")
            sys.stderr.flush()
            os._exit(130)
        raise
    if bar is not None:
        bar.end()
    if "error" in box:
        raise box["error"]
    card: rc.ReportCard = box["card"]
    for line in card_lines(card):
        print(line)
    if args.report:
        try:
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(card.to_json() + "\n", encoding="utf-8")
        except OSError as e:
            raise CoachError(f"{args.report}: cannot write ({e.strerror or e})") from None
        print(f"card: {args.report}")
    return 2 if card.error or card.problems else 0


def _num(v: object) -> str:
    return f"{v:.3f}" if isinstance(v, float) else ("" if v is None else str(v))


def card_lines(card: rc.ReportCard) -> list[str]:
    """The card as terminal lines: the comparison table, the suites, and what is missing."""
    lines = [f"How good is this judge? {card.judge}"]
    if card.from_cache:
        lines.append(f"(the card made {card.made_at}, from the cache; --refresh rates "
                     "everything again)")
    cols = ["Dataset", "Measure", "What", "This judge", "95% CI", "n",
            *(SHORT[r] for r in rc.REFERENCES), "Goal"]
    rows = []
    for r in rc.table(card):
        cells = [str(r["Dataset"]), str(r["Measure"]), str(r["What"]),
                 _num(r["This judge"]) or str(r["Note"]), str(r["95% CI"]), _num(r["n"])]
        cells += [_num(r[name]) for name in rc.REFERENCES[:-1]]
        cells += [str(r[rc.EXPERTS]), _num(r["Goal"])]
        rows.append(cells)
    widths = [max(len(c), *(len(row[i]) for row in rows)) if rows else len(c)
              for i, c in enumerate(cols)]
    lines += ["", "Beside the published figures (empty: none published)"]
    for cells in [cols, *rows]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    passed, cases = card.adversarial
    if card.suites:
        lines += ["", f"Adversarial suites: {passed} of {cases} cases passed"]
        lines += [f"  {s['suite'].replace('_', ' '):<20} {s['passed']} / {s['cases']}"
                  for s in card.suites]
        lines += [f"  failed {f['suite']}/{f['id']}: {f['why']}" for f in card.failures[:10]]
    lines += card.left_out
    if card.error:
        lines += ["", f"The model stopped the card: {card.error_for('cli')}"]
    lines += card.problems
    needs = card.needs_for("cli")
    if needs:
        lines += ["", "For a full run:"] + [f"  - {n}" for n in needs]
    if not card.from_cache:
        lines += ["", f"Ratings: {card.ratings['cached']:,} from the cache, "
                  f"{card.ratings['new']:,} new."]
    lines.append("Every figure and option: coach eval --help")
    return lines
