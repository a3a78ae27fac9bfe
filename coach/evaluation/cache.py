"""A small SQLite cache of ratings, keyed by (turn text + context, judge, model, prompt version,
server).

A rerun of the same judge on the same data reads every rating back instead of calling the
judge again; changing the model, the server or the prompt version (which includes
the rubric, the rule table and the judge's structured mode) changes the key, so nothing stale
is reused.

The same file keeps finished report cards (`get_card` / `put_card`), keyed by the judge and
a digest of the data: scoring (the bootstrap intervals) takes far longer than reading ratings
back, and a card asked for twice should come back at once.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from pathlib import Path

from coach.adapters.stored import rating_from_json
from coach.core.errors import CoachError
from coach.core.rubric import Rating
from coach.core.wording import either


def cache_key(text: str, judge: str, model: str, prompt_version: str, endpoint: str = "") -> str:
    """The hex digest that names one rating in the cache.

    `endpoint` is the server the model judge talks to: the same model name on another
    server (another quantisation, another provider) may rate differently.
    """
    h = hashlib.sha256()
    for part in (text, judge, model, prompt_version, endpoint):
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")  # unit separator: ("ab", "c") and ("a", "bc") differ
    return h.hexdigest()


def default_cache_path() -> Path:
    """`$COACH_HOME/eval-cache/ratings.sqlite` (see `coach.adapters.store.default_home`)."""
    from coach.adapters.store import default_home

    return default_home() / "eval-cache" / "ratings.sqlite"


# A slow judge (a model) makes few ratings a second: commit them at least this often, so a
# run that is stopped keeps nearly all it paid for.
COMMIT_EVERY_S = 1.0


class RatingCache:
    """Thread-safe get/put of ratings; `None` path means a no-op cache.

    `read=False` rates afresh but still stores what it rates (a "run again").
    """

    def __init__(self, path: Path | None, *, read: bool = True) -> None:
        self.path = path
        self.read = read
        self.hits = self.misses = self._pending = 0
        self._last_commit = time.monotonic()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(path, check_same_thread=False)
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS ratings "
                    "(key TEXT PRIMARY KEY, rating TEXT NOT NULL)"
                )
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS cards (key TEXT PRIMARY KEY, card TEXT NOT NULL)"
                )
                self._db.commit()
            except (OSError, sqlite3.Error) as e:
                raise self._error(e) from None

    def _error(self, e: Exception) -> CoachError:
        why = getattr(e, "strerror", None) or str(e)
        return CoachError(
            f"{self.path}: cannot write the rating cache ({why}). It only holds ratings made "
            "before: delete it, or "
            + either(cli="pass --cache with another file (`coach eval` also takes --no-cache).",
                     app="start the app with COACH_HOME set to another folder.")
        )

    def get(self, key: str) -> Rating | None:
        """The cached rating, or None (counted as a miss)."""
        if self._db is None or not self.read:
            self.misses += 1
            return None
        with self._lock:
            row = self._db.execute("SELECT rating FROM ratings WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return rating_from_json(row[0])  # tolerant, and migrates rows of older versions

    def put(self, key: str, rating: Rating) -> None:
        """Store a rating the judge itself scored.

        Unscored and fallback ratings are not kept: they record a failed model call, and
        the next run should ask the model again rather than reuse a stand-in grade.
        """
        if self._db is None or rating.status != "scored" or rating.source.fallback:
            return
        with self._lock:
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO ratings (key, rating) VALUES (?, ?)",
                    (key, rating.model_dump_json()),
                )
                self._pending += 1
                # Batch commits (one per rating is slow on big sets), but not for long.
                now = time.monotonic()
                if self._pending >= 200 or now - self._last_commit >= COMMIT_EVERY_S:
                    self._db.commit()
                    self._pending, self._last_commit = 0, now
            except sqlite3.Error as e:
                raise self._error(e) from None

    def get_card(self, key: str) -> str | None:
        """A finished report card stored under `key` (its JSON text), or None."""
        if self._db is None or not self.read:
            return None
        with self._lock:
            try:
                row = self._db.execute("SELECT card FROM cards WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error as e:
                raise self._error(e) from None
        return row[0] if row else None

    def put_card(self, key: str, card: str) -> None:
        """Store a finished report card (JSON text) under `key`, replacing an older one."""
        if self._db is None:
            return
        with self._lock:
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO cards (key, card) VALUES (?, ?)", (key, card)
                )
                self._db.commit()
                self._pending, self._last_commit = 0, time.monotonic()
            except sqlite3.Error as e:
                raise self._error(e) from None

    def flush(self) -> None:
        """Commit pending ratings."""
        if self._db is not None:
            with self._lock:
                try:
                    self._db.commit()
                except sqlite3.Error as e:
                    raise self._error(e) from None
                self._pending = 0

    def close(self) -> None:
        """Commit and close."""
        if self._db is not None:
            self.flush()
            self._db.close()
            self._db = None
