"""What a new user tripped on (issue 12), through AppTest: the "try this instead" editor,
the review page's chart, skill bars and drill, and the settings page's warnings."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from coach.render import SUGGESTED_NOTE
from tests.test_app import GOOD, app, engine, markdown, send, start


@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("COACH_DB", str(tmp_path / "coach.db"))
    return tmp_path / "coach.db"

ADVICE = "You should talk to HR tomorrow."


def _in_order(at: AppTest) -> list:
    """Every element of the main area, top to bottom."""
    return [n for n in at.main if getattr(n, "type", None) not in (None, "block")]


def _user_turn(at_db: Path, sid: str, idx: int, branch: int = 1):
    path = engine(at_db).tree(sid).path(branch)
    return next(t for t in path if t.role == "user" and t.idx == idx)


def test_try_this_instead_opens_under_its_reply(db):
    at = send(send(send(start(app()), GOOD), ADVICE), "What was the hardest part?")
    sid = at.session_state["practice_session"]
    turn2 = _user_turn(db, sid, 2)
    at.button(key=f"try-p-{turn2.id}").click().run()
    assert not at.exception, at.exception
    nodes = _in_order(at)

    def first(pred) -> int:
        return next(i for i, n in enumerate(nodes) if pred(n))

    editor = first(lambda n: getattr(n, "key", None) == "draft-2")
    reply2 = first(lambda n: n.type == "markdown" and "You (reply 2)" in n.value)
    reply3 = first(lambda n: n.type == "markdown" and "You (reply 3)" in n.value)
    assert reply2 < editor < reply3  # under reply 2, not at the bottom of the page


def test_the_suggestion_sent_unchanged_is_marked_in_its_rating(db):
    at = send(send(start(app()), GOOD), ADVICE)
    sid = at.session_state["practice_session"]
    turn2 = _user_turn(db, sid, 2)
    at.button(key=f"try-p-{turn2.id}").click().run()
    at.button(key="draft_send").click().run()
    assert not at.exception, at.exception
    new = _user_turn(db, sid, 2, branch=2)
    assert new.text == turn2.rating.better_reply
    assert new.rating.suggested  # stored with the rating
    assert any(SUGGESTED_NOTE in c.value for c in at.caption)  # and shown beside it


def test_an_edited_suggestion_is_not_marked(db):
    at = send(send(start(app()), GOOD), ADVICE)
    sid = at.session_state["practice_session"]
    turn2 = _user_turn(db, sid, 2)
    at.button(key=f"try-p-{turn2.id}").click().run()
    at.text_area(key="draft-2").set_value(turn2.rating.better_reply + " I'm here.").run()
    at.button(key="draft_send").click().run()
    assert not at.exception, at.exception
    assert not _user_turn(db, sid, 2, branch=2).rating.suggested
    assert not any(SUGGESTED_NOTE in c.value for c in at.caption)
    assert "You (reply 2)" in markdown(at)
