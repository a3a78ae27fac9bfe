"""How often the built-in rules and a model judge disagree sharply, and on labelled data,
which of the two was nearer the human label when they did (coach/judges/crosscheck.py)."""

from __future__ import annotations

from collections.abc import Sequence

from coach.core.rubric import CRITERION_KEYS, Rating
from coach.evaluation.datasets import Item
from coach.judges.crosscheck import disagreement


def _error(item: Item, rating: Rating) -> float | None:
    """Mean absolute level error against the item's gold criterion levels, if it has any."""
    keys = [k for k in CRITERION_KEYS if k in item.gold and rating.level(k) is not None]
    if not keys:
        return None
    return sum(abs(float(item.gold[k]) - (rating.level(k) or 0)) for k in keys) / len(keys)


def crosscheck_figures(
    items: Sequence[Item],
    model: Sequence[Sequence[Rating]],
    builtin: Sequence[Sequence[Rating]],
) -> dict:
    """Counts over every rated turn: compared, disagreeing, and (for items with criterion
    labels, rated as one turn) which judge was nearer the label on the disagreements."""
    compared = disagree = model_nearer = builtin_nearer = ties = 0
    for item, ms, bs in zip(items, model, builtin, strict=True):
        for m, b in zip(ms, bs, strict=True):
            if m.status != "scored" or b.status != "scored":
                continue
            compared += 1
            if not disagreement(m, b):
                continue
            disagree += 1
            if len(item.turns) != 1:
                continue
            em, eb = _error(item, m), _error(item, b)
            if em is None or eb is None:
                continue
            if em < eb:
                model_nearer += 1
            elif eb < em:
                builtin_nearer += 1
            else:
                ties += 1
    return {
        "compared": compared,
        "disagree": disagree,
        "model_nearer": model_nearer,
        "builtin_nearer": builtin_nearer,
        "ties": ties,
    }
