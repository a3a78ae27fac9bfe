"""`coach bench`: how fast the judge, a turn and storage are; or, with --local, where a turn's
time goes on the local model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from coach.bench.throughput import machine, run_bench, table_lines


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `bench` subcommand."""
    p = subparsers.add_parser("bench", help="measure speed: judge, turns, storage")
    p.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    p.add_argument("--report", type=Path, help="write the figures as JSON here")
    p.add_argument("--local", action="store_true",
                   help="instead: where a turn's time goes on the local model "
                   "(needs the `local` extra; minutes)")
    p.add_argument("--rounds", type=int, default=2, metavar="N",
                   help="with --local: rounds of fresh server, cold and warm turn, direct "
                   "baseline (default 2)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """The `bench` command."""
    if args.local:
        from coach.bench.local import bench_local, local_lines

        r = {"machine": machine(), "local": bench_local(rounds=max(1, args.rounds))}
        lines = local_lines(r["local"])
    else:
        r = run_bench(quick=args.quick)
        lines = table_lines(r)
    for line in lines:
        print(line, flush=True)
    if args.report:
        from coach.core.errors import CoachError

        try:
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(json.dumps(r, indent=2) + "\n", encoding="utf-8")
        except OSError as e:
            raise CoachError(f"{args.report}: cannot write ({e.strerror or e})") from None
        print(f"report: {args.report}")
    return 0
