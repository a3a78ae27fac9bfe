"""The store under faults: a full disk, a damaged file, rows and files from a newer coach.

Every fault is real where it can be: SQLite's own "database or disk is full" (a page limit),
a file with garbage written over its pages, rows written as a newer version would write them.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
from collections.abc import Iterator

import pytest

from coach.adapters.scenario_files import load_library
from coach.adapters.store import Store
from coach.application.backends import Backend, make_backend
from coach.application.engine import Engine
from coach.cli import main
from coach.core.errors import ReplyKeptError, StoreError
from coach.judges.builtin import HeuristicJudge
from coach.partners.base import PartnerContext
from coach.partners.scripted import ScriptedPartner

VENT = "vent-humiliated-at-work"
GOOD = "Oh no, that sounds humiliating. No wonder you're furious. What was it like?"


def _err_line(capsys, code: int) -> str:
    out = capsys.readouterr()
    assert code == 2, out
    assert "Traceback" not in out.err + out.out
    lines = out.err.strip().splitlines()
    assert len(lines) == 1, out.err
    return lines[0]


def _sid(out: str) -> str:
    return re.search(r"^Session ([0-9a-f]{8})$", out, re.M).group(1)


# ------------------------------------------------------------------ a full disk


class FillingPartner:
    """Answers with a long line after the disk has (as far as SQLite knows) filled up."""

    name = "filling"

    def __init__(self, store: Store) -> None:
        self.store = store

    def respond(self, ctx: PartnerContext) -> Iterator[str]:
        c = self.store._conn()
        pages = c.execute("PRAGMA page_count").fetchone()[0]
        c.execute(f"PRAGMA max_page_count = {pages}")  # no page more: SQLITE_FULL
        yield "I hear you. " * 3000


def test_a_full_disk_after_the_reply_keeps_it_and_says_so(store, library) -> None:
    eng = Engine(store, Backend(HeuristicJudge(), FillingPartner(store), "test", False), library)
    info, _ = eng.start(VENT)
    with pytest.raises(ReplyKeptError) as e:
        eng.reply(info.id, GOOD)
    msg = str(e.value)
    assert "full" in msg and str(store.path) in msg and "Your reply itself was saved" in msg
    assert "\n" not in msg and e.value.branch == 1
    (user,) = [t for t in store.load_tree(info.id).turns if t.role == "user"]
    assert user.text == GOOD and user.status != "ok"
    # space again: the retry finishes the turn
    store._conn().execute("PRAGMA max_page_count = 1073741823")
    eng.backend = Backend(HeuristicJudge(), ScriptedPartner(), "offline", True)
    res = eng.retry(info.id)
    assert res.partner is not None and res.user.status == "ok"


class _FullAtCommit:
    """The store's connection, except that committing a write fails as on a full disk."""

    def __init__(self, real: sqlite3.Connection) -> None:
        self.real = real
        self.writing = False

    def __getattr__(self, name: str):
        return getattr(self.real, name)

    def execute(self, sql: str, *args):
        if sql == "BEGIN IMMEDIATE":
            self.writing = True
        elif sql == "COMMIT" and self.writing:
            self.writing = False
            raise sqlite3.OperationalError("database or disk is full")
        return self.real.execute(sql, *args)


def test_a_full_disk_at_commit_through_the_cli(capsys, monkeypatch) -> None:
    real_add = Store.add_user_turn

    def add_then_fill(self, **kw):
        turn = real_add(self, **kw)
        self._local.conn = _FullAtCommit(self._conn())  # the reply is in; now the disk fills
        return turn

    monkeypatch.setattr(Store, "add_user_turn", add_then_fill)
    code = main(["practice", VENT, "--reply", GOOD])
    out = capsys.readouterr()
    assert code == 2 and "Traceback" not in out.err
    assert "is full" in out.out and "Your reply itself was saved" in out.out
    sid = _sid(out.out)
    assert f"coach resume {sid} --branch 1" in out.out
    monkeypatch.setattr(Store, "add_user_turn", real_add)
    assert main(["resume", sid, "--reply", "Tell me more about it."]) == 0
    assert "finishing the last reply" in capsys.readouterr().out
    assert main(["history"]) == 0
    assert "replies  2" in capsys.readouterr().out


def test_a_full_disk_before_the_reply_says_nothing_was_saved(store, library) -> None:
    eng = Engine(store, make_backend(None), library)
    info, _ = eng.start(VENT)
    store._local.conn = _FullAtCommit(store._conn())
    with pytest.raises(StoreError) as e:
        eng.reply(info.id, GOOD)
    assert "full" in str(e.value) and "not saved" in str(e.value)
    assert not isinstance(e.value, ReplyKeptError)
    store._local.conn = store._local.conn.real
    assert [t.role for t in store.load_tree(info.id).turns] == ["partner"]


# ------------------------------------------------------------------ a damaged file


@pytest.fixture
def damaged_db(tmp_path, library) -> tuple[str, str]:
    db = tmp_path / "coach.db"
    store = Store(db)
    eng = Engine(store, make_backend(None), library)
    for _ in range(20):
        info, _ = eng.start(VENT)
        eng.reply(info.id, GOOD)
    store.close()  # checkpoints the WAL into the file
    rnd = random.Random(7)  # the same garbage every run
    with db.open("r+b") as f:
        f.seek(4096)  # keep page 1 (the header and the schema): the file still opens
        f.write(bytes(rnd.randrange(256) for _ in range(db.stat().st_size - 4096)))
    return str(db), info.id


@pytest.mark.parametrize("command", [["history"], ["review"], ["export"], ["resume"]])
def test_a_damaged_database_is_named_with_what_to_do(capsys, damaged_db, command) -> None:
    db, sid = damaged_db
    args = ["--db", db, *command] + ([sid] if command != ["history"] else [])
    line = _err_line(capsys, main(args))
    assert db in line and "damaged" in line and "Move it aside" in line


@pytest.mark.parametrize("page", ["review.py", "replay.py", "practice.py"])
def test_the_app_says_a_database_is_damaged(damaged_db, monkeypatch, page) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.test_app import MAIN

    monkeypatch.setenv("COACH_DB", damaged_db[0])
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.run()
    if page == "practice.py":
        at.button(key=f"start-{VENT}").click().run()  # opening a session writes
    else:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    assert any("damaged" in e.value and "Move it aside" in e.value for e in at.error)


# ------------------------------------------------------------------ a newer coach


def _newer_rows(db) -> str:
    """A session whose rows carry what a newer coach might write."""
    store = Store(db)
    eng = Engine(store, make_backend(None), load_library())
    info, _ = eng.start(VENT)
    eng.reply(info.id, GOOD)
    eng.reply(info.id, "You should talk to HR.")
    c = store._conn()
    rows = c.execute("SELECT id, rating FROM turns WHERE role = 'user' ORDER BY id").fetchall()
    first = json.loads(rows[0]["rating"])
    first["confidence"] = 0.9
    first["scores"]["warmth"]["confidence"] = "high"
    first["flags"] = ["contempt", "sarcasm"]
    second = json.loads(rows[1]["rating"])
    second["status"] = "provisional"
    c.execute("UPDATE turns SET rating = ?, reading = 'guarded' WHERE id = ?",
              (json.dumps(first), rows[0]["id"]))
    c.execute("UPDATE turns SET rating = ? WHERE id = ?", (json.dumps(second), rows[1]["id"]))
    sc = json.loads(c.execute("SELECT scenario_json FROM sessions").fetchone()[0])
    sc["voice"] = {"pitch": "low"}
    sc["partner"]["accent"] = "Scottish"
    sc["difficulty"] = "brutal"
    c.execute("UPDATE sessions SET scenario_json = ?", (json.dumps(sc),))
    c.execute("UPDATE turns SET ending = 'walked_out' WHERE role = 'partner' AND idx = 2")
    c.execute("UPDATE turns SET meta = '[1, 2]' WHERE role = 'partner' AND idx = 1")
    store.close()
    return info.id


def test_rows_from_a_newer_coach_still_review_export_and_resume(tmp_path, capsys) -> None:
    db = str(tmp_path / "coach.db")
    sid = _newer_rows(db)
    assert main(["--db", db, "review", sid]) == 0
    out = capsys.readouterr().out
    assert "sarcasm" in out  # an unknown flag is shown as such
    assert "provisional" in out  # so is an unknown kind of rating
    assert "walked_out" in out
    assert main(["--db", db, "export", sid, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["reading"] for t in data["turns"] if t["role"] == "user"][0] == "guarded"
    assert main(["--db", db, "export", sid]) == 0
    assert "walked_out" in capsys.readouterr().out
    assert main(["--db", db, "resume", sid]) == 0  # the ending ends it: nothing to ask
    assert "has ended" in capsys.readouterr().out


def test_a_newer_rating_keeps_what_this_version_can_read(tmp_path) -> None:
    db = tmp_path / "coach.db"
    sid = _newer_rows(db)
    tree = Store(db).load_tree(sid)
    users = [t for t in tree.turns if t.role == "user"]
    assert users[0].rating.status == "scored" and users[0].rating.flags == ["contempt"]
    assert users[0].rating.scores["warmth"].level in (0, 1, 2)
    assert users[0].reading == "guarded"
    assert users[1].rating.status == "unscored" and "provisional" in users[1].rating.reason
    sc = Engine(Store(db), make_backend(None), {}).scenario_of(tree)  # no library copy
    assert sc.difficulty == "brutal" and sc.partner.name


def test_the_app_opens_newer_rows_on_review_and_replay(tmp_path, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.test_app import MAIN

    db = tmp_path / "coach.db"
    monkeypatch.setenv("COACH_DB", str(db))
    sid = _newer_rows(db)
    for page in ("review.py", "replay.py"):
        at = AppTest.from_file(MAIN, default_timeout=30)
        at.run()
        at.switch_page(page).run()
        if page == "replay.py":
            at.session_state["replay_session"] = sid
            at.run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])
        shown = " ".join(e.value for e in [*at.markdown, *at.caption, *at.warning])
        assert "Scottish" not in shown and "walked" in shown, page
        if page == "review.py":
            assert "sarcasm" in shown and "provisional" in shown


# ------------------------------------------------------------------ losing a race


class RacedPartner:
    """Streams its line only after another window has answered the same reply."""

    name = "raced"

    def __init__(self, other: Engine, session_id: str) -> None:
        self.other, self.session_id = other, session_id

    def respond(self, ctx: PartnerContext) -> Iterator[str]:
        if self.other is not None:
            self.other.retry(self.session_id)  # the other tab wins
            self.other = None
        yield "A line nobody will ever see again."


def test_a_reply_that_loses_a_race_shows_what_was_stored(store, library) -> None:
    first = Engine(store, make_backend(None), library)
    info, _ = first.start(VENT)
    first.backend = Backend(HeuristicJudge(), _Down(), "test", False)
    with pytest.raises(Exception):  # noqa: B017 - any model failure leaves it pending
        first.reply(info.id, GOOD)
    winner = Engine(Store(store.path), make_backend(None), library)
    loser = Engine(store, Backend(HeuristicJudge(), RacedPartner(winner, info.id), "t", False),
                   library)
    res = loser.retry(info.id)
    stored = [t for t in store.load_tree(info.id).turns if t.role == "partner" and t.idx == 1]
    assert res.raced and res.partner is not None
    assert res.partner.text == stored[0].text != "A line nobody will ever see again."


class _Down:
    name = "down"

    def respond(self, ctx: PartnerContext) -> Iterator[str]:
        from coach.core.errors import ModelError

        raise ModelError("down", retryable=True)
        yield ""  # pragma: no cover


def test_the_cli_shows_the_answer_that_was_kept_after_losing_a_race(tmp_path, capsys,
                                                                    monkeypatch, library):
    import coach.application.backends

    db = tmp_path / "coach.db"
    store = Store(db)
    first = Engine(store, Backend(HeuristicJudge(), _Down(), "test", False), library)
    info, _ = first.start(VENT)
    with pytest.raises(Exception):  # noqa: B017
        first.reply(info.id, GOOD)
    winner = Engine(Store(db), make_backend(None), library)
    partner = RacedPartner(winner, info.id)
    monkeypatch.setattr(
        coach.application.backends, "make_backend",
        lambda config, **kw: Backend(HeuristicJudge(), partner, "raced", False),
    )
    assert main(["--db", str(db), "resume", info.id, "--reply", "Tell me more."]) == 0
    out = capsys.readouterr().out
    kept = [t for t in store.load_tree(info.id).turns if t.role == "partner" and t.idx == 1][0]
    assert "Another window answered this reply" in out
    assert f"{library[VENT].partner.name}: {kept.text}" in out
