"""The evaluation harness: datasets, judges, metrics, cache, robustness suites and reports.

Run it with `coach eval` (see `coach.evaluation.cli`); `evals/README.md` has the figures.
"""
