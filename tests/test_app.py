"""The app's pages through streamlit.testing.v1.AppTest, on a temporary database."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from coach.adapters.scenario_files import load_library
from coach.adapters.store import Store
from coach.application.backends import Backend, make_backend
from coach.application.engine import Engine
from coach.bench.simulated_server import FakeOpenAIServer
from coach.core.errors import ModelError
from coach.core.safety import RESOURCES
from coach.judges.builtin import HeuristicJudge
from coach.partners.scripted import ScriptedPartner

MAIN = str(Path(__file__).resolve().parent.parent / "coach" / "app" / "main.py")
SCENARIO = "vent-humiliated-at-work"
GOOD = "Oh no, that sounds humiliating. No wonder you're furious."
NASTY = "<script>alert(1)</script> [link](http://x) I'm so sorry, that sounds humiliating."


@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("COACH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COACH_DB", str(tmp_path / "coach.db"))
    monkeypatch.delenv("COACH_SCENARIOS", raising=False)
    return tmp_path / "coach.db"


def app() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def engine(db: Path) -> Engine:
    return Engine(Store(db), make_backend(None), load_library())


def plain(shown: str) -> str:
    """Escaped Markdown (see coach.app.text) back to the characters a person sees."""
    return shown.replace("\\", "")


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def start(at: AppTest) -> AppTest:
    at.button(key=f"start-{SCENARIO}").click().run()
    assert not at.exception, at.exception
    return at


def send(at: AppTest, text: str) -> AppTest:
    at.chat_input[0].set_value(text).run()
    assert not at.exception, at.exception
    return at


# ------------------------------------------------------------------ practice


def test_offline_banner_and_practice_note(db):
    at = app()
    assert any("Offline mode" in i.value for i in at.info)
    assert any("practice, not therapy" in c.value for c in at.sidebar.caption)


def test_scenario_cards_and_filter(db):
    at = app()
    assert at.button(key=f"start-{SCENARIO}")
    at.text_input(key="sc_search").set_value("zzz nothing").run()
    assert not [b for b in at.button if b.key and b.key.startswith("start-")]
    assert any("No scenario matches" in i.value for i in at.info)


def test_start_and_a_rated_turn(db):
    at = start(app())
    md = markdown(at)
    assert "He put my email on the big screen" in md.replace("\\", "")
    send(at, GOOD)
    md = markdown(at)
    assert "You (reply 1)" in md
    assert ":green-badge[Warmth ●●]" in md  # the per-criterion levels
    assert ":orange-background[" in md  # the evidence, highlighted
    assert "A reply that would land better" in md
    assert any((b.key or "").startswith("try-p-") for b in at.button)
    tree = engine(db).tree(at.session_state["practice_session"])
    assert [t.role for t in tree.path(1)] == ["partner", "user", "partner"]


def test_user_text_is_never_markup(db):
    at = send(start(app()), NASTY)
    md = markdown(at)
    assert "<script>" not in md and "[link](http" not in md
    assert "\\<script\\>alert\\(1\\)\\<\\/script\\>" in md
    assert "\\[link\\]\\(http\\:\\/\\/x\\)" in md


def test_try_this_instead_branches_from_that_turn(db):
    at = send(send(start(app()), GOOD), "You should talk to HR tomorrow.")
    sid = at.session_state["practice_session"]
    eng = engine(db)
    turn2 = [t for t in eng.tree(sid).path(1) if t.role == "user" and t.idx == 2][0]
    at.button(key=f"try-p-{turn2.id}").click().run()
    assert not at.exception, at.exception
    # the suggestion opens for editing first; nothing is sent yet
    draft = at.text_area(key="draft-2")
    assert draft.value == turn2.rating.better_reply
    assert eng.tree(sid).branch_numbers() == [1]
    at.button(key="draft_send").click().run()
    assert not at.exception, at.exception
    tree = eng.tree(sid)
    assert tree.branch_numbers() == [1, 2]
    assert tree.fork_of(2) == (1, 2)
    assert at.session_state["practice_branch"] == 2
    new = [t for t in tree.path(2) if t.role == "user"][-1]
    assert new.text == turn2.rating.better_reply and new.idx == 2
    assert "Branch 2" in "\n".join(c.value for c in at.caption)


def test_try_this_instead_can_be_edited_or_cancelled(db):
    at = send(send(start(app()), GOOD), "You should talk to HR tomorrow.")
    sid = at.session_state["practice_session"]
    eng = engine(db)
    turn2 = [t for t in eng.tree(sid).path(1) if t.role == "user" and t.idx == 2][0]
    at.button(key=f"try-p-{turn2.id}").click().run()
    at.button(key="draft_cancel").click().run()
    assert not at.text_area and eng.tree(sid).branch_numbers() == [1]
    at.button(key=f"try-p-{turn2.id}").click().run()
    at.text_area(key="draft-2").set_value("That sounds so hard. What would help tonight?").run()
    at.button(key="draft_send").click().run()
    new = [t for t in eng.tree(sid).path(2) if t.role == "user"][-1]
    assert new.text == "That sounds so hard. What would help tonight?" and new.idx == 2


def test_a_reload_comes_back_to_the_open_conversation(db):
    at = send(start(app()), GOOD)
    sid = at.session_state["practice_session"]
    assert at.query_params["session"] in (sid, [sid])
    again = AppTest.from_file(MAIN, default_timeout=30)  # a new browser session, same URL
    again.query_params["session"] = sid
    again.run()
    assert not again.exception, again.exception
    assert again.session_state["practice_session"] == sid
    assert "You (reply 1)" in markdown(again)


@pytest.mark.parametrize("branch", ["²", "٣", "-1", "1e3", "9" * 5000])
def test_a_link_with_a_bad_branch_opens_the_original_and_says_so(db, branch):
    at = send(start(app()), GOOD)
    sid = at.session_state["practice_session"]
    again = AppTest.from_file(MAIN, default_timeout=30)
    again.query_params["session"] = sid
    again.query_params["branch"] = branch
    again.run()
    assert not again.exception, again.exception
    assert again.session_state["practice_session"] == sid
    assert again.session_state["practice_branch"] == 1
    assert "You (reply 1)" in markdown(again)
    assert any("not a branch number" in w.value for w in again.warning)


def test_finishing_shows_the_debrief(db):
    at = start(app())
    sc = load_library()[SCENARIO]
    for _ in range(sc.turns):
        send(at, GOOD + " What was the hardest part for you?")
    assert any("reached its end" in s.value for s in at.success)
    md = markdown(at)
    assert "What they needed" in md and "What to try next" in md
    assert at.chat_input[0].disabled
    assert [h.value for h in at.header] == ["Debrief"]


class FlakyPartner:
    name = "flaky"

    def __init__(self) -> None:
        self.down = True

    def respond(self, ctx):
        if self.down:
            raise ModelError("The partner model timed out after 30 s.", retryable=True)
        yield from ScriptedPartner().respond(ctx)


def test_model_failure_keeps_the_reply_and_retry_finishes_it(db):
    partner = FlakyPartner()
    at = app()
    at.session_state["coach_backend"] = Backend(HeuristicJudge(), partner, "flaky test", False)
    at.run()
    assert not any("Offline mode" in i.value for i in at.info)
    send(start(at), GOOD)
    assert any("timed out" in e.value for e in at.error)
    assert "Oh no, that sounds humiliating" in markdown(at).replace("\\", "")
    retry = next(b for b in at.button if b.label == "Retry")
    assert at.chat_input[0].disabled
    partner.down = False
    retry.click().run()
    assert not at.exception, at.exception
    assert not at.error
    assert not any(b.label == "Retry" for b in at.button)
    path = engine(db).tree(at.session_state["practice_session"]).path(1)
    assert [t.status for t in path] == ["ok", "ok", "ok"]
    assert not at.chat_input[0].disabled


def test_fallback_rating_says_so_and_shows_its_notes(db):
    from coach.judges.model import LLMJudge
    from tests.fake_chat import FakeChatModel

    judge = LLMJudge(FakeChatModel(default="<b>no JSON</b>"), "judge-x", "prompt",
                     fallback=HeuristicJudge(), max_reasks=0)
    at = app()
    at.session_state["coach_backend"] = Backend(judge, ScriptedPartner(), "fallback test", False)
    at.run()
    send(start(at), GOOD)
    captions = [c.value for c in at.caption]
    assert any("Fallback rating by the built-in rules" in c for c in captions)
    assert any("Rated by the built-in rules (rules-" in c.replace("\\", "")
               and "as a fallback" in c for c in captions)
    note = next(c for c in captions if "no usable answer" in c)
    assert "judge\\-x" in note and "\\<b\\>" in note  # the model's text, escaped
    assert not any("<b>" in c for c in captions)


def test_safety_resources_replace_the_rating(db):
    at = send(start(app()), "He hits me when he drinks and I'm scared.")
    assert any(i.value == RESOURCES for i in at.info)
    assert "-badge[" not in markdown(at)
    assert "A reply that would land better" not in markdown(at)


def test_too_long_reply_is_explained(db):
    at = start(app())
    at.session_state["practice_draft"] = ("x " * 3000, 1, 1)  # past the chat box's own limit
    at.run()
    at.button(key="draft_send").click().run()
    assert not at.exception, at.exception
    assert any("limit is" in w.value for w in at.warning)


# ------------------------------------------------------------------ replay


def seeded(db: Path, replies=(GOOD, "You should talk to HR tomorrow.", "At least you have a job.")):
    eng = engine(db)
    info, _ = eng.start(SCENARIO)
    for r in replies:
        eng.reply(info.id, r)
    return eng, info.id


def test_replay_branch_from_turn_two_and_compare(db):
    eng, sid = seeded(db)
    at = app()
    at.switch_page("replay.py").run()
    assert not at.exception, at.exception
    assert at.selectbox[0].value == sid
    at.selectbox(key=f"branch_from_turn-{sid}-1").set_value(2).run()
    assert "You should talk to HR tomorrow" in markdown(at).replace("\\", "")
    at.text_area(key="branch_text").set_value("It sounds like you felt betrayed. What hurt most?")
    at.button(key="branch_go").click().run()
    assert not at.exception, at.exception
    tree = eng.tree(sid)
    assert tree.branch_numbers() == [1, 2] and tree.fork_of(2) == (1, 2)
    assert any("Branch 2 is ready" in s.value for s in at.success)
    # the box is empty again, so a second click cannot make a twin branch
    assert at.text_area(key="branch_text").value == ""
    # the compare tab: overall metrics with a delta, aligned turns, per-skill table
    metrics = {m.label: m for m in at.metric}
    assert "Branch 2: average score" in metrics
    assert metrics["Branch 2: average score"].delta
    md = markdown(at)
    assert "Reply 1 · the same in both branches" in md
    assert "##### Reply 2" in md
    assert any("From A to B: score" in c.value for c in at.caption)


def test_replay_empty_reply_is_explained(db):
    seeded(db)
    at = app()
    at.switch_page("replay.py").run()
    at.button(key="branch_go").click().run()
    assert any("empty" in w.value for w in at.warning)


def test_replay_without_sessions(db):
    at = app()
    at.switch_page("replay.py").run()
    assert any("No conversations yet" in i.value for i in at.info)


# ------------------------------------------------------------------ review


def test_review_history_chart_feedback_and_export(db):
    eng, sid = seeded(db, (NASTY, "You should talk to HR."))
    at = app()
    at.switch_page("review.py").run()
    assert not at.exception, at.exception
    assert [s.value for s in at.subheader][:2] == ["Your progress", "Past conversations"]
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    assert at.selectbox(key="review_open-All scenarios-1").value == sid
    downloads = at.get("download_button")
    assert [d.proto.label for d in downloads] == ["Export Markdown", "Export JSON"]
    md = markdown(at)
    assert "<script>" not in md and "What they needed" in md
    # exports reuse coach.application.render, with user text escaped in Markdown
    from coach.application.render import export_json, export_markdown

    tree = eng.tree(sid)
    sc = load_library()[SCENARIO]
    assert "<script>" not in export_markdown(tree, sc)
    assert "<script>" in export_json(tree, sc)  # JSON keeps the exact text


def test_review_filters_and_pages_a_long_history(db):
    store = Store(db)
    eng = Engine(store, make_backend(None), load_library())
    for i in range(261):
        info, _ = eng.start(SCENARIO)
        if i:  # one session was opened and never answered: history leaves it out
            eng.reply(info.id, GOOD)
    at = app()
    at.switch_page("review.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert len(table) == 20
    assert any("260 conversations" in c.value for c in at.caption)
    at.number_input(key="review_page").set_value(13).run()
    assert len(at.dataframe[0].value) == 20
    at.selectbox(key="review_scenario").set_value(SCENARIO).run()
    assert not at.exception, at.exception


# ------------------------------------------------------------------ settings


def settings_page() -> AppTest:
    at = app()
    at.switch_page("settings.py").run()
    assert not at.exception, at.exception
    return at


def test_settings_validation(db):
    at = settings_page()
    at.radio(key="set_kind").set_value("remote").run()
    click = next(b for b in at.button if b.label == "Use these settings")
    click.click().run()
    assert any("base URL" in e.value for e in at.error)
    at.text_input(key="set_url").set_value("ftp://example").run()
    next(b for b in at.button if b.label == "Use these settings").click().run()
    assert any("http://" in plain(e.value) for e in at.error)
    at.text_input(key="set_url").set_value("http://127.0.0.1:9/v1").run()
    next(b for b in at.button if b.label == "Use these settings").click().run()
    assert any("partner" in e.value.lower() for e in at.error)
    assert (
        at.session_state["coach_backend"] is None if "coach_backend" in at.session_state else True
    )


def test_settings_offline_apply(db):
    at = settings_page()
    next(b for b in at.button if b.label == "Use these settings").click().run()
    assert any("Settings applied" in s.value for s in at.success)
    assert any("offline" in m.value for m in at.markdown if "Now using" in m.value)
    assert any("Offline mode" in i.value for i in at.info)


def test_settings_api_key_is_not_written_anywhere(db, tmp_path):
    secret = "sk-test-very-secret-123"
    at = settings_page()
    at.radio(key="set_kind").set_value("remote").run()
    at.text_input(key="coach_api_key").set_value(secret).run()
    at.text_input(key="set_url").set_value("http://127.0.0.1:9/v1").run()
    at.text_input(key="set_partner").set_value("m").run()
    next(b for b in at.button if b.label == "Use these settings").click().run()
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert secret.encode() not in f.read_bytes(), f


def test_settings_with_the_fake_openai_server(db):
    with FakeOpenAIServer(models=("fake-partner",)) as server:
        at = settings_page()
        at.radio(key="set_kind").set_value("local").run()
        at.text_input(key="set_url").set_value(server.base_url).run()
        at.text_input(key="set_partner").set_value("fake-partner").run()
        next(b for b in at.button if b.label == "Test connection").click().run()
        assert not at.error, [e.value for e in at.error]
        assert any("fake-partner" in plain(s.value) for s in at.success)
        next(b for b in at.button if b.label == "Use these settings").click().run()
        assert not at.session_state["coach_backend"].offline
        at.switch_page("practice.py").run()
        send(start(at), GOOD)
        assert "You (reply 1)" in markdown(at)
        # the reply went through the real client to the fake server, judge and partner both
        assert len(server.chat_requests) >= 2
        assert not any("Offline mode" in i.value for i in at.info)


def test_settings_start_from_the_environment(db, monkeypatch):
    with FakeOpenAIServer(models=("env-model",)) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("COACH_PARTNER_MODEL", "env-model")
        at = settings_page()
        assert at.radio(key="set_kind").value == "local"
        assert at.text_input(key="set_url").value == server.base_url
        assert not at.session_state["coach_backend"].offline


def test_broken_environment_settings_fall_back_to_offline_with_a_warning(db, monkeypatch):
    monkeypatch.setenv("COACH_JUDGE_MODEL", "only-judge")
    at = app()
    assert any("COACH_PARTNER_MODEL" in plain(w.value) for w in at.warning)
    assert any("Offline mode" in i.value for i in at.info)


def test_applying_settings_clears_the_environment_warning(db, monkeypatch):
    monkeypatch.setenv("COACH_JUDGE_MODEL", "only-judge")
    at = settings_page()
    assert any("COACH_PARTNER_MODEL" in plain(w.value) for w in at.warning)
    next(b for b in at.button if b.label == "Use these settings").click().run()
    assert not at.exception, at.exception
    assert "coach_env_error" not in at.session_state
    at.run()  # the next page view
    assert not any("COACH_PARTNER_MODEL" in plain(w.value) for w in at.warning)
    assert any("Offline mode" in i.value for i in at.info)


# ------------------------------------------------------------------ two tabs


def test_two_tabs_on_one_database_keep_both_sessions(db):
    a, b = start(app()), start(app())
    send(a, GOOD)
    send(b, "You should talk to HR tomorrow.")
    send(a, "What was the hardest part for you?")
    sa, sb = a.session_state["practice_session"], b.session_state["practice_session"]
    assert sa != sb
    eng = engine(db)
    assert eng.store.count_sessions() == 2
    assert len([t for t in eng.tree(sa).turns if t.role == "user"]) == 2
    assert len([t for t in eng.tree(sb).turns if t.role == "user"]) == 1


def test_concurrent_writers_lose_nothing(db):
    eng = engine(db)
    ids = [eng.start(SCENARIO)[0].id for _ in range(4)]
    errors = []

    def talk(sid: str) -> None:
        try:
            e = engine(db)  # like a second tab: its own connection
            for r in (GOOD, "What was the hardest part?", "That makes sense."):
                e.reply(sid, r)
        except Exception as ex:  # pragma: no cover - reported below
            errors.append(ex)

    threads = [threading.Thread(target=talk, args=(s,)) for s in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for sid in ids:
        assert len(eng.tree(sid).path(1)) == 7


# ------------------------------------------------------------------ settings: the env key


ENV_KEY = "sk-env-secret"


@pytest.mark.parametrize(
    ("env_url", "typed_url", "gets_env_key"),
    [
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/", True),  # its own server
        ("http://127.0.0.1:8080/v1", "https://evil.example/v1", False),
        (None, "https://api.openai.com/v1", True),  # the key's default server
        (None, "https://evil.example/v1", False),
        (None, "https://api.openai.com.evil.example/v1", False),
    ],
)
def test_settings_send_the_env_key_only_to_its_server(env_url, typed_url, gets_env_key):
    from coach.adapters.config import PLACEHOLDER_KEY
    from coach.app.settings import build_config

    env = {"OPENAI_API_KEY": ENV_KEY, **({"OPENAI_BASE_URL": env_url} if env_url else {})}
    config = build_config("remote", base_url=typed_url, partner_model="m", env=env)
    assert config.api_key == (ENV_KEY if gets_env_key else PLACEHOLDER_KEY)


def test_settings_openai_without_a_key_for_it_is_a_clear_error():
    from coach.app.settings import build_config
    from coach.core.errors import ConfigError

    # The environment's key belongs to the local server, so OpenAI does not get it.
    env = {"OPENAI_API_KEY": ENV_KEY, "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"}
    with pytest.raises(ConfigError, match="no API key"):
        build_config("remote", base_url="https://api.openai.com/v1", partner_model="m", env=env)


def test_settings_typed_key_wins_for_any_server():
    from coach.app.settings import build_config

    config = build_config("remote", base_url="https://other.example/v1", api_key="typed",
                          partner_model="m", env={"OPENAI_API_KEY": ENV_KEY})
    assert config.api_key == "typed"


# ------------------------------------------------------------------ settings: bad input


@pytest.mark.parametrize("url", ["http://127.0.0.1:abc/v1", "http://[::1"])
@pytest.mark.parametrize("button", ["Test connection", "Use these settings"])
def test_settings_malformed_url_is_a_clear_error(db, url, button):
    at = settings_page()
    at.radio(key="set_kind").set_value("remote").run()
    at.text_input(key="set_url").set_value(url).run()
    at.text_input(key="set_partner").set_value("m").run()
    next(b for b in at.button if b.label == button).click().run()
    assert not at.exception, at.exception
    assert any("not usable" in e.value and "Base URL" in e.value for e in at.error)
    assert at.session_state["coach_backend"] is None if "coach_backend" in at.session_state \
        else True


def _shown_as_text(value: str) -> None:
    from coach.bench.simulated_server import MARKDOWN_MESSAGE

    assert "![" not in value and "](http" not in value and "<b>" not in value
    assert MARKDOWN_MESSAGE in value.replace("\\", "")  # all of it, escaped


def test_settings_show_a_server_message_as_text(db):
    from coach.bench.simulated_server import MARKDOWN_MESSAGE, Fault

    with FakeOpenAIServer(models=("m",)) as server:
        server.models_fault = Fault(500, MARKDOWN_MESSAGE)
        at = settings_page()
        at.radio(key="set_kind").set_value("local").run()
        at.text_input(key="set_url").set_value(server.base_url).run()
        at.text_input(key="set_partner").set_value("m").run()
        next(b for b in at.button if b.label == "Test connection").click().run()
    assert not at.exception, at.exception
    (err,) = at.error
    _shown_as_text(err.value)


def test_replay_shows_a_server_message_as_text(db):
    from coach.adapters.llm import OpenAIChatModel, RetryPolicy
    from coach.bench.simulated_server import MARKDOWN_MESSAGE, Fault
    from coach.judges.model import LLMJudge
    from coach.partners.model import LLMPartner

    _, sid = seeded(db)
    with FakeOpenAIServer(models=("m",), handler=lambda r: Fault(400, MARKDOWN_MESSAGE)) as srv:
        model = OpenAIChatModel(base_url=srv.base_url, api_key="k", timeout=5,
                                policy=RetryPolicy(max_attempts=1, time_budget=5))
        backend = Backend(LLMJudge(model, "m", fallback=HeuristicJudge()),
                          LLMPartner(model, "m"), "markdown test", False)
        at = app()
        at.session_state["coach_backend"] = backend
        at.switch_page("replay.py").run()
        at.text_area(key="branch_text").set_value("What was the worst part for you?")
        at.button(key="branch_go").click().run()
    assert not at.exception, at.exception
    (err,) = at.error
    _shown_as_text(err.value)



class _FixedScores(HeuristicJudge):
    """The built-in judge, with chosen overall scores for chosen replies."""

    name = "fixed-scores"

    def __init__(self, scores: dict[str, float]):
        self.scores = scores

    def rate(self, ctx):
        r = super().rate(ctx)
        return r.model_copy(update={"overall": self.scores.get(ctx.reply, r.overall)})


def test_compare_delta_is_the_same_number_in_the_cli_and_the_app(db, capsys):
    """33.6 -> 54.4 is shown as 34 -> 54, so both UIs say +20 (the CLI once said +21)."""
    from coach.cli import main

    judge = _FixedScores({"You should talk to HR tomorrow.": 33.6, "Tell me more.": 54.4})
    base = make_backend(None)
    eng = Engine(Store(db), Backend(judge, base.partner, base.label, True), load_library())
    info, _ = eng.start(SCENARIO)
    eng.reply(info.id, GOOD)
    eng.reply(info.id, "You should talk to HR tomorrow.")
    eng.replay(info.id, "Tell me more.", from_turn=2, branch=1)
    assert main(["--db", str(db), "review", info.id, "--compare", "1", "2"]) == 0
    cli_out = capsys.readouterr().out
    assert "score A 34  B 54  delta +20" in cli_out, cli_out
    at = app()
    at.switch_page("replay.py").run()
    assert not at.exception, at.exception
    captions = [c.value for c in at.caption]
    assert any("From A to B: score +20" in c for c in captions), captions
