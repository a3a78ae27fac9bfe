"""The store (coach/adapters/store.py) and its tolerant row readers (coach/adapters/stored.py).

Round trips of sessions, turns and branches; old rows and files migrated forward; a damaged,
foreign or newer database refused with one line that says what to do; the reply committed
before anything else happens (a killed process keeps it); several threads and several
`Store`s writing to one file at once. The store under injected faults (a full disk, a race
between windows, through the engine and the CLI) is in tests/test_store_faults.py.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading

import pytest

from coach.adapters.store import SCHEMA_VERSION, Store, default_db_path, default_home
from coach.adapters.stored import rating_from_json
from coach.core.errors import ConflictError, StoreError
from coach.core.reading import Reading
from coach.core.rubric import Act, Provenance, Rating

REPLY = "That sounds humiliating. What was it like?"


def _session(store: Store, scenario_id: str = "vent", **kw):
    return store.create_session(
        scenario_id=scenario_id, title="Venting", backend="offline", opening="Guess what.",
        openness=2, **kw,
    )


def _rated(overall: float) -> Rating:
    return Rating(
        scores={"warmth": {"level": 2, "evidence": ["humiliating"]}},
        acts=[Act(kind="validation", quote="That sounds humiliating.")],
        overall=overall,
        source=Provenance(backend="heuristic", model="rules-1"),
    )


def _answered(store: Store, sid: str, parent: int, branch: int | None, idx: int,
              overall: float = 60.0, ending: str | None = None):
    user = store.add_user_turn(session_id=sid, parent_id=parent, branch=branch, idx=idx,
                               text=REPLY)
    store.save_rating(user.id, _rated(overall), Reading.HEARD)
    partner = store.complete_turn(store.turn(user.id), partner_text="It was awful.",
                                  openness=3, ending=ending, meta={"why": "validated"})
    return store.turn(user.id), partner


def _one_line(e: pytest.ExceptionInfo) -> str:
    msg = str(e.value)
    assert msg and "\n" not in msg and "Traceback" not in msg
    return msg


# ------------------------------------------------------------------ round trips


def test_a_session_its_turns_and_their_fields_round_trip(store) -> None:
    info, opening = _session(store, scenario_json='{"id": "vent"}')
    assert (opening.role, opening.idx, opening.branch, opening.parent_id) == ("partner", 0, 1, None)
    assert opening.text == "Guess what." and opening.openness == 2
    user, partner = _answered(store, info.id, opening.id, 1, 1, overall=60.0, ending="felt_heard")
    assert user.status == "ok" and user.error == "" and user.reading is Reading.HEARD
    assert user.rating == _rated(60.0)
    assert (partner.parent_id, partner.branch, partner.idx) == (user.id, 1, 1)
    assert partner.ending == "felt_heard" and partner.meta == {"why": "validated"}
    tree = Store(store.path).load_tree(info.id)  # a second connection reads the same
    assert tree.turns == (opening, user, partner)
    assert tree.scenario_json == '{"id": "vent"}'
    assert tree.info == store.session(info.id)
    assert (tree.info.scenario_id, tree.info.title, tree.info.backend) == ("vent", "Venting",
                                                                          "offline")
    assert tree.info.user_turns == 1 and tree.info.mean_score == 60.0 and tree.info.ended


def test_reply_meta_is_kept_and_a_pending_reply_stays_pending(store) -> None:
    info, opening = _session(store)
    user = store.add_user_turn(session_id=info.id, parent_id=opening.id, branch=1, idx=1,
                               text=REPLY, meta={"suggested": True})
    assert store.turn(user.id).status == "pending" and store.turn(user.id).meta == {
        "suggested": True}
    assert store.turn(user.id).rating is None
    store.mark_failed(user.id, "Cannot reach the model server.")
    failed = store.turn(user.id)
    assert failed.status == "failed" and failed.error == "Cannot reach the model server."
    store.mark_ok(user.id)
    assert (store.turn(user.id).status, store.turn(user.id).error) == ("ok", "")


def test_completing_a_reply_with_an_error_marks_it_failed(store) -> None:
    info, opening = _session(store)
    user = store.add_user_turn(session_id=info.id, parent_id=opening.id, branch=1, idx=1,
                               text=REPLY)
    store.complete_turn(user, partner_text="...", openness=1, ending=None, meta={},
                        error="The judge timed out.")
    assert store.turn(user.id).status == "failed"
    assert store.turn(user.id).error == "The judge timed out."
    assert not store.session(info.id).ended


def test_each_replay_reserves_the_next_branch_number(store) -> None:
    info, opening = _session(store)
    first, _ = _answered(store, info.id, opening.id, 1, 1, overall=40.0, ending="felt_heard")
    second, _ = _answered(store, info.id, opening.id, None, 1, overall=80.0)
    third = store.add_user_turn(session_id=info.id, parent_id=opening.id, branch=None, idx=1,
                                text="Tell me.")
    assert (first.branch, second.branch, third.branch) == (1, 2, 3)
    tree = store.load_tree(info.id)
    assert tree.info.branches == 3 and tree.branch_numbers() == [1, 2, 3]
    assert [t.text for t in tree.path(2)] == ["Guess what.", REPLY, "It was awful."]
    assert tree.info.user_turns == 3 and tree.info.mean_score == 60.0  # (40 + 80) / 2
    assert tree.info.ended  # a branch reached an ending; a later replay does not undo it
    with pytest.raises(StoreError, match="no session 'nope'"):
        store.add_user_turn(session_id="nope", parent_id=opening.id, branch=None, idx=1,
                            text="x")


def test_a_second_answer_on_one_branch_is_a_conflict_and_is_not_written(store) -> None:
    info, opening = _session(store)
    store.add_user_turn(session_id=info.id, parent_id=opening.id, branch=1, idx=1, text="a")
    with pytest.raises(ConflictError, match="another window or tab") as e:
        store.add_user_turn(session_id=info.id, parent_id=opening.id, branch=1, idx=1, text="b")
    _one_line(e)
    assert [t.text for t in store.load_tree(info.id).turns if t.role == "user"] == ["a"]
    assert store.session(info.id).user_turns == 1


def test_a_late_second_rating_is_ignored_and_counted_once(store) -> None:
    info, opening = _session(store)
    user, _ = _answered(store, info.id, opening.id, 1, 1, overall=60.0)
    store.save_rating(user.id, _rated(10.0), Reading.DISMISSING)  # a retry in another tab
    assert store.turn(user.id).rating.overall == 60.0
    assert store.turn(user.id).reading is Reading.HEARD
    assert store.session(info.id).mean_score == 60.0


def test_an_unscored_rating_does_not_count_towards_the_mean(store) -> None:
    info, opening = _session(store)
    user = store.add_user_turn(session_id=info.id, parent_id=opening.id, branch=1, idx=1,
                               text=REPLY)
    store.save_rating(user.id, Rating(status="unscored", reason="no answer"), Reading.NEUTRAL)
    assert store.session(info.id).mean_score is None
    assert store.turn(user.id).rating.reason == "no answer"


def test_a_session_id_resolves_from_a_unique_prefix(store) -> None:
    a, _ = _session(store)
    b, _ = _session(store)
    assert store.resolve(a.id) == a.id and store.resolve(f"  {a.id[:7]} ") == a.id
    with pytest.raises(StoreError, match="give a session id"):
        store.resolve("  ")
    with pytest.raises(StoreError, match="no session 'zzzz'; `coach history` lists them"):
        store.resolve("zzzz")
    with pytest.raises(StoreError, match="no session"):
        store.session("zzzz")
    with pytest.raises(StoreError, match="no session"):
        store.load_tree("zzzz")
    with pytest.raises(StoreError, match="no turn 999"):
        store.turn(999)


def test_an_ambiguous_prefix_is_refused(store) -> None:
    ids = ["ab000001", "ab000002"]
    for sid in ids:
        store._conn().execute(
            "INSERT INTO sessions (id, scenario_id, title, backend, created_at, updated_at)"
            " VALUES (?, 'vent', 't', 'offline', 0, 0)", (sid,))
    with pytest.raises(StoreError, match="'ab' matches several sessions") as e:
        store.resolve("ab")
    _one_line(e)
    assert store.resolve("ab000001") == "ab000001"  # a full id that prefixes nothing else


def test_history_lists_answered_sessions_newest_first_by_page(store) -> None:
    made = []
    for n in range(5):
        info, opening = _session(store, scenario_id="vent" if n % 2 else "apology")
        if n != 4:  # the last is opened but never answered
            _answered(store, info.id, opening.id, 1, 1)
        made.append(info.id)
    listed = [s.id for s in store.list_sessions()]
    assert listed == made[3::-1]
    assert store.count_sessions() == 4 and store.count_sessions(include_empty=True) == 5
    assert [s.id for s in store.list_sessions(include_empty=True, limit=2)] == made[:2:-1][:2]
    assert [s.id for s in store.list_sessions(limit=2, offset=2)] == made[1::-1]
    assert [s.id for s in store.list_sessions(scenario_id="vent")] == [made[3], made[1]]
    assert store.count_sessions(scenario_id="apology") == 2
    assert store.count_sessions(scenario_id="apology", include_empty=True) == 3


def test_rated_turns_are_the_latest_oldest_first_with_their_sessions(store) -> None:
    a, oa = _session(store)
    b, ob = _session(store, scenario_id="apology")
    _answered(store, a.id, oa.id, 1, 1, overall=10.0)
    _answered(store, b.id, ob.id, 1, 1, overall=20.0)
    _answered(store, a.id, oa.id, None, 1, overall=30.0)
    store.add_user_turn(session_id=b.id, parent_id=ob.id, branch=None, idx=1, text="unrated")
    got = store.rated_turns()
    assert [(info.id, t.rating.overall) for info, t in got] == [
        (a.id, 10.0), (b.id, 20.0), (a.id, 30.0)]
    assert [t.rating.overall for _, t in store.rated_turns(limit=2)] == [20.0, 30.0]
    assert Store(store.path.with_name("empty.db")).rated_turns() == []


def test_the_database_path_follows_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COACH_HOME", str(tmp_path / "home"))
    assert default_home() == tmp_path / "home"
    assert default_db_path() == tmp_path / "home" / "coach.db"
    monkeypatch.setenv("COACH_DB", str(tmp_path / "other.db"))
    assert default_db_path() == tmp_path / "other.db"
    assert Store().path == tmp_path / "other.db"
    monkeypatch.delenv("COACH_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_home() == tmp_path / "xdg" / "coach"


# ------------------------------------------------------------------ old rows, migrated forward

# A rating as coach wrote it before the verdict and its provenance were split.
FLAT = {
    "status": "scored",
    "scores": {"warmth": {"level": 2, "evidence": ["so sorry"]}},
    "overall": 81.0,
    "backend": "llm",
    "model": "qwen2.5:7b",
    "prompt_version": "judge-abc",
    "latency_ms": 812.5,
    "usage": {"prompt_tokens": 900, "completion_tokens": 120},
    "fallback": False,
    "tip": "Ask what they need.",
}


def test_a_flat_rating_of_an_older_version_is_migrated_into_its_source():
    r = rating_from_json(json.dumps(FLAT))
    assert r is not None and r.status == "scored" and r.overall == 81.0
    assert r.source == Provenance(
        backend="llm", model="qwen2.5:7b", prompt_version="judge-abc", latency_ms=812.5,
        usage={"prompt_tokens": 900, "completion_tokens": 120}, fallback=False,
    )
    assert r.scores["warmth"].evidence == ["so sorry"] and r.tip == "Ask what they need."


def test_a_flat_fallback_stays_a_fallback():
    r = rating_from_json(json.dumps({**FLAT, "backend": "heuristic", "fallback": True}))
    assert r.source.fallback and r.source.backend == "heuristic"


def test_the_current_shape_round_trips():
    r = Rating(overall=40.0, source=Provenance(backend="heuristic", model="rules-1"))
    assert rating_from_json(r.model_dump_json()) == r


def test_a_rating_has_no_judge_by_default():
    # The default used to be "heuristic", which credited the built-in rules with any
    # rating built without saying who made it.
    assert Rating().source.backend == ""


def test_a_scored_rating_stored_without_acts_gets_the_built_in_tags_on_load(store) -> None:
    info, opening = _session(store)
    user = store.add_user_turn(session_id=info.id, parent_id=opening.id, branch=1, idx=1,
                               text="I'm so sorry. What was that like?")
    old = Rating(scores={"warmth": {"level": 2}}, overall=70.0)  # before ratings had acts
    store.save_rating(user.id, old, Reading.HEARD)
    kinds = {a.kind for a in store.turn(user.id).rating.acts}
    assert {"care", "open_question"} <= kinds
    # an unscored one has nothing to tag, and a partner's line is never rated
    other = store.add_user_turn(session_id=info.id, parent_id=opening.id, branch=None, idx=1,
                                text="I'm so sorry.")
    store.save_rating(other.id, Rating(status="unscored", reason="x"), Reading.NEUTRAL)
    assert store.turn(other.id).rating.acts == []


def test_a_flat_rating_row_opens_through_the_store(store) -> None:
    info, opening = _session(store)
    user = store.add_user_turn(session_id=info.id, parent_id=opening.id, branch=1, idx=1,
                               text=REPLY)
    store._conn().execute("UPDATE turns SET rating = ?, reading = 'heard', meta = 'oops'"
                          " WHERE id = ?", (json.dumps(FLAT), user.id))
    got = store.turn(user.id)
    assert got.rating.source.model == "qwen2.5:7b" and got.rating.overall == 81.0
    assert got.reading is Reading.HEARD and got.meta == {}


def test_an_unversioned_database_is_migrated_forward(tmp_path) -> None:
    db = tmp_path / "coach.db"
    store = Store(db)
    info, _ = _session(store)
    store.close()
    c = sqlite3.connect(db)
    c.execute("ALTER TABLE sessions DROP COLUMN scenario_json")  # as the first coach made it
    c.execute("PRAGMA user_version = 0")
    c.commit()
    c.close()
    store = Store(db)
    assert store._version() == SCHEMA_VERSION
    cols = {r["name"] for r in store._conn().execute("PRAGMA table_info(sessions)")}
    assert "scenario_json" in cols
    tree = store.load_tree(info.id)  # its old session still opens
    assert tree.scenario_json is None and [t.text for t in tree.turns] == ["Guess what."]


def test_a_newer_minor_version_opens_and_keeps_its_number(tmp_path) -> None:
    db = tmp_path / "coach.db"
    Store(db).close()
    c = sqlite3.connect(db)
    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 7}")
    c.commit()
    c.close()
    store = Store(db)
    assert store.list_sessions() == []
    assert store._version() == SCHEMA_VERSION + 7


# ------------------------------------------------------------------ refused, in one line


def test_a_database_from_a_newer_major_version_is_refused_untouched(tmp_path) -> None:
    db = tmp_path / "coach.db"
    c = sqlite3.connect(db)
    c.execute("CREATE TABLE conversations (id TEXT)")
    c.execute("PRAGMA user_version = 2003")
    c.commit()
    c.close()
    with pytest.raises(StoreError) as e:
        Store(db)
    line = _one_line(e)
    assert str(db) in line and "newer coach" in line and "2.3" in line and "Upgrade" in line
    c = sqlite3.connect(db)
    tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"conversations"}  # not "migrated" into something else
    assert c.execute("PRAGMA user_version").fetchone()[0] == 2003


def test_a_file_that_is_not_a_database_is_named(tmp_path) -> None:
    db = tmp_path / "notes.db"
    db.write_bytes(b"these are my notes, not a database\n" * 200)
    with pytest.raises(StoreError) as e:
        Store(db)
    line = _one_line(e)
    assert str(db) in line and "not a coach database" in line and "COACH_DB" in line


def test_a_folder_in_place_of_the_file_is_named(tmp_path) -> None:
    with pytest.raises(StoreError) as e:
        Store(tmp_path)
    assert "is a folder" in _one_line(e) and str(tmp_path) in str(e.value)


def test_a_data_folder_that_cannot_be_made_says_to_set_coach_home(tmp_path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError) as e:
        Store(tmp_path / "file" / "coach.db")
    assert "Set COACH_HOME" in _one_line(e)


def test_a_damaged_page_is_a_store_error_saying_to_move_the_file_aside(tmp_path) -> None:
    db = tmp_path / "coach.db"
    store = Store(db)
    for _ in range(3):
        info, opening = _session(store)
        store.add_user_turn(session_id=info.id, parent_id=opening.id, branch=1, idx=1,
                            text="x" * 3000)  # the turns fill pages of their own
    store.close()  # checkpoints the WAL into the file
    pages = db.stat().st_size // 4096
    assert pages > 3
    with db.open("r+b") as f:
        f.seek(4096)  # keep page 1 (the header and the schema): the file still opens
        f.write(b"\xa5" * 4096 * (pages - 1))
    store = Store(db)
    with pytest.raises(StoreError) as e:
        store.load_tree(info.id)
    line = _one_line(e)
    assert str(db) in line and "damaged" in line and "Move it aside" in line


def test_a_busy_database_says_to_try_again(tmp_path) -> None:
    db = tmp_path / "coach.db"
    store = Store(db)
    store._conn().execute("PRAGMA busy_timeout = 0")  # no waiting: the lock is held
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError) as e:
            _session(store)
    finally:
        other.execute("ROLLBACK")
    assert "busy" in _one_line(e) and "Try again" in str(e.value)
    assert store.list_sessions(include_empty=True) == []


# ------------------------------------------------------------------ crash safety

_CRASH = """
import os, sys
from coach.adapters.store import Store
store = Store(sys.argv[1])
info, opening = store.create_session(scenario_id="vent", title="t", backend="offline",
                                     opening="Guess what.", openness=2)
store.add_user_turn(session_id=info.id, parent_id=opening.id, branch=1, idx=1,
                    text=sys.argv[2])
print(info.id, flush=True)
os._exit(9)  # killed before any model is asked: no close, no checkpoint, no cleanup
"""


def test_a_reply_survives_the_process_being_killed_straight_after_it_is_stored(tmp_path):
    db = tmp_path / "coach.db"
    run = subprocess.run([sys.executable, "-c", _CRASH, str(db), REPLY],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 9, run.stderr
    tree = Store(db).load_tree(run.stdout.strip())
    (user,) = [t for t in tree.turns if t.role == "user"]
    assert (user.text, user.status) == (REPLY, "pending")
    assert tree.info.user_turns == 1


def test_a_stored_reply_is_committed_before_add_user_turn_returns(store) -> None:
    info, opening = _session(store)
    store.add_user_turn(session_id=info.id, parent_id=opening.id, branch=1, idx=1, text=REPLY)
    # a connection of its own, as another process would read it, before anything else runs
    rows = sqlite3.connect(store.path).execute(
        "SELECT text, status FROM turns WHERE role = 'user'").fetchall()
    assert rows == [(REPLY, "pending")]


def test_a_failed_write_leaves_nothing_half_written(store) -> None:
    info, opening = _session(store)
    user = store.add_user_turn(session_id=info.id, parent_id=opening.id, branch=1, idx=1,
                               text=REPLY)
    store._conn().execute("DROP INDEX turns_one_child_per_branch")
    store._conn().execute(  # a partner line already there, so the next INSERT passes...
        "CREATE TRIGGER no_settle BEFORE UPDATE OF status ON turns"
        " BEGIN SELECT RAISE(ABORT, 'refused'); END")
    with pytest.raises(StoreError):  # ...but settling the reply fails: all of it rolls back
        store.complete_turn(user, partner_text="lost", openness=3, ending="felt_heard", meta={})
    tree = store.load_tree(info.id)
    assert [t.role for t in tree.turns] == ["partner", "user"] and not tree.info.ended


# ------------------------------------------------------------------ concurrency


def test_threads_sharing_one_store_lose_no_reply(store) -> None:
    info, opening = _session(store)
    errors: list[BaseException] = []

    def replay(n: int) -> None:
        try:
            for _ in range(5):
                store.add_user_turn(session_id=info.id, parent_id=opening.id, branch=None,
                                    idx=1, text=f"reply from thread {n}")
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=replay, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    tree = store.load_tree(info.id)
    users = [t for t in tree.turns if t.role == "user"]
    assert len(users) == 20 and sorted(t.branch for t in users) == list(range(2, 22))
    assert tree.info.user_turns == 20 and tree.info.branches == 21


def test_two_stores_answering_one_line_write_exactly_one(tmp_path) -> None:
    db = tmp_path / "coach.db"
    first = Store(db)
    info, opening = _session(first)
    stores = [first, *(Store(db) for _ in range(3))]
    start = threading.Barrier(len(stores))
    outcomes: list[str] = []

    def answer(s: Store, n: int) -> None:
        start.wait()
        try:
            s.add_user_turn(session_id=info.id, parent_id=opening.id, branch=1, idx=1,
                            text=f"tab {n}")
            outcomes.append("written")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=answer, args=(s, n)) for n, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["written"]
    users = [t for t in Store(db).load_tree(info.id).turns if t.role == "user"]
    assert len(users) == 1 and Store(db).session(info.id).user_turns == 1
