"""A misbehaving model server, through the real client: trickles, huge answers, echoed keys,
credentials in the base URL. Nothing hangs past the budget, nothing secret is kept."""

from __future__ import annotations

import socket

import pytest

from coach.adapters.llm import OpenAIChatModel, RetryPolicy
from coach.application.backends import Backend
from coach.application.engine import Engine
from coach.bench.simulated_server import (
    MARKDOWN_MESSAGE,
    FakeOpenAIServer,
    Fault,
    Huge,
    Reply,
    Trickle,
)
from coach.core.errors import ModelError
from coach.judges.builtin import HeuristicJudge
from coach.judges.model import LLMJudge
from coach.partners.model import CUT_NOTE, MAX_LINE_CHARS, LLMPartner
from tests.llm_fixtures import FAST, KEY, MODEL, chat, fake_server, scenario  # noqa: F401

HI = [{"role": "user", "content": "hi"}]
VENT = "vent-humiliated-at-work"
REPLY = "Oh love, that sounds humiliating. What was it like sitting there?"
# Short enough for a quick test; the trickle sends something far more often than this, so
# every read succeeds and only the budget can end the call.
BUDGET = 1.5


def budgeted(srv: FakeOpenAIServer, budget: float = BUDGET) -> OpenAIChatModel:
    return OpenAIChatModel(base_url=srv.base_url, api_key=KEY, timeout=budget,
                           policy=RetryPolicy(max_attempts=3, time_budget=budget,
                                              backoff_initial=0.01, jitter=0))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ the time budget


@pytest.mark.parametrize("streaming", [True, False])
def test_a_trickling_server_cannot_outlast_the_budget(fake_server, streaming) -> None:  # noqa: F811
    # One SSE chunk (or one body byte) every 0.2 s, for an hour: no read ever times out.
    fake_server.enqueue(*[Trickle(interval=0.2)] * 3)
    model = budgeted(fake_server)
    got: list[str] = []
    with pytest.raises(ModelError, match="did not answer in time") as e:
        if streaming:
            for chunk in model.stream(HI, model=MODEL):
                got.append(chunk)
        else:
            model.complete(HI, model=MODEL)
    assert e.value.retryable and "COACH_TIME_BUDGET" in str(e.value)
    assert "time budget of 1.5 s" in str(e.value)
    assert len(fake_server.chat_requests) == 1  # no retry starts once the budget is spent
    if streaming:
        assert got and got[0] == "I "  # what arrived was passed on as it came


def test_a_trickling_turn_ends_with_the_reply_kept(store, library) -> None:
    with FakeOpenAIServer(handler=lambda req: Trickle(interval=0.2)) as srv:
        model = budgeted(srv)
        backend = Backend(LLMJudge(model, MODEL, fallback=HeuristicJudge()),
                          LLMPartner(model, MODEL), "trickle", False)
        eng = Engine(store, backend, library)
        info, _ = eng.start(VENT)
        with pytest.raises(ModelError, match="did not answer in time") as e:
            eng.reply(info.id, REPLY)
        assert "Your reply is saved" in str(e.value)
    path = eng.tree(info.id).path(1)
    assert [t.role for t in path] == ["partner", "user"]
    assert path[-1].text == REPLY and path[-1].status == "failed"
    assert "did not answer in time" in path[-1].error


# ------------------------------------------------------------------ huge answers


def test_a_huge_partner_line_is_cut_and_says_so(fake_server, chat, library) -> None:  # noqa: F811
    from coach.core.reading import Reading
    from coach.core.session import Line
    from coach.partners.base import PartnerContext

    sc = library[VENT]
    fake_server.enqueue(Huge(chars=10_000_000))
    ctx = PartnerContext(sc, (Line("partner", sc.opening), Line("user", REPLY)),
                         Reading.HEARD, 1, 1, None)
    line = "".join(LLMPartner(chat, MODEL).respond(ctx))
    assert line.endswith(CUT_NOTE)
    assert MAX_LINE_CHARS - 10 <= len(line) - len(CUT_NOTE) <= MAX_LINE_CHARS


def test_a_huge_partner_line_is_stored_cut(store, library) -> None:
    with FakeOpenAIServer() as srv:
        srv.handler = lambda req: (Huge() if req.body.get("stream") else
                                   Reply("not json"))
        model = budgeted(srv, budget=30)
        backend = Backend(LLMJudge(model, MODEL, fallback=HeuristicJudge(), max_reasks=0),
                          LLMPartner(model, MODEL), "huge", False)
        eng = Engine(store, backend, library)
        info, _ = eng.start(VENT)
        res = eng.reply(info.id, REPLY)
    assert res.partner is not None and res.partner.text.endswith(CUT_NOTE)
    assert len(res.partner.text) < MAX_LINE_CHARS + len(CUT_NOTE) + 1


def test_a_short_line_is_not_marked_cut(fake_server, chat, library) -> None:  # noqa: F811
    from coach.core.reading import Reading
    from coach.core.session import Line
    from coach.partners.base import PartnerContext

    sc = library[VENT]
    fake_server.enqueue(Reply("Yeah. It was awful."))
    ctx = PartnerContext(sc, (Line("partner", sc.opening),), Reading.HEARD, 1, 1, None)
    assert "".join(LLMPartner(chat, MODEL).respond(ctx)) == "Yeah. It was awful."


# ------------------------------------------------------------------ secrets in errors


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 500])
def test_an_echoed_key_is_redacted(fake_server, status) -> None:  # noqa: F811
    model = OpenAIChatModel(base_url=fake_server.base_url, api_key=KEY, timeout=2,
                            policy=RetryPolicy(max_attempts=1, time_budget=2))
    fake_server.enqueue(Fault(status, "Denied.", echo_key=True))
    with pytest.raises(ModelError) as e:
        model.complete(HI, model=MODEL)
    assert KEY not in str(e.value)
    assert "SECRET" not in str(e.value)


def test_an_echoed_key_of_any_shape_is_redacted(fake_server) -> None:  # noqa: F811
    odd = "plainOddKey-987654"  # not sk-shaped: only knowing the configured key catches it
    model = OpenAIChatModel(base_url=fake_server.base_url, api_key=odd, timeout=2,
                            policy=RetryPolicy(max_attempts=1, time_budget=2))
    fake_server.enqueue(Fault(400, echo_key=True))
    with pytest.raises(ModelError) as e:
        model.complete(HI, model=MODEL)
    assert odd not in str(e.value) and "***" in str(e.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://alice:sk-url-SECRET-77@127.0.0.1:{port}/v1",
        "http://127.0.0.1:{port}/v1?api-key=QUERY-SECRET-77",
        "http://alice:pw-SECRET-77@127.0.0.1:{port}/v1?key=QUERY-SECRET-77&x=1",
    ],
)
def test_url_credentials_never_reach_a_message(url) -> None:
    url = url.format(port=closed_port())
    model = OpenAIChatModel(base_url=url, api_key=KEY, timeout=1, policy=FAST)
    with pytest.raises(ModelError) as e:
        model.complete(HI, model=MODEL)
    msg = str(e.value)
    assert "Cannot reach the model server at http://127.0.0.1:" in msg
    for leak in ("SECRET", "alice", "QUERY", "@"):
        assert leak not in msg
    assert "SECRET" not in repr(model)


def test_a_markdown_error_message_arrives_as_text(fake_server, chat) -> None:  # noqa: F811
    fake_server.enqueue(Fault(400, MARKDOWN_MESSAGE))
    with pytest.raises(ModelError) as e:
        chat.complete(HI, model=MODEL)
    assert "![tracker](http://127.0.0.1:9/pixel.png)" in str(e.value)  # the app escapes it


def test_a_query_in_the_base_url_goes_on_every_request(fake_server) -> None:  # noqa: F811
    # Left in the base URL, the SDK would send POST /v1/?api-version=1chat/completions.
    model = OpenAIChatModel(base_url=fake_server.base_url + "?api-version=2024-06-01",
                            api_key=KEY, timeout=2, policy=FAST)
    fake_server.enqueue(Reply("ok"))
    assert model.complete(HI, model=MODEL).text == "ok"
    (req,) = fake_server.chat_requests
    assert req.path == "/v1/chat/completions?api-version=2024-06-01"


ESC = "\x1b[2J\x1b[31m"  # clear the screen, turn red: what a server must not do to a terminal


def test_control_characters_from_the_server_never_reach_a_terminal(
    fake_server, chat, scenario  # noqa: F811
) -> None:
    import json

    from tests.llm_fixtures import context, judge_output

    fake_server.enqueue(Fault(400, f"{ESC}bad\r request\x00"))
    with pytest.raises(ModelError) as e:
        chat.complete(HI, model=MODEL)
    assert "bad request" in str(e.value).replace("\r", "")
    assert not any(ch in str(e.value) for ch in "\x1b\r\x00")
    fake_server.enqueue(Reply(f"{ESC}It was\tawful.\nReally."))
    assert "".join(chat.stream(HI, model=MODEL)) == "[2J[31mIt was\tawful.\nReally."
    answer = judge_output(REPLY, quote="that sounds humiliating")
    answer["tip"], answer["better_reply"] = f"{ESC}Name it.", f"That hurts.{ESC}"
    fake_server.enqueue(Reply(json.dumps(answer)))  # JSON carries them as \u001b
    rating = LLMJudge(chat, MODEL).rate(context(scenario, REPLY))
    assert "\x1b" not in rating.tip + rating.better_reply and rating.tip.endswith("Name it.")
