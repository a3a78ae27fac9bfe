"""Agreement metrics in pure Python: labels (accuracy, macro-F1, confusion) and ordinal
scores (quadratic-weighted Cohen's kappa, Spearman), with percentile bootstrap intervals.

Pure Python keeps the harness dependency-free; the sets are small (thousands of items).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence


def accuracy(gold: Sequence[int], pred: Sequence[int]) -> float:
    """Share of items where the prediction equals the gold label (0.0 for no items)."""
    if not gold:
        return 0.0
    return sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold)


def confusion(gold: Sequence[int], pred: Sequence[int], labels: Sequence[int]) -> list[list[int]]:
    """Confusion matrix: rows are gold labels, columns predicted labels, in `labels` order."""
    index = {lab: i for i, lab in enumerate(labels)}
    m = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred, strict=True):
        m[index[g]][index[p]] += 1
    return m


def per_class_f1(gold: Sequence[int], pred: Sequence[int], labels: Sequence[int]) -> list[float]:
    """F1 per label; a label with no gold and no predicted items scores 0 (sklearn's default)."""
    m = confusion(gold, pred, labels)
    out = []
    for i in range(len(labels)):
        tp = m[i][i]
        fp = sum(m[r][i] for r in range(len(labels))) - tp
        fn = sum(m[i]) - tp
        out.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return out


def macro_f1(gold: Sequence[int], pred: Sequence[int], labels: Sequence[int] = (0, 1, 2)) -> float:
    """Unweighted mean of the per-label F1 scores over `labels`."""
    f1s = per_class_f1(gold, pred, labels)
    return sum(f1s) / len(f1s) if f1s else 0.0


def binary_counts(gold: Sequence[bool], pred: Sequence[bool]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of a yes/no detector."""
    tp = sum(1 for g, p in zip(gold, pred, strict=True) if g and p)
    fp = sum(1 for g, p in zip(gold, pred, strict=True) if p and not g)
    fn = sum(1 for g, p in zip(gold, pred, strict=True) if g and not p)
    return tp, fp, fn


# The three figures from the counts, shared by the functions below and by
# `binary_bootstrap_cis`, so both compute each figure the same way.
def _precision(tp: int, fp: int, fn: int) -> float:
    return tp / (tp + fp) if tp + fp else 0.0


def _recall(tp: int, fp: int, fn: int) -> float:
    return tp / (tp + fn) if tp + fn else 0.0


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def precision(gold: Sequence[bool], pred: Sequence[bool]) -> float:
    """Share of predicted positives that are gold positives (0.0 with none predicted)."""
    return _precision(*binary_counts(gold, pred))


def recall(gold: Sequence[bool], pred: Sequence[bool]) -> float:
    """Share of gold positives that are predicted (0.0 with no gold positive)."""
    return _recall(*binary_counts(gold, pred))


def binary_f1(gold: Sequence[bool], pred: Sequence[bool]) -> float:
    """F1 of the positive class; 0.0 without a true positive (as `per_class_f1`)."""
    return _f1(*binary_counts(gold, pred))


def quadratic_kappa(
    a: Sequence[int], b: Sequence[int], labels: Sequence[int] = (1, 2, 3, 4, 5)
) -> float:
    """Cohen's kappa with quadratic weights between two integer ratings on `labels`.

    Returns 1.0 when both raters agree perfectly, and 0.0 when the expected disagreement
    is zero (every rating the same value) but they still agree.
    """
    k = len(labels)
    if not a or k < 2:
        return 0.0
    obs = confusion(a, b, labels)
    n = len(a)
    row = [sum(r) for r in obs]
    col = [sum(obs[i][j] for i in range(k)) for j in range(k)]
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            w = (i - j) ** 2 / (k - 1) ** 2
            num += w * obs[i][j]
            den += w * row[i] * col[j] / n
    if den == 0:
        return 1.0 if num == 0 else 0.0
    return 1.0 - num / den


def _ranks(xs: Sequence[float]) -> list[float]:
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    ranks = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        avg = (i + j) / 2 + 1  # ties share the mean rank
        for t in range(i, j + 1):
            ranks[order[t]] = avg
        i = j + 1
    return ranks


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson correlation; 0.0 when either side is constant."""
    n = len(x)
    if n < 2:
        return 0.0
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return 0.0
    return sxy / math.sqrt(sxx * syy)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (Pearson on average ranks, so ties are handled)."""
    return pearson(_ranks(x), _ranks(y))


def bootstrap_ci(
    stat: Callable[[list, list], float],
    gold: Sequence,
    pred: Sequence,
    *,
    rounds: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Percentile bootstrap interval of `stat(gold, pred)` over resampled items.

    Deterministic for a given seed, so reports are reproducible.
    """
    return bootstrap_cis([stat], gold, pred, rounds=rounds, seed=seed, alpha=alpha)[0]


def bootstrap_cis(
    stats: Sequence[Callable[[list, list], float]],
    gold: Sequence,
    pred: Sequence,
    *,
    rounds: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> list[tuple[float, float]]:
    """`bootstrap_ci` for several statistics over the same resamples (one pass, and each
    interval is the one `bootstrap_ci` gives for that statistic alone)."""
    n = len(gold)
    if n == 0:
        return [(0.0, 0.0) for _ in stats]
    rng = random.Random(seed)
    vals: list[list[float]] = [[] for _ in stats]
    at_g, at_p = gold.__getitem__, pred.__getitem__
    for _ in range(rounds):
        idx = resample(rng, n)
        g, p = list(map(at_g, idx)), list(map(at_p, idx))
        for v, stat in zip(vals, stats, strict=True):
            v.append(stat(g, p))
    return [_interval(v, rounds, alpha) for v in vals]


def binary_bootstrap_cis(
    pairs: Sequence[tuple[Sequence[bool], Sequence[bool]]],
    *,
    rounds: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> list[list[tuple[float, float]]]:
    """For each (gold, pred) pair, all of one length: the intervals of F1, precision and
    recall, exactly those `bootstrap_cis([binary_f1, precision, recall], gold, pred, ...)`
    gives for that pair alone.

    Faster, for the many yes/no codes of one dataset: every pair is resampled by the same
    draws (those each separate call would make, from the same seed), and each figure is
    computed from the resampled counts alone (what the three functions read of it).
    """
    n = len(pairs[0][0]) if pairs else 0
    if any(len(g) != n or len(p) != n for g, p in pairs):
        raise ValueError("binary_bootstrap_cis: every gold and pred must have one length")
    figures = (_f1, _precision, _recall)
    if n == 0:
        return [[(0.0, 0.0) for _ in figures] for _ in pairs]
    # each item's cell: 1 true positive, 2 false positive, 3 false negative, 0 neither
    cells = [
        [1 if g and p else 2 if p else 3 if g else 0 for g, p in zip(gold, pred, strict=True)]
        for gold, pred in pairs
    ]
    rng = random.Random(seed)
    vals: list[list[list[float]]] = [[[] for _ in figures] for _ in pairs]
    for _ in range(rounds):
        idx = resample(rng, n)
        for cell, v in zip(cells, vals, strict=True):
            drawn = list(map(cell.__getitem__, idx))
            counts = drawn.count(1), drawn.count(2), drawn.count(3)
            for vf, figure in zip(v, figures, strict=True):
                vf.append(figure(*counts))
    return [[_interval(vf, rounds, alpha) for vf in v] for v in vals]


def resample(rng: random.Random, n: int) -> list[int]:
    """`n` indices below `n`, drawn with replacement: `[rng.randrange(n) for _ in range(n)]`,
    the same draws made the way `randrange` makes them (a number of `n`'s bit length, drawn
    again while it is too large), without its checks on every call, which cost most of a
    bootstrap. (A test checks that the two agree.)"""
    bits = rng.getrandbits
    k = n.bit_length()
    out: list[int] = []
    while len(out) < n:
        # One draw for each index still missing, so none is taken from what comes after;
        # a number too large is dropped, and the indices after it come one draw later, as
        # when randrange draws again.
        out += [r for r in [bits(k) for _ in range(n - len(out))] if r < n]
    return out


def _interval(v: list[float], rounds: int, alpha: float) -> tuple[float, float]:
    v.sort()
    return v[int(alpha / 2 * rounds)], v[min(rounds - 1, int((1 - alpha / 2) * rounds))]
