"""What a new user tripped on (issue 12), through AppTest: the "try this instead" editor,
the review page's chart, skill bars and drill, and the settings page's warnings."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from coach.application.render import SUGGESTED_NOTE
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


# ------------------------------------------------------------------ review


def _review(db) -> AppTest:
    at = app()
    at.switch_page("review.py").run()
    assert not at.exception, at.exception
    return at


def test_the_progress_chart_names_each_conversation_by_date_and_scenario(db):
    import datetime as dt
    import json

    from coach.adapters.scenario_files import load_library

    eng = engine(db)
    lib = load_library()
    other = next(s for s in lib if s != "vent-humiliated-at-work")
    for scenario_id in ("vent-humiliated-at-work", other):
        info, _ = eng.start(scenario_id)
        eng.reply(info.id, GOOD)
    at = _review(db)
    chart = (at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart"))[0]
    x = json.loads(chart.proto.spec)["spec"]["encoding"]["x"]
    labels = x["sort"]
    assert len(labels) == 2 and x["type"] == "ordinal"
    infos = sorted(eng.store.list_sessions(), key=lambda i: i.created_at)
    for label, info in zip(labels, infos, strict=True):
        day = dt.datetime.fromtimestamp(info.created_at).strftime("%b %d")
        assert label.startswith(day), label
        assert info.title[:15] in label, label
    assert not any(label.strip().isdigit() for label in labels)


def test_the_debriefs_skill_bars_are_coloured_by_level(db):
    eng = engine(db)
    info, _ = eng.start("vent-humiliated-at-work")
    eng.reply(info.id, GOOD)  # warm and validating, asks nothing
    at = _review(db)
    bars = [m.value for m in at.markdown if "█" in m.value or "░" in m.value]
    assert bars, "no skill bars in the debrief"
    text = bars[0]
    assert ":green[" in text and ":red[" in text  # not one colour for every skill
    assert "**Warmth** 2.0 · strong" in text and "**Asks what they need** 0.0 · not yet" in text


def test_the_drill_names_the_weakest_skill_and_its_best_scenario(db):
    from coach.adapters.scenario_files import load_library
    from coach.core.drill import drill_words, suggest_drill

    eng = engine(db)
    info, _ = eng.start("vent-humiliated-at-work")
    eng.reply(info.id, GOOD)
    d = suggest_drill(eng.store.rated_turns(), load_library())
    at = _review(db)
    box = [m.value for m in at.markdown if "Next drill" in m.value]
    assert len(box) == 1
    shown = box[0].replace("\\", "")
    assert drill_words(d) in shown and d.criterion.name in shown and d.scenario.title in shown
    at.button(key="drill_start").click().run()
    assert not at.exception, at.exception
    started = eng.store.session(at.session_state["practice_session"])
    assert started.scenario_id == d.scenario.id


# ------------------------------------------------------------------ settings


def _settings(url: str, model: str = "m") -> AppTest:
    at = app()
    at.switch_page("settings.py").run()
    at.radio(key="set_kind").set_value("local").run()
    at.text_input(key="set_url").set_value(url).run()
    at.text_input(key="set_partner").set_value(model).run()
    return at


def _click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception
    return at


def _applied(at: AppTest) -> bool:
    b = at.session_state["coach_backend"] if "coach_backend" in at.session_state else None  # noqa: SIM401 (no .get here)
    return b is not None and not b.offline


def test_using_settings_that_just_failed_the_test_asks_first(db):
    from coach.bench.simulated_server import FakeOpenAIServer, Fault

    with FakeOpenAIServer(models=("m",)) as server:
        server.models_fault = Fault(500, "down for maintenance")
        at = _click(_settings(server.base_url), "Test connection")
        assert at.error  # the test failed
        _click(at, "Use these settings")
        assert not _applied(at)
        assert any("just failed" in w.value for w in at.warning)
        _click(at, "Use them anyway")
        assert _applied(at)
        assert any("Settings applied" in s.value for s in at.success)


def test_changed_settings_after_a_failed_test_are_used_at_once(db):
    from coach.bench.simulated_server import FakeOpenAIServer, Fault

    with FakeOpenAIServer(models=("m",)) as server:
        server.models_fault = Fault(500, "down for maintenance")
        at = _click(_settings(server.base_url), "Test connection")
        at.text_input(key="set_partner").set_value("other-model").run()
        _click(at, "Use these settings")
        assert not any("just failed" in w.value for w in at.warning)
        assert _applied(at)


def test_settings_that_passed_the_test_are_used_at_once(db):
    from coach.bench.simulated_server import FakeOpenAIServer

    with FakeOpenAIServer(models=("m",)) as server:
        at = _click(_settings(server.base_url), "Test connection")
        assert not at.error
        _click(at, "Use these settings")
        assert not at.warning and _applied(at)


TERMINAL_WORDS = ("OPENAI_", "COACH_", "--base-url", "--partner-model", "export ")


def _app_words(message: str) -> None:
    text = message.replace("\\", "")
    assert "Settings page" in text, text
    assert not any(w in text for w in TERMINAL_WORDS), text


def test_a_missing_key_is_explained_in_the_apps_words(db):
    at = app()
    at.switch_page("settings.py").run()
    at.radio(key="set_kind").set_value("remote").run()
    at.text_input(key="set_url").set_value("https://api.openai.com/v1").run()
    at.text_input(key="set_partner").set_value("m").run()
    _click(at, "Use these settings")
    (err,) = at.error
    _app_words(err.value)
    assert "API key field" in err.value


def test_a_model_the_server_lacks_is_explained_in_the_apps_words(db):
    from coach.bench.simulated_server import FakeOpenAIServer, Fault

    # lists "served"; a completion for any other name is refused
    with FakeOpenAIServer(models=("served",), handler=lambda r: Fault(404, "no model")) as server:
        at = _click(_settings(server.base_url, model="missing"), "Test connection")
    (err,) = at.error
    _app_words(err.value)
    assert "served" in err.value and "model names" in err.value


def test_the_terminal_keeps_its_own_words(capsys):
    from coach.cli import main

    assert main(["practice", "vent-humiliated-at-work", "--partner-model", "m",
                 "--reply", "hi"]) == 2
    err = capsys.readouterr().err
    assert "OPENAI_API_KEY" in err and "Settings page" not in err


def test_a_stored_model_error_is_worded_for_each_ui(db, capsys):
    """The engine stores the error with the reply; after a reload the app reads it in its
    words, and `coach resume` in the terminal's."""
    from coach.application.backends import Backend
    from coach.cli import main
    from coach.core.errors import ModelError
    from coach.core.wording import either
    from coach.judges.builtin import HeuristicJudge

    class KeyRefused:
        name = "refused"

        def respond(self, ctx):
            raise ModelError("The server rejected the API key (401). " + either(
                cli="Set OPENAI_API_KEY.", app="Type it on the Settings page."))
            yield ""  # pragma: no cover - a generator, as partners are

    at = app()
    at.session_state["coach_backend"] = Backend(HeuristicJudge(), KeyRefused(), "t", False)
    at.run()
    send(start(at), GOOD)
    _app_words(at.error[0].value)
    sid = at.session_state["practice_session"]
    again = AppTest.from_file(at._script_path, default_timeout=30)  # a reload
    again.query_params["session"] = sid
    again.run()
    assert any("Type it on the Settings page" in e.value.replace("\\", "") for e in again.error)
    assert main(["--db", str(db), "review", sid]) == 0
    out = capsys.readouterr().out
    assert "Set OPENAI_API_KEY." in out and "Settings page" not in out


def test_a_second_try_this_instead_moves_the_editor(db):
    at = send(send(send(start(app()), GOOD), ADVICE), "What was the hardest part?")
    sid = at.session_state["practice_session"]
    first, second = _user_turn(db, sid, 1), _user_turn(db, sid, 2)
    at.button(key=f"try-p-{first.id}").click().run()
    assert at.text_area(key="draft-1")
    at.button(key=f"try-p-{second.id}").click().run()
    assert not at.exception, at.exception
    assert [t.key for t in at.text_area] == ["draft-2"]


def test_the_reply_box_says_which_reply_it_is(db):
    from coach.adapters.scenario_files import load_library

    n = load_library()["vent-humiliated-at-work"].turns
    at = start(app())
    assert at.chat_input[0].placeholder.endswith(f"(reply 1 of {n})")
    send(at, "He hits me when he drinks.")  # a pause counts as a reply
    assert at.chat_input[0].placeholder.endswith(f"(reply 2 of {n})")
