"""The model partner: prompt content, clean streamed lines, and failures."""

from __future__ import annotations

import pytest

from coach.bench.simulated_server import Reply, TruncatedStream
from coach.core.errors import ModelError
from coach.core.reading import Reading
from coach.core.session import Line
from coach.partners.base import PartnerContext
from coach.partners.model import LLMPartner
from tests.fake_chat import FakeChatModel
from tests.llm_fixtures import MODEL, chat, fake_server, scenario  # noqa: F401


def ctx_for(sc, reading=Reading.HEARD, ending=None, openness=2):
    history = (Line("partner", sc.opening), Line("user", "That sounds humiliating."))
    return PartnerContext(sc, history, reading, openness, 1, ending)


def test_prompt_carries_persona_state_and_rules(scenario) -> None:  # noqa: F811
    msgs = LLMPartner(FakeChatModel(), "m").messages(ctx_for(scenario, Reading.FIXING,
                                                              openness=-2))
    system = msgs[0]["content"]
    for part in (scenario.partner.name, scenario.partner.speaking_style, scenario.situation,
                 scenario.hidden_need.strip(), scenario.shuts_down[0], scenario.opens_up[0],
                 scenario.opening, scenario.beats[0].fixing):
        assert part in system
    assert "openness is -2" in system and "fixing or advice" in system
    assert "Never mention being an AI" in system and "Never give advice" in system
    assert "1 to 3 short" in system
    # The opening moved into the system prompt, so the chat starts with the user's turn.
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert msgs[1]["content"] == "That sounds humiliating."


@pytest.mark.parametrize("ending", ["felt_heard", "not_heard"])
def test_ending_prompt(scenario, ending) -> None:  # noqa: F811
    system = LLMPartner(FakeChatModel(), "m").messages(ctx_for(scenario, ending=ending))[0][
        "content"]
    assert "end of the conversation" in system
    assert getattr(scenario.endings, ending) in system
    assert ("and you feel heard" in system) == (ending == "felt_heard")


def test_streams_over_http_and_cleans_the_line(fake_server, chat, scenario) -> None:  # noqa: F811
    fake_server.enqueue(Reply('Maya: "Yeah. Humiliated is exactly it. I rewrote that email '
                              'three times."'))
    chunks = list(LLMPartner(chat, MODEL).respond(ctx_for(scenario)))
    assert len(chunks) > 1  # streamed, not buffered into one piece
    assert "".join(chunks) == ("Yeah. Humiliated is exactly it. I rewrote that email three "
                               "times.")
    body = fake_server.chat_requests[0].body
    assert body["stream"] is True and body["model"] == MODEL


def test_stops_where_the_model_writes_the_other_part(scenario) -> None:  # noqa: F811
    fake = FakeChatModel().enqueue("It was awful. I just sat there smiling like an idiot.\n"
                                   "You: I'm so sorry.\nMaya: Thanks.")
    line = "".join(LLMPartner(fake, "m").respond(ctx_for(scenario)))
    assert line == "It was awful. I just sat there smiling like an idiot."


@pytest.mark.parametrize("text", ["", "   ", 'Maya: ""'])
def test_empty_line_is_a_retryable_error(scenario, text) -> None:  # noqa: F811
    with pytest.raises(ModelError, match="empty line") as e:
        list(LLMPartner(FakeChatModel().enqueue(text), "m").respond(ctx_for(scenario)))
    assert e.value.retryable


def test_cut_off_stream_raises(fake_server, chat, scenario) -> None:  # noqa: F811
    fake_server.enqueue(TruncatedStream("I keep replaying it on the train, over and over "
                                        "and over again until I cannot stand it", chunks=12))
    with pytest.raises(ModelError, match="cut off") as e:
        list(LLMPartner(chat, MODEL).respond(ctx_for(scenario)))
    assert e.value.retryable
