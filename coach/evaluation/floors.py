"""Validity as a gate: per-criterion floors on the lower 95% bootstrap bound of dev figures.

The floors live in one data file (`evals/floors.toml`): one table per dataset, one number
per criterion. A floor is met when the *lower* end of the figure's 95% bootstrap interval
(1,000 resamples, seed 0: deterministic for the same ratings) is at or above it. Gating on
the lower bound rather than the point estimate means a floor set from today's figures leaves
room for sampling noise, yet a rule change that halves one criterion drops its whole
interval and fails.

What each floor reads:

- epitome.<mechanism>: macro-F1 (`macro_f1_ci95`);
- esconv.<code> and annomi.<code>: F1 of the code (`f1_ci95`; codes in
  `coach.evaluation.codes`);
- annomi.ratio: the per-transcript reflection-to-question Spearman (`spearman_ci95`).
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

from coach.adapters.resources import evals_dir
from coach.core.errors import CoachError
from coach.evaluation.codes import ANNOMI_CODES, ESCONV_CODES
from coach.evaluation.datasets import EPITOME_FILES

DEFAULT_PATH = evals_dir() / "floors.toml"
CRITERIA: dict[str, tuple[str, ...]] = {
    "epitome": tuple(EPITOME_FILES),
    "esconv": tuple(c.key for c in ESCONV_CODES),
    "annomi": (*(c.key for c in ANNOMI_CODES), "ratio"),
}
Floors = dict[str, dict[str, float]]


def load_floors(path: Path = DEFAULT_PATH) -> Floors:
    """The floors per dataset and criterion; every dataset is present (maybe empty).

    Raises:
        CoachError: the file cannot be read or parsed, or names an unknown dataset or
            criterion, or a floor is not a number from -1 to 1; the message names the file.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise CoachError(f"{path}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise CoachError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise CoachError(f"{path}: not valid TOML ({e})") from None
    floors: Floors = {name: {} for name in CRITERIA}
    for name, table in data.items():
        if name not in CRITERIA:
            raise CoachError(f"{path}: unknown dataset [{name}]; use {', '.join(CRITERIA)}")
        if not isinstance(table, dict):
            raise CoachError(f"{path}: {name} must be a table ([{name}])")
        for key, value in table.items():
            if key not in CRITERIA[name]:
                raise CoachError(
                    f"{path}: [{name}] {key} is not a criterion; use {', '.join(CRITERIA[name])}"
                )
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                -1.0 <= value <= 1.0
            ):
                raise CoachError(f"{path}: [{name}] {key} = {value!r} is not a number from -1 to 1")
            floors[name][key] = float(value)
    return floors


def lower_bound(result: dict, dataset: str, key: str) -> float | None:
    """The lower end of the 95% interval that floor `dataset.key` reads (None if absent)."""
    m = result.get(key)
    if not isinstance(m, dict):
        return None
    field = "macro_f1_ci95" if dataset == "epitome" else (
        "spearman_ci95" if key == "ratio" else "f1_ci95"
    )
    ci = m.get(field)
    return float(ci[0]) if ci else None


def check_floors(datasets: dict, floors: Floors) -> list[str]:
    """One line per floor not met (empty: all met) for the datasets present in `datasets`
    (the report's "datasets": epitome, esconv, annomi).

    A floor whose figure is missing (no interval: bootstrap off, or too few items) is not met:
    a gate that cannot be read must not pass.
    """
    failures = []
    for name, table in floors.items():
        if name not in datasets:
            continue
        for key, floor in table.items():
            lo = lower_bound(datasets[name], name, key)
            if lo is None:
                failures.append(f"{name}.{key}: no 95% interval to check (floor {floor:.2f})")
            elif math.isnan(lo) or lo < floor:
                failures.append(f"{name}.{key}: lower 95% bound {lo:.3f} < floor {floor:.2f}")
    return failures
