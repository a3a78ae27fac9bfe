"""Agreement metrics against values computed by hand."""

from __future__ import annotations

import pytest

from coach.evaluation.metrics import (
    accuracy,
    bootstrap_ci,
    confusion,
    macro_f1,
    per_class_f1,
    quadratic_kappa,
    spearman,
)

GOLD = [0, 1, 2, 2]
PRED = [0, 2, 2, 1]


def test_accuracy_and_confusion() -> None:
    assert accuracy(GOLD, PRED) == 0.5
    assert confusion(GOLD, PRED, (0, 1, 2)) == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]


def test_macro_f1_by_hand() -> None:
    # class 0: perfect; class 1: no true positive; class 2: tp 1, fp 1, fn 1 -> 0.5
    assert per_class_f1(GOLD, PRED, (0, 1, 2)) == [1.0, 0.0, 0.5]
    assert macro_f1(GOLD, PRED) == pytest.approx(0.5)


def test_quadratic_kappa_by_hand() -> None:
    assert quadratic_kappa([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert quadratic_kappa([1, 2], [2, 1], labels=(1, 2)) == pytest.approx(-1.0)
    # observed weighted disagreement 1/9, expected 4/3 -> 1 - 1/12
    assert quadratic_kappa([1, 2, 3, 4], [1, 2, 4, 4], labels=(1, 2, 3, 4)) == pytest.approx(
        11 / 12
    )


def test_spearman_by_hand() -> None:
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / 22.5**0.5)
    assert spearman([1, 1, 1], [1, 2, 3]) == 0.0  # constant side


def test_bootstrap_interval_brackets_the_estimate() -> None:
    gold = [0, 1, 2] * 30
    pred = [0, 1, 1] * 30
    lo, hi = bootstrap_ci(lambda g, p: accuracy(g, p), gold, pred, rounds=200)
    assert lo <= accuracy(gold, pred) <= hi
    assert bootstrap_ci(lambda g, p: accuracy(g, p), gold, gold, rounds=50) == (1.0, 1.0)
    assert bootstrap_ci(lambda g, p: accuracy(g, p), gold, pred, rounds=200) == (lo, hi)


def test_several_statistics_share_one_bootstrap() -> None:
    from coach.evaluation.metrics import bootstrap_cis

    gold = [0, 1, 2] * 20
    pred = [0, 1, 1] * 20
    both = bootstrap_cis([accuracy, macro_f1], gold, pred, rounds=100, seed=3)
    assert both == [
        bootstrap_ci(accuracy, gold, pred, rounds=100, seed=3),
        bootstrap_ci(macro_f1, gold, pred, rounds=100, seed=3),
    ]
    assert bootstrap_cis([accuracy], [], [], rounds=10) == [(0.0, 0.0)]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 64, 100, 1000, 2985, 4096, 4097])
def test_resample_draws_what_randrange_draws(n: int) -> None:
    # The intervals reported (and the floors set on them) come from these draws: the faster
    # `resample` must make exactly the draws `randrange` made, resample after resample.
    import random

    from coach.evaluation.metrics import resample

    for seed in (0, 1, 7):
        slow, fast = random.Random(seed), random.Random(seed)
        for _ in range(3):
            assert resample(fast, n) == [slow.randrange(n) for _ in range(n)]
        assert fast.random() == slow.random()  # and not one draw more or less


def test_binary_intervals_are_those_of_each_code_alone() -> None:
    import random

    from coach.evaluation.metrics import (
        binary_bootstrap_cis,
        binary_f1,
        bootstrap_cis,
        precision,
        recall,
    )

    rng = random.Random(11)
    for n in (1, 2, 9, 150):
        pairs = [
            ([rng.random() < share for _ in range(n)], [rng.random() < 0.4 for _ in range(n)])
            for share in (0.0, 0.2, 0.5, 1.0)
        ]
        for seed in (0, 4):
            alone = [bootstrap_cis([binary_f1, precision, recall], g, p, rounds=120, seed=seed)
                     for g, p in pairs]
            assert binary_bootstrap_cis(pairs, rounds=120, seed=seed) == alone
    assert binary_bootstrap_cis([([], [])], rounds=10) == [[(0.0, 0.0)] * 3]
    with pytest.raises(ValueError):
        binary_bootstrap_cis([([True], [True]), ([True, False], [False, True])])
