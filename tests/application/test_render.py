"""The shared wording of the CLI, the app and the exports (coach/application/render.py)."""

from __future__ import annotations

from coach.application.render import branch_label, delta_text, ending_words, score_word
from tests.core.helpers import tree, turn


def test_score_word_bands() -> None:
    assert score_word(None) == "not scored"
    assert [score_word(x) for x in (0.0, 49.9, 50.0, 74.9, 75.0, 100.0)] == [
        "room to grow", "room to grow", "on the way", "on the way", "strong listening",
        "strong listening"]


def test_delta_text_shows_the_rounded_change() -> None:
    assert delta_text(33.6, 54.4) == "+20"
    assert delta_text(54.4, 33.6) == "-20"
    assert delta_text(50.2, 49.8) == "±0"
    assert delta_text(1.0, 0.5, digits=1) == "-0.5"
    assert delta_text(None, 3.0) == "-" and delta_text(1.0, None, missing="n/a") == "n/a"


def test_branch_label_names_the_fork() -> None:
    t = tree(turn(1, None, "partner", 0), turn(2, 1, "user", 1), turn(3, 2, "partner", 1),
             turn(4, 3, "user", 2, branch=2))
    assert branch_label(t, 1) == "Branch 1 (the original conversation)"
    assert branch_label(t, 2) == "Branch 2 (a different reply 2, starting from branch 1)"


def test_an_unknown_ending_is_shown_as_stored() -> None:
    assert ending_words("from_the_future") == "reached the ending 'from_the_future'"


def test_session_metrics_with_nothing_to_count_say_so_in_words() -> None:
    from coach.application.render import metric_lines, metric_rows
    from coach.core.metrics import debrief
    from tests.core.helpers import all_levels, rating
    from tests.core.test_metrics import VENT

    d = debrief(VENT, [turn(2, None, "user", 1, rating=rating(all_levels(1), overall=40.0))])
    text = "\n".join(metric_lines(d))
    assert "n/a" not in text and "-> n/a" not in text
    assert "Complex reflections      no reflections yet (MITI fair 40%, good 50%)" in text
    assert "0:0 (no questions yet; MITI fair 1:1, good 2:1)" in text
    assert all("n/a" not in v for row in metric_rows(d.metrics) for v in row.values())
