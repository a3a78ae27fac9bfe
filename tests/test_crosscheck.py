"""The judge that checks itself (coach/judges/crosscheck.py), through the engine and the UIs."""

from __future__ import annotations

from coach.adapters.scenario_files import load_library
from coach.adapters.store import Store
from coach.application.backends import Backend, make_backend
from coach.application.engine import Engine
from coach.application.render import export_markdown, rating_lines
from coach.core.rubric import CRITERION_KEYS, CriterionScore, Provenance, Rating
from coach.core.session import Line
from coach.judges.base import JudgeContext
from coach.judges.builtin import HeuristicJudge
from coach.judges.crosscheck import MARGIN, disagreement

SCENARIO = "vent-humiliated-at-work"
CONTEMPT = "Very mature. Do you want me to just listen to you whine about your tiny tragedy?"
KIND = "Oh love, that sounds humiliating. What was the worst part?"


def builtin(reply: str) -> Rating:
    sc = load_library()[SCENARIO]
    return HeuristicJudge().rate(JudgeContext(reply, (Line("partner", sc.opening),), sc, 1))


class WarmModel:
    """A weak model judge: warmth 2 (and 2 everywhere) for whatever it reads."""

    name = "warm-model"

    def rate(self, ctx: JudgeContext) -> Rating:
        scores = {k: CriterionScore(level=2, evidence=[ctx.reply[:10]]) for k in CRITERION_KEYS}
        return Rating(scores=scores, overall=100.0, source=Provenance(backend="llm", model="m"))


def test_a_strong_level_for_a_reply_the_rules_see_as_contempt_is_named():
    rules = builtin(CONTEMPT)
    assert "contempt" in rules.flags
    said = disagreement(WarmModel().rate(JudgeContext(CONTEMPT)), rules)
    assert said.startswith("The built-in rules see contempt in '")
    assert "the model rated warmth" in said and " 2." in said


def test_agreeing_judges_say_nothing():
    rules = builtin(KIND)
    near = rules.model_copy(update={"overall": (rules.overall or 0) + MARGIN - 1})
    assert disagreement(near, rules) == ""


def test_a_wide_gap_in_the_overall_is_named_either_way():
    rules = builtin(KIND)
    low = rules.model_copy(update={"overall": 0.0, "flags": []})
    said = disagreement(low, rules)
    assert said.startswith("The built-in rules rated this") and "the model's rating stands" in said


def test_unscored_ratings_are_not_compared():
    assert disagreement(Rating(status="unscored", reason="x"), builtin(CONTEMPT)) == ""


def test_the_engine_stores_it_and_every_view_shows_it(tmp_path):
    base = make_backend(None)
    eng = Engine(Store(tmp_path / "c.db"), Backend(WarmModel(), base.partner, "test", False),
                 load_library())
    info, _ = eng.start(SCENARIO)
    res = eng.reply(info.id, CONTEMPT)
    assert res.rating.overall == 100.0  # the model's verdict stands
    stored = eng.store.turn(res.user.id).rating
    assert stored.disagreement.startswith("The built-in rules see contempt")
    assert any(line.strip().startswith("Judges disagree: The built-in rules see contempt")
               for line in rating_lines(stored))
    tree = eng.tree(info.id)
    assert "Judges disagree: The built-in rules see contempt" in export_markdown(
        tree, eng.scenario_of(tree)
    )


def test_the_built_in_judge_is_never_checked_against_itself(tmp_path):
    eng = Engine(Store(tmp_path / "c.db"), make_backend(None), load_library())
    info, _ = eng.start(SCENARIO)
    assert eng.reply(info.id, CONTEMPT).rating.disagreement == ""


def test_the_apps_rating_card_shows_it():
    from streamlit.testing.v1 import AppTest

    def page():
        from coach.app.widgets import rating_card
        from coach.core.rubric import CRITERION_KEYS, CriterionScore, Rating

        rating_card(Rating(
            scores={k: CriterionScore(level=2) for k in CRITERION_KEYS}, overall=100.0,
            disagreement="The built-in rules see contempt in 'Very mature.'; the model rated "
                         "warmth 2.",
        ))

    at = AppTest.from_function(page).run()
    assert not at.exception, at.exception
    shown = [w.value.replace("\\", "") for w in at.warning]  # Markdown escapes removed
    assert any("Judges disagree: The built-in rules see contempt" in s for s in shown), shown
