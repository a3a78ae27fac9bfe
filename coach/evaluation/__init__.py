"""The evaluation harness: datasets, judges, metrics, cache, robustness suites and reports.

Run it with `coach eval` (see `coach.cli.evaluate`); `evals/README.md` has the figures.
"""
