"""Turn ratings into agreement figures per dataset.

EPITOME: each reply's level on the mapped criterion (warmth, understanding, exploration)
against the gold level 0-2. For the heuristic judge the interpretations level also counts
a shared experience (`coach.heuristic.epitome_levels`); `rubric_only` keeps the plain
criterion figure beside it.

Lend an Ear: a conversation's score per dimension is derived from its supporter turns:
the mean level m (0-2) of the mapped criterion over the turns, as an "amount" a = m for
positive criteria and a = 2 - m for inverse ones (advice, self focus, dismissing: level 2
means none), mapped linearly onto 1-5 as 1 + 2a. Kappa uses the score and the experts' mean
both rounded half up to whole points; Spearman uses them unrounded. The JSON also gives
a "peak" variant (strongest turn, or worst turn for inverse criteria) beside the mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from coach.evaluation.datasets import (
    EPITOME_CRITERION,
    LAE_CRITERION,
    LAE_DIMENSIONS,
    Item,
    half_of,
)
from coach.evaluation.metrics import (
    accuracy,
    bootstrap_ci,
    confusion,
    macro_f1,
    quadratic_kappa,
    spearman,
)
from coach.rubric import CRITERION_KEYS, LEVELS, Rating

Ratings = Sequence[Sequence[Rating]]  # per item, one rating per turn


def _r(x: float) -> float:
    return round(x, 4)


def round_half_up(x: float) -> int:
    """3.5 -> 4 (Python's round() would give 4 too but 2.5 -> 2)."""
    return int(math.floor(x + 0.5))


def label_metrics(
    gold: list[int], pred: list[int], *, rounds: int = 1000, halves: list[str] | None = None
) -> dict:
    """Accuracy, macro-F1 (with a 95% bootstrap interval) and the confusion matrix."""
    out: dict = {
        "macro_f1": _r(macro_f1(gold, pred)),
        "accuracy": _r(accuracy(gold, pred)),
        "n": len(gold),
        "confusion": confusion(gold, pred, LEVELS),
        "confusion_axes": "rows gold 0-2, columns predicted 0-2",
    }
    if rounds and gold:
        lo, hi = bootstrap_ci(lambda g, p: macro_f1(g, p), gold, pred, rounds=rounds)
        out["macro_f1_ci95"] = [_r(lo), _r(hi)]
    if halves:
        for h in "AB":
            idx = [i for i, x in enumerate(halves) if x == h]
            g, p = [gold[i] for i in idx], [pred[i] for i in idx]
            out[f"half_{h}"] = {
                "macro_f1": _r(macro_f1(g, p)),
                "accuracy": _r(accuracy(g, p)),
                "n": len(idx),
            }
    return out


def _scored(
    items: Sequence[Item], ratings: Ratings
) -> tuple[list[tuple[Item, Sequence[Rating]]], dict]:
    """The items whose every turn the judge itself scored, and what was left out.

    A fallback rating is another judge's grade (the model's answer was unusable), so it
    must not count as the model's agreement with people: such items are left out and
    counted separately under "fallback", beside "unscored" and the "n_items" kept.
    """
    pairs, unscored, fallback = [], 0, 0
    for it, rs in zip(items, ratings, strict=True):
        if not rs or any(r.status != "scored" for r in rs):
            unscored += 1
        elif any(r.fallback for r in rs):
            fallback += 1
        else:
            pairs.append((it, rs))
    return pairs, {"unscored": unscored, "fallback": fallback, "n_items": len(pairs)}


def score_epitome(
    items: Sequence[Item], ratings: Ratings, *, judge: str, rounds: int = 1000
) -> dict:
    """Per mechanism: macro-F1, accuracy, n, confusion, halves A/B by seeker post."""
    from coach.heuristic import shared_experience

    pairs, counts = _scored(items, ratings)
    out: dict = dict(counts)
    for mech, crit in EPITOME_CRITERION.items():
        rows = [(it, rs[0]) for it, rs in pairs if mech in it.gold]
        gold = [int(it.gold[mech]) for it, _ in rows]
        plain = [r.level(crit) or 0 for _, r in rows]
        pred = plain
        if mech == "interpretations" and judge == "heuristic":
            shared = [shared_experience(it.turns[0].reply) for it, _ in rows]
            pred = [max(p, s) for p, s in zip(plain, shared, strict=True)]
        halves = [half_of(it.group) for it, _ in rows]
        m = label_metrics(gold, pred, rounds=rounds, halves=halves)
        m["criterion"] = crit
        if pred is not plain:
            m["adapter"] = "max(understanding, shared_experience)"
            m["rubric_only"] = {
                "macro_f1": _r(macro_f1(gold, plain)),
                "accuracy": _r(accuracy(gold, plain)),
            }
        out[mech] = m
    return out


def conversation_score(levels: Sequence[int], inverse: bool, how: str = "mean") -> float:
    """1-5 from per-turn levels 0-2: 1 + 2 * amount.

    With `how="mean"` the amount is the mean level (2 - mean level for inverse criteria);
    with `how="peak"` it is the strongest turn (for inverse criteria: the worst turn), the
    reading that "one piece of unasked advice is a lot of advice".
    """
    peak = min(levels) if inverse else max(levels)
    m = peak if how == "peak" else sum(levels) / len(levels)
    return 1.0 + 2.0 * ((2.0 - m) if inverse else m)


def score_lend_an_ear(items: Sequence[Item], ratings: Ratings, *, rounds: int = 1000) -> dict:
    """Per dimension: quadratic-weighted kappa and Spearman against the experts' mean."""
    pairs, counts = _scored(items, ratings)
    out: dict = {**counts, "conversations": []}
    preds: dict[str, list[float]] = {d: [] for d in LAE_DIMENSIONS}
    peaks: dict[str, list[float]] = {d: [] for d in LAE_DIMENSIONS}
    golds: dict[str, list[float]] = {d: [] for d in LAE_DIMENSIONS}
    for it, rs in pairs:
        row: dict = {"id": it.id}
        for dim in LAE_DIMENSIONS:
            crit, inverse = LAE_CRITERION[dim]
            levels = [r.level(crit) or 0 for r in rs]
            s = conversation_score(levels, inverse)
            preds[dim].append(s)
            peaks[dim].append(conversation_score(levels, inverse, "peak"))
            golds[dim].append(it.gold[dim])
            row[dim] = {"judge": _r(s), "experts": _r(it.gold[dim])}
        out["conversations"].append(row)
    for dim in LAE_DIMENSIONS:
        g, p = golds[dim], preds[dim]
        gi, pi = [round_half_up(x) for x in g], [round_half_up(x) for x in p]
        m = {
            "qwk": _r(quadratic_kappa(gi, pi)),
            "spearman": _r(spearman(g, p)),
            "n": len(g),
            "criterion": LAE_CRITERION[dim][0],
            "peak": {
                "qwk": _r(quadratic_kappa(gi, [round_half_up(x) for x in peaks[dim]])),
                "spearman": _r(spearman(g, peaks[dim])),
            },
        }
        if rounds and len(g) > 1:
            lo, hi = bootstrap_ci(lambda a, b: quadratic_kappa(a, b), gi, pi, rounds=rounds)
            m["qwk_ci95"] = [_r(lo), _r(hi)]
        out[dim] = m
    return out


def score_gold(items: Sequence[Item], ratings: Ratings, *, rounds: int = 1000) -> dict:
    """Per criterion present in the examples: accuracy, macro-F1, n; plus all labels pooled."""
    pairs, counts = _scored(items, ratings)
    out: dict = dict(counts)
    all_g: list[int] = []
    all_p: list[int] = []
    for key in CRITERION_KEYS:
        rows = [(it, rs[0]) for it, rs in pairs if key in it.gold]
        if not rows:
            continue
        g = [int(it.gold[key]) for it, _ in rows]
        p = [r.level(key) or 0 for _, r in rows]
        all_g += g
        all_p += p
        out[key] = label_metrics(g, p, rounds=0)
    out["all"] = label_metrics(all_g, all_p, rounds=rounds)
    out["all"]["within_one"] = _r(
        sum(abs(a - b) <= 1 for a, b in zip(all_g, all_p, strict=True)) / max(len(all_g), 1)
    )
    return out
