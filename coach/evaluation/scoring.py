"""Turn ratings into agreement figures per dataset.

EPITOME: each reply's level on the mapped criterion (warmth, understanding, exploration)
against the gold level 0-2. For the heuristic judge the interpretations level also counts
a shared experience (`coach.judges.builtin.epitome_levels`); `rubric_only` keeps the plain
criterion figure beside it.

Lend an Ear: a conversation's score per dimension is derived from its supporter turns by
`conversation_score` (the rule and its reasons are written there): from each turn's level
0-2 on the mapped criterion, the *peak* (did they do it at all, and how clearly) and the
*share* of turns that hold it (how much of the conversation) give 1 + peak + 2 * share.
Kappa uses the score and the experts' mean both rounded half up to whole points; Spearman
uses them unrounded. The JSON also gives the earlier rules as variants: "mean" (the mean
level mapped linearly, 1 + 2 * mean amount) and "peak" (the strongest turn alone).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from coach.core.rubric import CRITERION_KEYS, LEVELS, Rating
from coach.evaluation.codes import (
    ANNOMI_CODES,
    ESCONV_CODES,
    Code,
    annomi_gold,
    detects,
    esconv_gold,
    questions,
    reflections,
)
from coach.evaluation.datasets import (
    EPITOME_CRITERION,
    LAE_CRITERION,
    LAE_DIMENSIONS,
    Item,
    half_of,
)
from coach.evaluation.metrics import (
    accuracy,
    binary_bootstrap_cis,
    binary_counts,
    binary_f1,
    bootstrap_ci,
    confusion,
    macro_f1,
    precision,
    quadratic_kappa,
    recall,
    spearman,
)

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
        elif any(r.source.fallback for r in rs):
            fallback += 1
        else:
            pairs.append((it, rs))
    return pairs, {"unscored": unscored, "fallback": fallback, "n_items": len(pairs)}


def score_epitome(
    items: Sequence[Item], ratings: Ratings, *, judge: str, rounds: int = 1000
) -> dict:
    """Per mechanism: macro-F1, accuracy, n, confusion, halves A/B by seeker post."""
    from coach.judges.builtin import epitome_interpretation

    pairs, counts = _scored(items, ratings)
    out: dict = dict(counts)
    for mech, crit in EPITOME_CRITERION.items():
        rows = [(it, rs[0]) for it, rs in pairs if mech in it.gold]
        gold = [int(it.gold[mech]) for it, _ in rows]
        plain = [r.level(crit) or 0 for _, r in rows]
        pred = plain
        if mech == "interpretations" and judge == "heuristic":
            pred = [epitome_interpretation(r, it.turns[0].reply) for it, r in rows]
        halves = [half_of(it.group) for it, _ in rows]
        m = label_metrics(gold, pred, rounds=rounds, halves=halves)
        m["criterion"] = crit
        if pred is not plain:
            m["adapter"] = "2 for a complex reflection or a shared experience (see evals/README.md)"
            m["rubric_only"] = {
                "macro_f1": _r(macro_f1(gold, plain)),
                "accuracy": _r(accuracy(gold, plain)),
            }
        out[mech] = m
    return out


RULES = ("peak_share", "mean", "peak")


def turn_amounts(levels: Sequence[int], inverse: bool) -> list[int]:
    """How much of the dimension each turn holds, 0-2: the level, or 2 - level for inverse
    criteria (advice, self focus, dismissing), whose level 2 means "none of it"."""
    return [(2 - lv) if inverse else lv for lv in levels]


def conversation_score(levels: Sequence[int], inverse: bool, how: str = "peak_share") -> float:
    """A whole conversation's 1-5 score on one Lend an Ear dimension from per-turn levels 0-2.

    `how="peak_share"` (the headline): with a_t the amount in turn t (`turn_amounts`),

        score = 1 + max_t a_t + 2 * share of turns with a_t > 0

    Why: Lend an Ear's scales ask how much of a behaviour the supporter showed in the whole
    conversation (1 = none, 5 = a lot). That is two questions, and a mean of levels answers
    neither well. "Did they do it at all, and how clearly" is the peak (0-2): one turn that
    plainly validates *is* validation, where a mean over five turns makes it 0.4 and the
    conversation "hardly validating". "How much of it" is the share of turns that hold it at
    all (0-1, weighted 2 so both halves span two points). So:

    - none of it in any turn -> 1, whatever the length;
    - one clear instance (peak 2) -> at least 3, "some", even among many turns: one
      self-focused story or one piece of unasked advice is still some self-orientation or
      advice (the mean never saw it: one self-focused turn in five gave 1.8 -> 2);
    - a clear instance in every turn -> 5; weak in every turn -> 4; weak once among many
      turns -> about 2.

    The score never falls when a turn gains some of the behaviour, and the rule is the same
    for positive and inverse dimensions (only the amount is read the other way round).

    `how="mean"` (the earlier rule, kept as a reported variant): 1 + 2 * mean amount.
    `how="peak"`: 1 + 2 * peak, the reading that "one piece of unasked advice is a lot of
    advice".
    """
    amounts = turn_amounts(levels, inverse)
    if not amounts:
        raise ValueError("a conversation score needs at least one turn")
    peak = max(amounts)
    if how == "mean":
        return 1.0 + 2.0 * sum(amounts) / len(amounts)
    if how == "peak":
        return 1.0 + 2.0 * peak
    if how != "peak_share":
        raise ValueError(f"unknown conversation score rule {how!r}; use one of {RULES}")
    share = sum(1 for a in amounts if a > 0) / len(amounts)
    return 1.0 + peak + 2.0 * share


def score_lend_an_ear(items: Sequence[Item], ratings: Ratings, *, rounds: int = 1000) -> dict:
    """Per dimension: quadratic-weighted kappa and Spearman against the experts' mean."""
    pairs, counts = _scored(items, ratings)
    out: dict = {**counts, "rule": "peak_share", "conversations": []}
    preds: dict[str, dict[str, list[float]]] = {
        how: {d: [] for d in LAE_DIMENSIONS} for how in RULES
    }
    golds: dict[str, list[float]] = {d: [] for d in LAE_DIMENSIONS}
    for it, rs in pairs:
        row: dict = {"id": it.id}
        for dim in LAE_DIMENSIONS:
            crit, inverse = LAE_CRITERION[dim]
            levels = [r.level(crit) or 0 for r in rs]
            for how in RULES:
                preds[how][dim].append(conversation_score(levels, inverse, how))
            golds[dim].append(it.gold[dim])
            row[dim] = {
                "judge": _r(preds["peak_share"][dim][-1]),
                "experts": _r(it.gold[dim]),
                "levels": levels,
            }
        out["conversations"].append(row)
    for dim in LAE_DIMENSIONS:
        g, p = golds[dim], preds["peak_share"][dim]
        gi, pi = [round_half_up(x) for x in g], [round_half_up(x) for x in p]
        m = {
            "qwk": _r(quadratic_kappa(gi, pi)),
            "spearman": _r(spearman(g, p)),
            "n": len(g),
            "criterion": LAE_CRITERION[dim][0],
        }
        for how in RULES[1:]:  # the earlier rules, reported beside the headline
            m[how] = {
                "qwk": _r(quadratic_kappa(gi, [round_half_up(x) for x in preds[how][dim]])),
                "spearman": _r(spearman(g, preds[how][dim])),
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


def detection_metrics(
    gold: list[bool], pred: list[bool], *, goal: float | None = None, rounds: int = 1000
) -> dict:
    """Precision, recall and F1 of one yes/no code, each with a 95% bootstrap interval."""
    cis = binary_bootstrap_cis([(gold, pred)], rounds=rounds)[0] if rounds and gold else None
    return _detection(gold, pred, goal, cis)


def _detection(
    gold: list[bool], pred: list[bool], goal: float | None, cis: list | None
) -> dict:
    """`detection_metrics`, given its intervals (None: without them)."""
    tp, fp, fn = binary_counts(gold, pred)
    out: dict = {
        "f1": _r(binary_f1(gold, pred)),
        "precision": _r(precision(gold, pred)),
        "recall": _r(recall(gold, pred)),
        "n": len(gold),
        "gold_positive": tp + fn,
        "predicted_positive": tp + fp,
        "tp": tp,
    }
    if cis is not None:
        for name, (lo, hi) in zip(("f1", "precision", "recall"), cis, strict=True):
            out[f"{name}_ci95"] = [_r(lo), _r(hi)]
    if goal is not None:
        out["goal"] = goal
    return out


def _codes(
    codes: Sequence[Code], rows: list[tuple[Item, Rating]], is_gold, rounds: int
) -> dict:
    columns = [
        ([is_gold(code, it) for it, _ in rows], [detects(code, r) for _, r in rows])
        for code in codes
    ]
    # every code's intervals from one set of resamples: each the same as its own
    # `detection_metrics` would draw (the rows, and so the draws, are the same)
    cis = binary_bootstrap_cis(columns, rounds=rounds) if rounds and rows else None
    out: dict = {}
    for i, (code, (gold, pred)) in enumerate(zip(codes, columns, strict=True)):
        m = _detection(gold, pred, code.goal, None if cis is None else cis[i])
        m["acts"] = list(code.acts)
        out[code.key] = m
    return out


def _no_acts_note(rows: list[tuple[Item, Rating]]) -> str:
    # A judge that tags no act at all is not "bad at detecting": it does not tag yet.
    if rows and not any(r.acts for _, r in rows):
        return "the judge tagged no act in any reply, so every code scores 0"
    return ""


def score_esconv(items: Sequence[Item], ratings: Ratings, *, rounds: int = 1000) -> dict:
    """Per strategy code (`coach.evaluation.codes.ESCONV_CODES`): one-vs-rest P/R/F1.

    Items the judge did not itself score (unscored, withheld, fallback) are left out and
    counted, as for the other datasets.
    """
    pairs, counts = _scored(items, ratings)
    rows = [(it, rs[0]) for it, rs in pairs]
    out: dict = dict(counts)
    out.update(_codes(ESCONV_CODES, rows, lambda c, it: esconv_gold(c, it.meta["strategy"]),
                      rounds))
    out["detection"] = "one-vs-rest: predicted when any of the code's acts is present"
    if note := _no_acts_note(rows):
        out["note"] = note
    return out


def share_of_reflections(n_reflections: int, n_questions: int) -> float | None:
    """R / (R + Q), or None with neither: ranks transcripts exactly as R / Q does.

    R / Q is undefined for a transcript with no question. R / (R + Q) is a strictly
    increasing function of R / Q wherever that is defined, so Spearman's rank correlation
    is the same; and it puts a transcript with reflections but no question at the top
    (R / Q "infinite"), where it belongs, instead of dropping it. A transcript with neither
    has no ratio at all and is left out of the correlation (counted in the report).
    """
    total = n_reflections + n_questions
    return n_reflections / total if total else None


def ratio_correlation(
    transcripts: dict[str, list[tuple[Item, Rating]]], *, rounds: int = 1000
) -> dict:
    """Spearman, over transcripts, of the judge's reflection-to-question ratio vs the experts'.

    Counts are of utterances (an utterance with two reflective sentences is one reflection),
    because the experts code per utterance; the judge's counts come from its acts, the
    experts' from `reflection != none` and `question != none`.
    """
    rows, left_out = [], []
    for tid, pairs in transcripts.items():
        jr = sum(reflections(r) for _, r in pairs)
        jq = sum(questions(r) for _, r in pairs)
        er = sum(it.meta["reflection"] != "none" for it, _ in pairs)
        eq = sum(it.meta["question"] != "none" for it, _ in pairs)
        row = {
            "transcript": tid,
            "utterances": len(pairs),
            "judge": [jr, jq],
            "experts": [er, eq],
        }
        js, es = share_of_reflections(jr, jq), share_of_reflections(er, eq)
        if js is None or es is None:
            left_out.append(tid)
        else:
            row["judge_share"], row["experts_share"] = _r(js), _r(es)
        rows.append(row)
    kept = [r for r in rows if "judge_share" in r]
    j = [r["judge_share"] for r in kept]
    e = [r["experts_share"] for r in kept]
    out: dict = {
        "spearman": _r(spearman(e, j)),
        "n": len(kept),
        "left_out": len(left_out),
        "counts": "utterances per transcript, [reflections, questions]",
        "transcripts": rows,
    }
    if rounds and len(kept) > 1:
        lo, hi = bootstrap_ci(lambda a, b: spearman(a, b), e, j, rounds=rounds)
        out["spearman_ci95"] = [_r(lo), _r(hi)]
    return out


def score_annomi(items: Sequence[Item], ratings: Ratings, *, rounds: int = 1000) -> dict:
    """Per MI code (`coach.evaluation.codes.ANNOMI_CODES`): P/R/F1; plus the per-transcript
    reflection-to-question correlation (`ratio_correlation`)."""
    pairs, counts = _scored(items, ratings)
    rows = [(it, rs[0]) for it, rs in pairs]
    out: dict = dict(counts)
    out.update(_codes(ANNOMI_CODES, rows, lambda c, it: annomi_gold(c, it.meta), rounds))
    out["detection"] = "per code: predicted when any of the code's acts is present"
    by_transcript: dict[str, list[tuple[Item, Rating]]] = {}
    for it, r in rows:
        by_transcript.setdefault(it.group, []).append((it, r))
    out["ratio"] = ratio_correlation(by_transcript, rounds=rounds)
    if note := _no_acts_note(rows):
        out["note"] = note
    return out


def score_dataset(name: str, items: list[Item], ratings: list, judge: str, rounds: int) -> dict:
    """The figures for dataset `name` from its items and their ratings (one list per item)."""
    if name == "epitome":
        return score_epitome(items, ratings, judge=judge, rounds=rounds)
    if name == "lend-an-ear":
        return score_lend_an_ear(items, ratings, rounds=rounds)
    if name == "esconv":
        return score_esconv(items, ratings, rounds=rounds)
    if name == "annomi":
        return score_annomi(items, ratings, rounds=rounds)
    return score_gold(items, ratings, rounds=rounds)
