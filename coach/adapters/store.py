"""SQLite storage for sessions and their turn trees.

One file under `COACH_HOME` (default: the XDG data dir). WAL mode so two app tabs or a tab
and the CLI can work at once; each turn is written in its own transaction, and the user's
reply is committed before any model is asked anything, so nothing typed is ever lost.
API keys are never stored here: only the backend's label and model names.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

from coach.adapters.stored import meta_from_json, rating_from_json, reading_from_value
from coach.core.errors import ConflictError, StoreError
from coach.core.reading import Reading
from coach.core.rubric import Rating
from coach.core.session import SessionInfo, Tree, Turn

# The database format, kept in PRAGMA user_version as MAJOR * 1000 + MINOR. A newer MINOR
# only adds (columns, fields in JSON rows) and is read tolerantly; a newer MAJOR may change
# what existing columns mean, so this coach refuses it rather than misread it.
# 0 = made before versions were kept; 1.0 = sessions carry their scenario's copy.
SCHEMA_MAJOR, SCHEMA_MINOR = 1, 0
SCHEMA_VERSION = SCHEMA_MAJOR * 1000 + SCHEMA_MINOR
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id           TEXT PRIMARY KEY,
    scenario_id  TEXT NOT NULL,
    title        TEXT NOT NULL,
    backend      TEXT NOT NULL,
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL,
    next_branch  INTEGER NOT NULL DEFAULT 2,
    -- the scenario as it was when the session started: a session stays readable and
    -- replayable after its file is edited, moved, or was only ever in COACH_SCENARIOS
    scenario_json TEXT,
    -- denormalized so the history page never scans turns
    user_turns   INTEGER NOT NULL DEFAULT 0,
    score_sum    REAL NOT NULL DEFAULT 0,
    score_n      INTEGER NOT NULL DEFAULT 0,
    ended        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_updated ON sessions(updated_at DESC);
CREATE INDEX IF NOT EXISTS sessions_scenario ON sessions(scenario_id, updated_at DESC);
CREATE TABLE IF NOT EXISTS turns (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    parent_id   INTEGER REFERENCES turns(id),
    branch      INTEGER NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('partner', 'user')),
    idx         INTEGER NOT NULL,
    text        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'ok',
    error       TEXT NOT NULL DEFAULT '',
    reading     TEXT,
    openness    INTEGER,
    ending      TEXT,
    rating      TEXT,
    meta        TEXT NOT NULL DEFAULT '{}',
    created_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_session ON turns(session_id, id);
CREATE INDEX IF NOT EXISTS turns_parent ON turns(parent_id);
-- A branch never forks from itself: two tabs answering the same line on the same branch,
-- or two retries answering the same reply, would otherwise both be written.
CREATE UNIQUE INDEX IF NOT EXISTS turns_one_child_per_branch ON turns(parent_id, branch);
"""


def default_home() -> Path:
    """`COACH_HOME`, else `$XDG_DATA_HOME/coach`, else `~/.local/share/coach`."""
    env = os.environ.get("COACH_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "coach"


def default_db_path() -> Path:
    """`COACH_DB`, else the coach data folder's `coach.db`: the one rule for CLI and app."""
    env = os.environ.get("COACH_DB")
    return Path(env).expanduser() if env else default_home() / "coach.db"


def _tagged(rating: Rating | None, role: str, text: str) -> Rating | None:
    """A scored rating stored before ratings carried act tags gets the built-in tags of its
    reply on load (a forward migration), so the metrics always read the rating's own acts."""
    if rating is None or rating.acts or role != "user" or rating.status != "scored":
        return rating
    from coach.judges.builtin import acts_of  # only old rows pay for loading the rules

    return rating.model_copy(update={"acts": acts_of(text)})


def _row_to_turn(r: sqlite3.Row) -> Turn:
    return Turn(
        id=r["id"],
        session_id=r["session_id"],
        parent_id=r["parent_id"],
        branch=r["branch"],
        role=r["role"],
        idx=r["idx"],
        text=r["text"],
        status=r["status"],
        error=r["error"],
        reading=reading_from_value(r["reading"]),
        openness=r["openness"],
        ending=r["ending"],
        rating=_tagged(rating_from_json(r["rating"]), r["role"], r["text"]),
        meta=meta_from_json(r["meta"]),
        created_at=r["created_at"],
    )


def _row_to_info(r: sqlite3.Row) -> SessionInfo:
    return SessionInfo(
        id=r["id"],
        scenario_id=r["scenario_id"],
        title=r["title"],
        backend=r["backend"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        user_turns=r["user_turns"],
        mean_score=round(r["score_sum"] / r["score_n"], 1) if r["score_n"] else None,
        ended=bool(r["ended"]),
        branches=r["next_branch"] - 1,
    )


def _read(method: Callable[..., T]) -> Callable[..., T]:
    """For every read: a damaged page or a busy file becomes a StoreError saying what to do."""

    @functools.wraps(method)
    def wrapper(self: Store, *args, **kwargs) -> T:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as e:
            raise StoreError(self._explain(e)) from None

    return wrapper


class Store:
    """Sessions and turns in one SQLite file. Safe to share between threads."""

    def __init__(self, path: Path | str | None = None) -> None:
        if path is None:
            path = default_db_path()
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(
                f"Cannot create the data folder {self.path.parent} ({e}). "
                "Set COACH_HOME to a folder you can write to."
            ) from None
        self._local = threading.local()
        try:
            # Checked before the schema runs: a newer major format must not be touched.
            self._refuse_newer(self._version())
            # executescript manages its own transaction
            self._conn().executescript(SCHEMA)
            self._migrate()
        except sqlite3.Error as e:
            self.close()
            raise StoreError(self._explain(e)) from None
        except StoreError:
            self.close()
            raise

    def _version(self) -> int:
        return int(self._conn().execute("PRAGMA user_version").fetchone()[0])

    def _refuse_newer(self, version: int) -> None:
        major, minor = divmod(version, 1000)
        if major > SCHEMA_MAJOR:
            raise StoreError(
                f"{self.path} was written by a newer coach (database format {major}.{minor}; "
                f"this coach reads format {SCHEMA_MAJOR}.x). Upgrade coach, or point --db / "
                "COACH_DB at another file."
            )

    def _migrate(self) -> None:
        """Bring a database made by an older coach up to this format, in one transaction."""
        if self._version() >= SCHEMA_VERSION:
            return  # current (or a newer minor): no write lock just to open it
        with self._tx() as c:
            version = self._version()
            self._refuse_newer(version)  # another coach may have upgraded it meanwhile
            if version < 1000:
                cols = {r["name"] for r in c.execute("PRAGMA table_info(sessions)")}
                if "scenario_json" not in cols:
                    c.execute("ALTER TABLE sessions ADD COLUMN scenario_json TEXT")
            # Later steps go here, each guarded by `if version < N`. A newer minor stays as
            # it is: lowering it would hide that its extra fields exist.
            if version < SCHEMA_VERSION:
                c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _explain(self, e: sqlite3.Error) -> str:
        if self.path.is_dir():
            return f"{self.path} is a folder; --db / COACH_DB must name a file (e.g. coach.db)."
        code = getattr(e, "sqlite_errorcode", None)
        if code == sqlite3.SQLITE_NOTADB or "not a database" in str(e):
            return (
                f"{self.path} is not a coach database. Point --db / COACH_DB at another "
                "file, or move this one away."
            )
        if code == sqlite3.SQLITE_CORRUPT or "malformed" in str(e):
            return (
                f"The database {self.path} is damaged ({e}). Move it aside (for example "
                f"rename it to {self.path.name}.broken) to start afresh, or restore it from "
                "a backup."
            )
        if code == sqlite3.SQLITE_FULL or "disk is full" in str(e):
            return (
                f"The disk holding {self.path} is full, so this change was not saved. Free "
                "some space and try again."
            )
        if "locked" in str(e):
            return f"{self.path} is busy (another coach is writing to it). Try again in a moment."
        return (
            f"Cannot use the database {self.path} ({e}). Check that the folder is "
            "writable, or set COACH_HOME / --db to another place."
        )

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error as e:
                raise StoreError(self._explain(e)) from None
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        c = self._conn()
        # BEGIN IMMEDIATE takes the write lock up front, so two tabs writing at once queue
        # up instead of failing half-way.
        try:
            c.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise StoreError(self._explain(e)) from None
        try:
            yield c
            # Inside the handler: a full disk often only shows at COMMIT (WAL frames).
            c.execute("COMMIT")
        except BaseException as e:
            # SQLite rolls back by itself after some errors (a full disk among them).
            if c.in_transaction:
                with suppress(sqlite3.Error):
                    c.execute("ROLLBACK")
            if isinstance(e, sqlite3.IntegrityError):
                raise ConflictError(
                    "This conversation changed in another window or tab. Reload it to see "
                    "the latest turns."
                ) from None
            if isinstance(e, sqlite3.Error):
                raise StoreError(self._explain(e)) from None
            raise

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ------------------------------------------------------------------ writes

    def create_session(
        self,
        *,
        scenario_id: str,
        title: str,
        backend: str,
        opening: str,
        openness: int,
        scenario_json: str | None = None,
    ) -> tuple[SessionInfo, Turn]:
        """Create a session with the partner's opening line as its root turn."""
        now = time.time()
        sid = secrets.token_hex(4)
        with self._tx() as c:
            c.execute(
                "INSERT INTO sessions (id, scenario_id, title, backend, created_at, updated_at,"
                " scenario_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sid, scenario_id, title, backend, now, now, scenario_json),
            )
            cur = c.execute(
                "INSERT INTO turns (session_id, parent_id, branch, role, idx, text, openness,"
                " created_at) VALUES (?, NULL, 1, 'partner', 0, ?, ?, ?)",
                (sid, opening, openness, now),
            )
            tid = cur.lastrowid
        return self.session(sid), self.turn(tid)

    def add_user_turn(
        self,
        *,
        session_id: str,
        parent_id: int,
        branch: int | None,
        idx: int,
        text: str,
        meta: dict | None = None,
    ) -> Turn:
        """Store the user's reply as pending. Committed before any model work starts.

        Args:
            branch: the branch the reply continues, or None to start a new branch (a
                replay); the new number is reserved in the same transaction.
            meta: facts about the reply kept with it, e.g. {"suggested": True} for the
                coach's own suggestion sent unchanged.

        Raises:
            ConflictError: another tab already answered `parent_id` on this branch.
        """
        now = time.time()
        with self._tx() as c:
            if branch is None:
                row = c.execute(
                    "SELECT next_branch FROM sessions WHERE id = ?", (session_id,)
                ).fetchone()
                if row is None:
                    raise StoreError(f"no session '{session_id}'")
                branch = int(row["next_branch"])
                c.execute(
                    "UPDATE sessions SET next_branch = next_branch + 1 WHERE id = ?",
                    (session_id,),
                )
            cur = c.execute(
                "INSERT INTO turns (session_id, parent_id, branch, role, idx, text, status,"
                " meta, created_at) VALUES (?, ?, ?, 'user', ?, ?, 'pending', ?, ?)",
                (session_id, parent_id, branch, idx, text, json.dumps(meta or {}), now),
            )
            c.execute(
                "UPDATE sessions SET updated_at = ?, user_turns = user_turns + 1 WHERE id = ?",
                (now, session_id),
            )
            tid = cur.lastrowid
        return self.turn(tid)

    def save_rating(self, turn_id: int, rating: Rating, reading: Reading) -> None:
        """Store a reply's rating (also when the partner's answer is still to come)."""
        with self._tx() as c:
            cur = c.execute(
                "UPDATE turns SET rating = ?, reading = ? WHERE id = ? AND rating IS NULL",
                (rating.model_dump_json(), reading.value, turn_id),
            )
            # Rated already (a retry in another tab won the race): keep the first rating,
            # and count its score once.
            if cur.rowcount and rating.overall is not None:
                c.execute(
                    "UPDATE sessions SET score_sum = score_sum + ?, score_n = score_n + 1,"
                    " updated_at = ? WHERE id = (SELECT session_id FROM turns WHERE id = ?)",
                    (rating.overall, time.time(), turn_id),
                )

    def complete_turn(
        self,
        user_turn: Turn,
        *,
        partner_text: str,
        openness: int,
        ending: str | None,
        meta: dict,
        error: str = "",
    ) -> Turn:
        """Store the partner's answer and settle the user's reply, in one transaction.

        The reply is marked done, or failed with `error` when its rating is still missing.
        """
        now = time.time()
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO turns (session_id, parent_id, branch, role, idx, text, openness,"
                " ending, meta, created_at) VALUES (?, ?, ?, 'partner', ?, ?, ?, ?, ?, ?)",
                (
                    user_turn.session_id,
                    user_turn.id,
                    user_turn.branch,
                    user_turn.idx,
                    partner_text,
                    openness,
                    ending,
                    json.dumps(meta),
                    now,
                ),
            )
            c.execute(
                "UPDATE turns SET status = ?, error = ? WHERE id = ?",
                ("failed" if error else "ok", error, user_turn.id),
            )
            c.execute(
                "UPDATE sessions SET updated_at = ?, ended = MAX(ended, ?) WHERE id = ?",
                (now, 1 if ending else 0, user_turn.session_id),
            )
            tid = cur.lastrowid
        return self.turn(tid)

    def mark_failed(self, turn_id: int, error: str) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE turns SET status = 'failed', error = ? WHERE id = ?", (error, turn_id)
            )

    def mark_ok(self, turn_id: int) -> None:
        with self._tx() as c:
            c.execute("UPDATE turns SET status = 'ok', error = '' WHERE id = ?", (turn_id,))

    # ------------------------------------------------------------------ reads

    @_read
    def turn(self, turn_id: int) -> Turn:
        row = self._conn().execute("SELECT * FROM turns WHERE id = ?", (turn_id,)).fetchone()
        if row is None:
            raise StoreError(f"no turn {turn_id}")
        return _row_to_turn(row)

    @_read
    def resolve(self, session_ref: str) -> str:
        """A full session id from an id or a unique prefix of one.

        Raises:
            StoreError: no session, or the prefix is ambiguous.
        """
        ref = session_ref.strip()
        if not ref:
            raise StoreError("give a session id (see `coach history`)")
        rows = (
            self._conn()
            .execute(
                "SELECT id FROM sessions WHERE id >= ? AND id < ? LIMIT 2", (ref, ref + "\uffff")
            )
            .fetchall()
        )
        if not rows:
            raise StoreError(f"no session '{ref}'; `coach history` lists them")
        if len(rows) > 1 and rows[0]["id"] != ref:
            raise StoreError(f"'{ref}' matches several sessions; type more of the id")
        return rows[0]["id"]

    @_read
    def session(self, session_id: str) -> SessionInfo:
        row = self._conn().execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise StoreError(f"no session '{session_id}'; `coach history` lists them")
        return _row_to_info(row)

    @_read
    def load_tree(self, session_id: str) -> Tree:
        """The session and all its turns, read as one consistent snapshot."""
        c = self._conn()
        # One read transaction: a turn written by another tab between the two queries
        # cannot make the header and the turns disagree.
        c.execute("BEGIN")
        try:
            row = c.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
            rows = c.execute(
                "SELECT * FROM turns WHERE session_id = ? ORDER BY id", (session_id,)
            ).fetchall()
        finally:
            if c.in_transaction:
                c.execute("COMMIT")
        if row is None:
            raise StoreError(f"no session '{session_id}'; `coach history` lists them")
        return Tree(
            info=_row_to_info(row),
            turns=tuple(_row_to_turn(r) for r in rows),
            scenario_json=row["scenario_json"],
        )

    @_read
    def list_sessions(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        scenario_id: str | None = None,
        include_empty: bool = False,
    ) -> list[SessionInfo]:
        """History, newest first, one page at a time.

        Args:
            include_empty: also list sessions opened but never answered (hidden by default:
                every "start" opens one, and they would crowd out real practice).
        """
        where, params = self._history_filter(scenario_id, include_empty)
        rows = (
            self._conn()
            .execute(
                f"SELECT * FROM sessions {where} ORDER BY updated_at DESC LIMIT ? OFFSET ?",
                (*params, limit, offset),
            )
            .fetchall()
        )
        return [_row_to_info(r) for r in rows]

    @_read
    def count_sessions(self, scenario_id: str | None = None, include_empty: bool = False) -> int:
        """How many sessions `list_sessions` pages through."""
        where, params = self._history_filter(scenario_id, include_empty)
        return int(
            self._conn().execute(f"SELECT COUNT(*) FROM sessions {where}", params).fetchone()[0]
        )

    @staticmethod
    def _history_filter(scenario_id: str | None, include_empty: bool) -> tuple[str, tuple]:
        clauses, params = [], []
        if scenario_id:
            clauses.append("scenario_id = ?")
            params.append(scenario_id)
        if not include_empty:
            clauses.append("user_turns > 0")
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)

    @_read
    def rated_turns(self, *, limit: int = 2000) -> list[tuple[SessionInfo, Turn]]:
        """The most recent rated user turns with their sessions, oldest first (for progress)."""
        c = self._conn()
        rows = c.execute(
            "SELECT * FROM turns WHERE role = 'user' AND rating IS NOT NULL"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        ids = sorted({r["session_id"] for r in rows})
        infos = (
            {
                r["id"]: _row_to_info(r)
                for r in c.execute(
                    f"SELECT * FROM sessions WHERE id IN ({','.join('?' * len(ids))})", ids
                )
            }
            if ids
            else {}
        )
        return [(infos[r["session_id"]], _row_to_turn(r)) for r in reversed(rows)]
