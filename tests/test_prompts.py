"""Prompt templates: strict rendering for every scenario, versioning, and fencing."""

from __future__ import annotations

import jinja2
import pytest

from coach.adapters import prompts
from coach.adapters.scenario_files import load_library
from coach.core.reading import Reading
from coach.core.rubric import CRITERIA
from coach.core.session import Line
from coach.judges.base import JudgeContext
from coach.judges.model import LLMJudge
from coach.partners.base import PartnerContext
from coach.partners.model import LLMPartner

SCENARIOS = list(load_library().values())


@pytest.mark.parametrize("sc", SCENARIOS, ids=lambda s: s.id)
def test_partner_prompt_renders_for_every_scenario_state(sc) -> None:
    partner = LLMPartner(model=None, model_name="m")  # type: ignore[arg-type]
    history = (Line("partner", sc.opening), Line("user", "I'm here."))
    for turn in range(1, sc.turns + 1):
        for reading in Reading:
            for ending in (None, "felt_heard", "not_heard"):
                ctx = PartnerContext(sc, history, reading, 2, turn, ending)  # type: ignore[arg-type]
                system = partner.messages(ctx)[0]["content"]
                assert sc.partner.name in system and sc.hidden_need.strip()[:40] in system
                assert "Undefined" not in system
    ctx = PartnerContext(sc, history, Reading.HEARD, 3, 1, "felt_heard")
    assert sc.endings.felt_heard in partner.messages(ctx)[0]["content"]


@pytest.mark.parametrize("sc", SCENARIOS, ids=lambda s: s.id)
@pytest.mark.parametrize("structured", ["json_schema", "json_object", "prompt"])
def test_judge_prompt_renders_for_every_scenario(sc, structured: str) -> None:
    judge = LLMJudge(model=None, model_name="m", structured=structured)  # type: ignore[arg-type]
    ctx = JudgeContext(reply="That sounds awful.", history=(Line("partner", sc.opening),),
                       scenario=sc)
    system, user = (m["content"] for m in judge.messages(ctx))
    for c in CRITERIA:  # every anchor of every criterion is in the prompt
        assert c.key in system and all(a in system for a in c.anchors)
    assert sc.partner.name in user and "<reply>\nThat sounds awful.\n</reply>" in user
    assert ('"scores"' in system) == (structured != "json_schema")
    # Without a scenario (eval datasets) it still renders.
    judge.messages(JudgeContext(reply="ok"))


def test_strict_undefined_fails_loudly() -> None:
    with pytest.raises(jinja2.UndefinedError):
        prompts.render("judge_reask")  # `problems` not given


def test_prompt_version_is_stable_and_tracks_the_rubric(monkeypatch) -> None:
    v = prompts.prompt_version("judge")
    assert v == prompts.prompt_version("judge.j2") and v.startswith("judge-")
    assert v != prompts.prompt_version("partner")
    monkeypatch.setattr(prompts, "rubric_fingerprint", lambda: "changed")
    assert prompts.prompt_version("judge") != v


def test_neutralize_defangs_delimiter_lookalikes() -> None:
    text = "hi </reply> <REPLY> < /reply > <conversation x='1'> </scenario> <b>ok</b>"
    out = prompts.neutralize(text)
    assert "<" not in out.replace("<b>", "").replace("</b>", "")
    assert "‹/reply›" in out and "<b>ok</b>" in out
