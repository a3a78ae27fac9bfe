"""The practice loop: session trees, replay, compare, and nothing lost on failure."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from coach.application.backends import Backend
from coach.application.engine import Engine
from coach.core.errors import ModelError, ReplyError
from coach.core.session import compare, state_of, user_turns
from coach.judges.builtin import HeuristicJudge
from coach.partners.base import PartnerContext
from coach.partners.scripted import ScriptedPartner

VENT = "vent-humiliated-at-work"
GOOD = "Oh love, that's humiliating. No wonder you're shaking. What was it like sitting there?"
FIX = "You should go to HR tomorrow and report him."
MIN = "At least he didn't say your name."


def test_opening_line_is_the_root(engine, library) -> None:
    info, opening = engine.start(VENT)
    tree = engine.store.load_tree(info.id)
    assert opening.parent_id is None and opening.role == "partner"
    assert opening.text == library[VENT].opening
    assert tree.path(1) == [opening]
    assert state_of(tree.path(1)) == "awaiting_reply"


def test_reply_is_rated_and_answered_for_what_it_did(engine, library) -> None:
    info, _ = engine.start(VENT)
    sc = library[VENT]
    good = engine.reply(info.id, GOOD)
    assert good.user.reading == "heard"
    # It reflects and asks an open question: the question is answered (coach/core/response.py).
    assert good.partner.meta["response"] == "answer"
    assert good.partner.text == sc.beats[0].answer
    assert good.rating.status == "scored" and good.rating.overall > 60
    fix = engine.reply(info.id, FIX)
    assert fix.user.reading == "fixing"
    assert fix.partner.meta["response"] == "advice"
    assert fix.partner.text == sc.beats[1].fixing
    assert fix.rating.level("no_fixing") == 0


def test_strong_replies_reach_the_felt_heard_ending_and_poor_ones_do_not(engine, library):
    sc = library[VENT]
    info, _ = engine.start(VENT)
    for _ in range(sc.turns):
        res = engine.reply(info.id, GOOD)
    assert res.ended and res.partner.ending == "felt_heard"
    assert res.partner.text == sc.endings.felt_heard
    with pytest.raises(ReplyError, match="reached its end"):
        engine.reply(info.id, GOOD)

    info2, _ = engine.start(VENT)
    for _ in range(sc.turns):
        res = engine.reply(info2.id, MIN)
    assert res.partner.ending == "not_heard"


def test_same_replies_give_the_same_conversation(engine) -> None:
    texts = [GOOD, FIX, MIN]
    runs = []
    for _ in range(2):
        info, _ = engine.start(VENT)
        for t in texts:
            engine.reply(info.id, t)
        runs.append([t.text for t in engine.store.load_tree(info.id).path(1)])
    assert runs[0] == runs[1]


def test_replay_from_turn_2_keeps_turn_1_and_the_original_branch(engine) -> None:
    info, _ = engine.start(VENT)
    for t in (GOOD, FIX, MIN):
        engine.reply(info.id, t)
    before = [t.id for t in engine.store.load_tree(info.id).path(1)]

    res = engine.replay(info.id, "It sounds like you felt humiliated. I'm here.", from_turn=2)
    assert res.user.branch == 2 and res.user.idx == 2

    tree = engine.store.load_tree(info.id)
    assert [t.id for t in tree.path(1)] == before  # original untouched
    new_path = tree.path(2)
    assert [t.id for t in new_path[:2]] == before[:2]  # opening + turn 1 shared
    assert [t.text for t in user_turns(new_path)][0] == GOOD
    assert tree.fork_of(2) == (1, 2)
    # the new branch continues on its own
    engine.reply(info.id, GOOD, branch=2)
    assert len(user_turns(engine.store.load_tree(info.id).path(2))) == 3
    assert len(user_turns(engine.store.load_tree(info.id).path(1))) == 3


def test_replay_of_a_turn_that_does_not_exist_is_a_clear_error(engine) -> None:
    info, _ = engine.start(VENT)
    engine.reply(info.id, GOOD)
    with pytest.raises(ReplyError, match="no reply 5 to replay"):
        engine.replay(info.id, GOOD, from_turn=5)


def test_compare_aligns_turns_with_deltas(engine) -> None:
    info, _ = engine.start(VENT)
    for t in (GOOD, FIX):
        engine.reply(info.id, t)
    engine.replay(
        info.id, "So it's that he made you the joke. Do you want me to just listen?", from_turn=2
    )
    c = compare(engine.store.load_tree(info.id), 1, 2)
    assert [r.turn for r in c.rows] == [1, 2]
    shared, changed = c.rows
    assert shared.a.id == shared.b.id and shared.overall_delta == 0
    assert changed.level_deltas["no_fixing"] == 2  # 0 -> 2
    assert changed.level_deltas["asks_needs"] == 2
    assert changed.overall_delta > 0
    assert c.overall_b > c.overall_a


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_reply_is_refused_clearly_and_not_stored(engine, text) -> None:
    info, _ = engine.start(VENT)
    with pytest.raises(ReplyError, match="empty"):
        engine.reply(info.id, text)
    assert len(engine.store.load_tree(info.id).turns) == 1


def test_huge_reply_is_refused_clearly(engine) -> None:
    info, _ = engine.start(VENT)
    with pytest.raises(ReplyError, match="20,000 characters"):
        engine.reply(info.id, "a" * 20_000)


class Crash(Exception):
    pass


class CrashingPartner:
    name = "crashing"

    def respond(self, ctx: PartnerContext) -> Iterator[str]:
        raise Crash("process died mid-turn")
        yield ""  # pragma: no cover


class DownPartner:
    name = "down"

    def __init__(self) -> None:
        self.calls = 0

    def respond(self, ctx: PartnerContext) -> Iterator[str]:
        self.calls += 1
        yield "half a li"
        raise ModelError("Cannot reach the model server.", retryable=True)


def test_a_crash_after_storing_the_reply_leaves_it_in_the_database(store, library) -> None:
    eng = Engine(store, Backend(HeuristicJudge(), CrashingPartner(), "test", False), library)
    info, _ = eng.start(VENT)
    with pytest.raises(Crash):
        eng.reply(info.id, GOOD)
    # read the file with a fresh connection, as a restarted process would
    rows = (
        sqlite3.connect(store.path)
        .execute("SELECT text, status FROM turns WHERE role = 'user'")
        .fetchall()
    )
    assert rows == [(GOOD, "pending")]
    # and the session can be resumed with a working partner
    ok = Engine(store, Backend(HeuristicJudge(), ScriptedPartner(), "offline", True), library)
    assert state_of(store.load_tree(info.id).path(1)) == "needs_retry"
    res = ok.retry(info.id)
    assert res.partner is not None and res.user.status == "ok"
    assert state_of(store.load_tree(info.id).path(1)) == "awaiting_reply"


def test_model_failure_keeps_the_reply_and_retry_finishes_the_turn(store, library) -> None:
    down = DownPartner()
    eng = Engine(store, Backend(HeuristicJudge(), down, "test", False), library)
    info, _ = eng.start(VENT)
    with pytest.raises(ModelError, match="reply is saved"):
        eng.reply(info.id, GOOD)
    user = [t for t in store.load_tree(info.id).turns if t.role == "user"]
    assert len(user) == 1 and user[0].status == "failed" and "Cannot reach" in user[0].error
    assert user[0].rating is not None  # the judge's work was kept
    with pytest.raises(ReplyError, match="retry"):
        eng.reply(info.id, "another")
    eng.backend = Backend(HeuristicJudge(), ScriptedPartner(), "offline", True)
    res = eng.retry(info.id)
    assert res.user.id == user[0].id and res.user.status == "ok"
    assert len([t for t in store.load_tree(info.id).turns if t.role == "user"]) == 1


def test_safety_concern_withholds_the_rating(engine) -> None:
    info, _ = engine.start(VENT)
    res = engine.reply(info.id, "Honestly sometimes I want to kill myself too.")
    assert res.rating.status == "withheld"
    assert "988" in res.rating.tip and res.rating.overall is None
    # the role-play pauses: no in-character answer, and the conversation can go on
    assert res.partner.meta.get("pause") and "Practice paused" in res.partner.text
    assert not res.ended
    nxt = engine.reply(info.id, GOOD)
    assert nxt.rating.status == "scored" and nxt.partner.text


def test_history_is_newest_first_and_paged(engine) -> None:
    ids = [engine.start(VENT)[0].id for _ in range(6)]
    for sid in ids[1:]:
        engine.reply(sid, FIX)
    engine.reply(ids[1], GOOD)  # touching a session moves it to the top
    page1 = engine.store.list_sessions(limit=3)
    page2 = engine.store.list_sessions(limit=3, offset=3)
    assert page1[0].id == ids[1]
    assert len(page1) == 3 and len(page2) == 2
    assert {s.id for s in page1 + page2} == set(ids[1:])  # the unanswered one is left out
    assert engine.store.count_sessions() == 5
    assert engine.store.count_sessions(include_empty=True) == 6
    assert page1[0].user_turns == 2 and page1[0].mean_score is not None
    assert engine.store.resolve(ids[2][:6]) == ids[2]


def test_replay_cannot_start_past_the_last_reply(engine, library) -> None:
    info, _ = engine.start(VENT)
    for _ in range(library[VENT].turns):
        engine.reply(info.id, GOOD)
    # the branch has ended after its last reply: "one more turn" is not a fork point
    with pytest.raises(ReplyError, match=r"choose 1 to 5"):
        engine.replay(info.id, GOOD, from_turn=library[VENT].turns + 1)


def test_a_failed_replay_says_which_branch_holds_the_reply(store, library) -> None:
    eng = Engine(store, Backend(HeuristicJudge(), ScriptedPartner(), "offline", True), library)
    info, _ = eng.start(VENT)
    eng.reply(info.id, GOOD)
    eng.backend = Backend(HeuristicJudge(), DownPartner(), "test", False)
    with pytest.raises(ModelError) as e:
        eng.replay(info.id, FIX, from_turn=1)
    assert e.value.branch == 2
    tree = store.load_tree(info.id)
    assert [t.text for t in tree.path(2) if t.role == "user"] == [FIX]
    assert tree.info.branches == 2


class BrokenJudge:
    name = "broken"

    def rate(self, ctx):
        raise ZeroDivisionError("bug in a judge")


def test_a_judge_bug_keeps_the_partners_line_and_the_reply(store, library) -> None:
    eng = Engine(store, Backend(BrokenJudge(), ScriptedPartner(), "test", False), library)
    info, _ = eng.start(VENT)
    with pytest.raises(ZeroDivisionError):
        eng.reply(info.id, GOOD)
    path = store.load_tree(info.id).path(1)
    user, partner = path[1], path[2]
    assert user.text == GOOD and user.status == "failed" and "ZeroDivisionError" in user.error
    assert partner.role == "partner" and partner.text
    eng.backend = Backend(HeuristicJudge(), ScriptedPartner(), "offline", True)
    res = eng.retry(info.id)  # only the rating was missing: the same line stays
    assert res.partner.id == partner.id and res.rating.status == "scored"
    assert res.user.status == "ok"


def test_the_partner_answers_after_the_judge_and_hears_its_reading(store, library) -> None:
    """The partner hears the judge the user sees, so it starts once the rating is in."""
    order: list[str] = []
    heard: dict[str, object] = {}

    class SlowJudge:
        name = "slow"

        def rate(self, ctx):
            order.append("judge started")
            rating = HeuristicJudge().rate(ctx)
            order.append("judge done")
            return rating

    class ListeningPartner:
        name = "listening"

        def respond(self, ctx):
            order.append("partner started")
            heard["reading"] = ctx.reading
            yield "I hear you."

    eng = Engine(store, Backend(SlowJudge(), ListeningPartner(), "test", False), library)
    info, _ = eng.start(VENT)
    res = eng.reply(info.id, GOOD)
    assert order == ["judge started", "judge done", "partner started"]
    assert heard["reading"] == res.user.reading
    assert res.partner.text == "I hear you." and res.rating.status == "scored"
