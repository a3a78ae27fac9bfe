"""The pure session tree (coach/core/session.py), built from Turn values: no SQLite."""

from __future__ import annotations

import pytest

from coach.core.errors import StoreError
from coach.core.session import (
    ReplyCount,
    branch_summary,
    compare,
    is_suggestion_unchanged,
    last_partner_before,
    mean_levels,
    mean_overall,
    next_turn_number,
    path_to,
    reply_count,
    same_words,
    shown_delta,
    state_of,
    stuck_reply,
    user_turns,
)
from tests.core.helpers import all_levels, rating, tree, turn


def _two_branches():
    """Branch 1: opening, reply 1, answer, reply 2, answer (ended).
    Branch 2 replays reply 2 from the answer to reply 1."""
    return tree(
        turn(1, None, "partner", 0, "opening"),
        turn(2, 1, "user", 1, "a1", rating=rating(all_levels(1), overall=50.0)),
        turn(3, 2, "partner", 1, "answer 1"),
        turn(4, 3, "user", 2, "a2", rating=rating(all_levels(0), overall=0.0)),
        turn(5, 4, "partner", 2, "bye a", ending="walked_away"),
        turn(6, 3, "user", 2, "b2", branch=2, rating=rating(all_levels(2), overall=100.0)),
        turn(7, 6, "partner", 2, "answer b", branch=2),
    )


def test_tree_walks_branches_and_forks() -> None:
    t = _two_branches()
    assert t.branch_numbers() == [1, 2]
    assert t.tip(1).id == 5 and t.tip(2).id == 7
    assert [x.id for x in t.path(1)] == [1, 2, 3, 4, 5]
    assert [x.id for x in t.path(2)] == [1, 2, 3, 6, 7]
    assert t.fork_of(1) is None
    assert t.fork_of(2) == (1, 2)
    assert [x.id for x in t.children(3)] == [4, 6]
    assert [x.id for x in t.children(None)] == [1]
    assert set(t.by_id) == set(range(1, 8))


def test_tip_of_a_missing_branch_names_the_branches_there_are() -> None:
    with pytest.raises(StoreError, match="session s has no branch 3; it has 1, 2"):
        _two_branches().tip(3)


def test_path_to_is_root_first() -> None:
    t = _two_branches()
    assert [x.id for x in path_to(t.by_id, 4)] == [1, 2, 3, 4]
    assert [x.id for x in path_to(t.by_id, 1)] == [1]


def test_user_turns_next_number_and_last_partner_before() -> None:
    path = _two_branches().path(1)
    assert [x.id for x in user_turns(path)] == [2, 4]
    assert next_turn_number(path) == 3
    assert last_partner_before(path, 1).id == 1
    assert last_partner_before(path, 2).id == 3
    for bad in (0, 3):
        with pytest.raises(ValueError, match=r"no reply .* has 2 replies \(choose 1 to 2\)"):
            last_partner_before(path, bad)
    with pytest.raises(ValueError, match="has no replies yet; answer first"):
        last_partner_before(path[:1], 1)
    with pytest.raises(ValueError, match=r"has 1 reply \(choose 1\)$"):
        last_partner_before(path[:2], 2)


def test_stuck_reply_is_the_last_unanswered_reply() -> None:
    ok = [turn(1, None, "partner", 0), turn(2, 1, "user", 1)]
    assert stuck_reply(ok) is None
    path = [turn(1, None, "partner", 0), turn(2, 1, "user", 1, status="failed"),
            turn(3, 2, "partner", 1), turn(4, 3, "user", 2, status="pending")]
    assert stuck_reply(path).id == 4
    assert stuck_reply(path[:3]).id == 2
    # a partner turn that failed is not a reply to retry
    assert stuck_reply([turn(1, None, "partner", 0, status="failed")]) is None


def test_state_of() -> None:
    opening = turn(1, None, "partner", 0)
    assert state_of([opening]) == "awaiting_reply"
    assert state_of([opening, turn(2, 1, "user", 1)]) == "needs_retry"
    assert state_of([opening, turn(2, 1, "user", 1, status="failed"),
                     turn(3, 2, "partner", 1)]) == "needs_retry"
    assert state_of([opening, turn(2, 1, "user", 1),
                     turn(3, 2, "partner", 1, ending="opened_up")]) == "ended"
    # an unanswered reply wins over an ending seen before it
    assert state_of([turn(1, None, "partner", 0, ending="x"), turn(2, 1, "user", 1)]) \
        == "needs_retry"


def test_same_words_and_unchanged_suggestion() -> None:
    assert same_words(" I'm  so\nsorry ", "I'm so sorry")
    assert not same_words("I'm so sorry", "I'm sorry")
    replaced = turn(2, 1, "user", 1, rating=rating(better="Tell me  more."))
    assert is_suggestion_unchanged(replaced, "Tell me more.")
    assert not is_suggestion_unchanged(replaced, "Tell me more, please.")
    assert not is_suggestion_unchanged(None, "Tell me more.")
    assert not is_suggestion_unchanged(turn(2, 1, "user", 1), "x")
    assert not is_suggestion_unchanged(turn(2, 1, "user", 1, rating=rating()), "")


def test_reply_count_adds_one_reply_per_pause_at_or_past_the_end() -> None:
    path = [turn(1, None, "partner", 0), turn(2, 1, "user", 1),
            turn(3, 2, "partner", 1, meta={"pause": True})]
    c = reply_count(path, turns=3)
    assert c == ReplyCount(number=2, total=3, pauses=1) and not c.last
    late = [*path, turn(4, 3, "user", 2), turn(5, 4, "partner", 2, meta={"pause": True}),
            turn(6, 5, "user", 3), turn(7, 6, "partner", 3, meta={"pause": True})]
    c = reply_count(late, turns=2)
    assert c == ReplyCount(number=4, total=4, pauses=3) and c.last
    assert ReplyCount(number=5, total=4, pauses=0).last
    assert reply_count([turn(1, None, "partner", 0, meta={"pause": False})], 1).pauses == 0


def test_shown_delta_takes_the_difference_of_the_numbers_shown() -> None:
    assert shown_delta(33.6, 54.4) == 20
    assert shown_delta(54.4, 33.6) == -20
    assert shown_delta(1.04, 1.26, digits=1) == pytest.approx(0.3)  # 1.0 -> 1.3
    assert shown_delta(1.26, 2.0, digits=1) == pytest.approx(0.7)  # 1.3 -> 2.0, not 1 -> 2
    assert shown_delta(None, 1.0) is None and shown_delta(1.0, None) is None


def test_means_skip_unscored_and_unrated_turns() -> None:
    turns = [
        turn(2, 1, "user", 1, rating=rating({"warmth": 2, "validation": 1}, overall=75.0)),
        turn(4, 3, "user", 2, rating=rating({"warmth": 1}, overall=40.0)),
        turn(6, 5, "user", 3, rating=rating({"warmth": 0}, status="unscored")),
        turn(8, 7, "user", 4),
    ]
    m = mean_levels(turns)
    assert m["warmth"] == 1.5 and m["validation"] == 1.0 and m["exploration"] is None
    assert mean_levels([turn(2, 1, "user", 1, rating=rating({"warmth": 2}))])["warmth"] == 2
    assert mean_levels([]) == dict.fromkeys(m)
    assert mean_overall(turns) == 57.5
    assert mean_overall([turns[2], turns[3]]) is None
    assert round(2 / 3, 2) == mean_levels(
        [turn(i, None, "user", i, rating=rating({"warmth": lv})) for i, lv in
         enumerate((1, 1, 0))])["warmth"]
    assert mean_overall([turn(i, None, "user", i, rating=rating(overall=o)) for i, o in
                         enumerate((10.0, 10.0, 11.0))]) == 10.3


def test_branch_summary() -> None:
    t = _two_branches()
    s1, s2 = branch_summary(t, 1), branch_summary(t, 2)
    assert (s1.branch, s1.fork, s1.replies, s1.mean_score, s1.ending) == \
        (1, None, 2, 25.0, "walked_away")
    assert (s2.branch, s2.fork, s2.replies, s2.mean_score, s2.ending) == (2, (1, 2), 2, 75.0, None)


def test_compare_aligns_turns_and_averages_only_turns_rated_on_both() -> None:
    t = tree(
        turn(1, None, "partner", 0),
        turn(2, 1, "user", 1, rating=rating(all_levels(1), overall=50.0)),
        turn(3, 2, "partner", 1, "answer 1"),
        turn(4, 3, "user", 2, rating=rating(all_levels(0), overall=0.0)),
        turn(5, 4, "partner", 2, "a ends", ending="walked_away"),
        turn(6, 3, "user", 2, branch=2, rating=rating(all_levels(2), overall=100.0)),
        turn(7, 6, "partner", 2, "b answers", branch=2),
        turn(8, 7, "user", 3, branch=2, rating=rating(all_levels(2), overall=100.0)),
        turn(9, 8, "partner", 3, "b ends", branch=2, ending="opened_up"),
    )
    c = compare(t, 1, 2)
    assert (c.branch_a, c.branch_b) == (1, 2)
    assert [r.turn for r in c.rows] == [1, 2, 3]
    r1, r2, r3 = c.rows
    assert r1.a is r1.b and set(r1.level_deltas.values()) == {0} and r1.overall_delta == 0
    assert r1.partner_a == r1.partner_b == "answer 1"
    assert set(r2.level_deltas.values()) == {2}
    assert (r2.overall_a, r2.overall_b, r2.overall_delta) == (0.0, 100.0, 100)
    assert (r2.partner_a, r2.partner_b) == ("a ends", "b answers")
    # turn 3 exists on branch 2 only
    assert r3.a is None and r3.b.id == 8 and set(r3.level_deltas.values()) == {None}
    assert (r3.overall_a, r3.overall_b, r3.overall_delta) == (None, 100.0, None)
    assert (r3.partner_a, r3.partner_b) == ("", "b ends")
    assert c.turns_compared == 2
    assert (c.overall_a, c.overall_b, c.overall_delta) == (25.0, 75.0, 50)
    assert c.mean_a["warmth"] == 0.5 and c.mean_b["warmth"] == 1.5
    assert (c.ending_a, c.ending_b) == ("walked_away", "opened_up")


def test_compare_leaves_unscored_levels_out() -> None:
    t = tree(
        turn(1, None, "partner", 0),
        turn(2, 1, "user", 1, rating=rating(all_levels(1), overall=50.0)),
        turn(3, 1, "user", 1, branch=2, rating=rating(all_levels(2), status="withheld",
                                                       overall=None)),
    )
    c = compare(t, 1, 2)
    (row,) = c.rows
    assert set(row.level_deltas.values()) == {None}
    assert row.overall_b is None
    assert c.turns_compared == 0 and c.overall_a is None and c.mean_a["warmth"] is None
    # and a reply without the criterion scored has no delta for it
    t2 = tree(turn(1, None, "partner", 0),
              turn(2, 1, "user", 1, rating=rating({"warmth": 1}, overall=50.0)),
              turn(3, 1, "user", 1, branch=2, rating=rating({"warmth": 2, "validation": 2},
                                                             overall=90.0)))
    (row,) = compare(t2, 1, 2).rows
    assert row.level_deltas["warmth"] == 1 and row.level_deltas["validation"] is None


def test_compare_swapped_has_the_missing_turn_on_side_a() -> None:
    t = tree(
        turn(1, None, "partner", 0),
        turn(2, 1, "user", 1, rating=rating(all_levels(1), overall=50.0)),
        turn(3, 2, "partner", 1, "answer 1"),
        turn(4, 3, "user", 2, branch=2, rating=rating(all_levels(2), overall=100.0)),
        turn(5, 4, "partner", 2, "b answers", branch=2),
    )
    r2 = compare(t, 2, 1).rows[1]
    assert r2.b is None and r2.overall_b is None and r2.partner_b == ""
    assert r2.overall_a == 100.0 and r2.partner_a == "b answers"


def test_compare_an_unanswered_reply_has_no_partner_answer() -> None:
    t = tree(
        turn(1, None, "partner", 0),
        turn(2, 1, "user", 1, "answered", rating=rating(all_levels(1), overall=50.0)),
        turn(3, 2, "partner", 1, "answer 1"),
        turn(4, 1, "user", 1, "still pending", branch=2, status="pending"),
    )
    (row,) = compare(t, 1, 2).rows
    assert (row.partner_a, row.partner_b) == ("answer 1", "")
    (row,) = compare(t, 2, 1).rows
    assert (row.partner_a, row.partner_b) == ("", "answer 1")


def test_compare_before_any_reply_has_no_rows() -> None:
    c = compare(tree(turn(1, None, "partner", 0)), 1, 1)
    assert c.rows == () and c.turns_compared == 0 and c.overall_delta is None
