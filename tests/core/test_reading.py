"""How the partner reads a rating (coach/core/reading.py)."""

from __future__ import annotations

import pytest

from coach.core.reading import OPENNESS_DELTA, Reading, advance_openness, reading_of
from tests.core.helpers import all_levels, rating

GOOD = all_levels(2)


def _with(**levels: int) -> dict[str, int]:
    return {**GOOD, **levels}


@pytest.mark.parametrize(
    ("levels", "flags", "expected"),
    [
        (GOOD, (), Reading.HEARD),
        (_with(no_dismissing=0), (), Reading.DISMISSING),
        (GOOD, ("contempt",), Reading.DISMISSING),
        (GOOD, ("criticism",), Reading.DISMISSING),
        # dismissing wins over fixing, fixing over self-focus
        (_with(no_dismissing=0, no_fixing=0), (), Reading.DISMISSING),
        (_with(no_fixing=0, stays_with_them=0), (), Reading.FIXING),
        (_with(no_fixing=0), (), Reading.FIXING),
        (_with(stays_with_them=0), (), Reading.SELF_FOCUSED),
        (GOOD, ("defensiveness",), Reading.SELF_FOCUSED),
        (GOOD, ("stonewalling",), Reading.DISMISSING),
        # mild slips, cushioned by attunement, are forgiven
        (_with(no_fixing=1, asks_needs=1), (), Reading.HEARD),
        (_with(no_dismissing=1), (), Reading.HEARD),
        (_with(stays_with_them=1), (), Reading.HEARD),
    ],
)
def test_reading_of(levels, flags, expected) -> None:
    assert reading_of(rating(levels, flags=flags)) is expected


# attunement just below the cushion: warmth 1 + validation 1, nothing else attuned
THIN = {**all_levels(0), "no_fixing": 2, "no_dismissing": 2, "stays_with_them": 2,
        "warmth": 1, "validation": 1}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, Reading.NEUTRAL),
        ({"understanding": 1}, Reading.HEARD),  # three levels of attunement: heard
        ({"no_fixing": 1}, Reading.FIXING),
        ({"no_fixing": 1, "asks_needs": 2}, Reading.HEARD),  # they asked what helps
        ({"no_dismissing": 1}, Reading.DISMISSING),
        ({"stays_with_them": 1}, Reading.SELF_FOCUSED),
        ({"no_fixing": 1, "understanding": 1}, Reading.HEARD),
    ],
)
def test_mild_slips_land_when_little_else_shows_they_were_heard(change, expected) -> None:
    assert reading_of(rating({**THIN, **change})) is expected


def test_a_tentative_idea_with_a_real_ask_for_needs_is_not_fixing() -> None:
    levels = {**all_levels(0), "no_fixing": 1, "no_dismissing": 2, "stays_with_them": 2,
              "asks_needs": 2}
    assert reading_of(rating(levels)) is Reading.NEUTRAL  # attunement 2: not heard either


def test_unscored_and_withheld_ratings_read_as_neutral() -> None:
    for status in ("unscored", "withheld"):
        assert reading_of(rating(_with(no_dismissing=0), status=status)) is Reading.NEUTRAL


def test_a_rating_with_no_levels_reads_as_neutral() -> None:
    assert reading_of(rating({})) is Reading.NEUTRAL


def test_openness_moves_by_the_reading_and_stays_in_range() -> None:
    # being heard opens faster than a fumble closes; dismissal hurts more than a fix
    assert set(OPENNESS_DELTA) == set(Reading)
    assert advance_openness(0, Reading.FIXING) == advance_openness(0, Reading.SELF_FOCUSED) == -1
    assert advance_openness(0, Reading.HEARD) == 2
    assert advance_openness(0, Reading.DISMISSING) == -2
    assert advance_openness(4, Reading.HEARD) == 5
    assert advance_openness(5, Reading.HEARD) == 5
    assert advance_openness(-4, Reading.DISMISSING) == -5
    assert advance_openness(-5, Reading.FIXING) == -5
    assert advance_openness(3, Reading.NEUTRAL) == 3
