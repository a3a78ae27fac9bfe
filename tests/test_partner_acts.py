"""The offline partner answers what a reply did (issue 12), in every shipped scenario.

Five replies that do different things at the same turn (an open question, a reflection,
advice, a put-down, a bare "ok") must get five different lines, each the beat's line for
what that reply did; the same replies must give the same conversation; a scenario without
act lines must still load (old files, stored session copies) and be told what to add.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.adapters.scenario_files import default_scenario_dir, load_library
from coach.adapters.stored import scenario_from_json
from coach.application.backends import Backend
from coach.application.engine import Engine
from coach.cli import main
from coach.core.errors import ScenarioError
from coach.core.reading import Reading
from coach.core.response import ACT_FIELDS, Response, band_of, response_to
from coach.core.rubric import ACT_KINDS, CRITERION_KEYS, Act, CriterionScore, Provenance, Rating
from coach.core.scenario import Beat, Variants, act_line_gaps, parse_scenario
from coach.core.session import compare
from coach.partners.scripted import ScriptedPartner

LIBRARY = load_library()
IDS = list(LIBRARY)

# Replies that do one clear thing each; none names anything from a particular scenario.
FIVE = {
    Response.ANSWER: "What was the hardest part of it for you?",
    Response.MORE: "It sounds like that really hurt you.",
    Response.ADVICE: "You should just talk to them about it tomorrow.",
    Response.PUT_DOWN: "You're being ridiculous.",
    Response.BARE: "ok",
}
# The beat field whose line (or one of whose variants) each response must be.
FIELD = {
    Response.ANSWER: "answer",
    Response.MORE: "more",
    Response.ADVICE: "fixing",
    Response.PUT_DOWN: "put_down",
    Response.BARE: "bare",
    Response.APOLOGY: "apology",
    Response.ABOUT_YOU: "self_focused",
    Response.DEFENSIVE: "self_focused",
    Response.DISMISSED: "dismissing",
}


def _variants(value) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        return {value}
    return {v for v in (value.guarded, value.opening, value.open) if v}


def _expected(beat, response: Response, openness: int) -> str:
    value = getattr(beat, FIELD[response])
    return value if isinstance(value, str) else value.pick(band_of(openness))


@pytest.mark.parametrize("sid", IDS)
def test_five_replies_at_every_turn_get_five_fitting_lines(engine, sid) -> None:
    """Every beat of every shipped scenario (the issue asks for 10 of 12)."""
    sc = LIBRARY[sid]
    for turn in range(1, sc.turns):
        info, _ = engine.start(sid)
        for _ in range(1, turn):  # reach this turn with open questions
            engine.reply(info.id, FIVE[Response.ANSWER])
        said = {}
        for response, text in FIVE.items():
            if response == Response.ANSWER:
                res = engine.reply(info.id, text)
            else:
                res = engine.replay(info.id, text, from_turn=turn)
            beat = sc.beats[turn - 1]
            assert res.partner.meta["response"] == response, (sid, turn, text)
            assert res.partner.text == _expected(beat, response, res.partner.openness)
            said[response] = res.partner.text
        assert len(set(said.values())) == 5, (sid, turn, said)


@pytest.mark.parametrize("sid", IDS)
@pytest.mark.parametrize(
    ("text", "response"),
    [
        ("I'm so sorry I wasn't there. That's on me.", Response.APOLOGY),
        ("That reminds me of when my boss did that to me, I was furious.", Response.ABOUT_YOU),
        ("I'm not the one who made this a big deal.", Response.DEFENSIVE),
        ("At least it's over now.", Response.DISMISSED),
    ],
)
def test_other_moves_get_their_own_answer(engine, sid, text, response) -> None:
    sc = LIBRARY[sid]
    info, _ = engine.start(sid)
    res = engine.reply(info.id, text)
    assert res.partner.meta["response"] == response
    assert res.partner.text in _variants(getattr(sc.beats[0], FIELD[response]))


def test_a_replay_of_advice_against_a_reflection_shows_two_reactions(engine) -> None:
    sid = "vent-humiliated-at-work"
    info, _ = engine.start(sid)
    engine.reply(info.id, FIVE[Response.MORE])
    engine.replay(info.id, FIVE[Response.ADVICE], from_turn=1)
    row = compare(engine.tree(info.id), 1, 2).rows[0]
    assert row.partner_a == LIBRARY[sid].beats[0].more
    assert row.partner_b == LIBRARY[sid].beats[0].fixing
    assert row.partner_a != row.partner_b


def test_same_replies_same_conversation(engine) -> None:
    replies = [FIVE[Response.BARE], FIVE[Response.ANSWER], FIVE[Response.ADVICE],
               FIVE[Response.MORE], FIVE[Response.PUT_DOWN]]
    runs = []
    for _ in range(2):
        info, _ = engine.start("like-roommates")
        runs.append([(r.partner.text, r.partner.openness, r.partner.meta["response"])
                     for r in (engine.reply(info.id, text) for text in replies)])
    assert runs[0] == runs[1]
    assert len({t for t, _, _ in runs[0]}) == len(replies)
    # A replay with the same reply as the original branch says the same line.
    again = engine.replay(info.id, replies[2], from_turn=3)
    assert again.partner.text == runs[0][2][0]


def test_a_bare_ok_gets_a_retreat_when_guarded_and_a_prod_when_open(engine) -> None:
    sc = LIBRARY["actions-dont-match-words"]  # starts at -3: guarded
    info, _ = engine.start(sc.id)
    guarded = engine.reply(info.id, "ok")
    assert guarded.partner.openness <= -1
    assert guarded.partner.text == sc.beats[0].bare.guarded
    info, _ = engine.start("vent-humiliated-at-work")  # starts at 0
    engine.reply(info.id, FIVE[Response.ANSWER])
    opened = engine.reply(info.id, "ok")
    assert opened.partner.openness >= 0
    assert opened.partner.text == LIBRARY["vent-humiliated-at-work"].beats[1].bare.open


# ------------------------------------------------------------------ which rating it reads


def _scored(levels: dict[str, int], acts: list[Act]) -> Rating:
    return Rating(
        scores={k: CriterionScore(level=levels.get(k, 2)) for k in CRITERION_KEYS},
        acts=acts,
        overall=50.0,
        source=Provenance(backend="model"),
    )


class _ModelJudge:
    name = "model"

    def __init__(self, rating: Rating) -> None:
        self.rating = rating

    def rate(self, ctx) -> Rating:
        return self.rating


def test_the_partner_answers_the_shown_ratings_acts(store, library) -> None:
    """A model judge's acts drive the scripted partner, not the built-in rules' reading."""
    text = "What was the hardest part of it for you?"  # the rules read an open question
    advice = _scored({"no_fixing": 0}, [Act(kind="advice", quote=text)])
    eng = Engine(store, Backend(_ModelJudge(advice), ScriptedPartner(), "t", False), library)
    info, _ = eng.start("vent-humiliated-at-work")
    res = eng.reply(info.id, text)
    assert res.partner.meta["response"] == "advice"
    assert res.partner.text == library["vent-humiliated-at-work"].beats[0].fixing
    assert res.user.reading == Reading.FIXING


@pytest.mark.parametrize(
    "rating",
    [
        _scored({}, []),  # a model judge that returns no acts
        Rating(status="unscored", reason="the model's answer could not be read"),
    ],
    ids=["no-acts", "unscored"],
)
def test_without_acts_the_built_in_tags_answer(store, library, rating) -> None:
    eng = Engine(store, Backend(_ModelJudge(rating), ScriptedPartner(), "t", False), library)
    info, _ = eng.start("vent-humiliated-at-work")
    res = eng.reply(info.id, "What was the hardest part of it for you?")
    assert res.partner.meta["response"] == "answer"
    assert res.partner.text == library["vent-humiliated-at-work"].beats[0].answer


# ------------------------------------------------------------------ the priority


def _acts(*kinds: str) -> Rating:
    return _scored({}, [Act(kind=k, quote="x") for k in kinds])


# ------------------------------------------------------------------ files old and new


def _strip_act_lines(text: str, keep: tuple[str, ...] = ()) -> str:
    drop = tuple(f"{f} = " for f in ACT_FIELDS if f not in keep)
    return "\n".join(ln for ln in text.split("\n") if not ln.startswith(drop))


VENT_TOML = (default_scenario_dir() / "vent-humiliated-at-work.toml").read_text()


def test_check_tells_a_scenario_without_act_lines_what_to_add(tmp_path, capsys) -> None:
    old = tmp_path / "old.toml"
    old.write_text(_strip_act_lines(VENT_TOML))
    partial = tmp_path / "partial.toml"
    partial.write_text(_strip_act_lines(VENT_TOML, keep=("answer", "more", "apology", "put_down")))
    good = tmp_path / "good.toml"
    good.write_text(VENT_TOML)
    assert main(["scenarios", "--check", str(old), str(partial), str(good)]) == 2
    out = capsys.readouterr().out
    assert f"{old}: loads, but the partner cannot answer what a reply did yet:" in out
    for i in range(4):
        assert f"  - beats[{i}]: add answer, more, apology, put_down, bare\n" in out
        assert f"  - beats[{i}]: add bare\n" in out
    assert "bare = a prod or a retreat" in out
    assert "'What the reply did' in scenarios/AUTHORING.md" in out
    assert f"{good}: ok" in out


def test_an_old_file_still_loads_and_its_partner_answers_by_reading(tmp_path, engine) -> None:
    sc = parse_scenario(_strip_act_lines(VENT_TOML), source="old.toml", default_id="old-vent")
    assert len(act_line_gaps(sc)) == len(sc.beats) + 1
    beat = sc.beats[0]
    assert beat.says(Response.ANSWER, Reading.HEARD) == beat.heard
    assert beat.says(Response.BARE, Reading.NEUTRAL) == beat.neutral
    assert beat.says(Response.PUT_DOWN, Reading.DISMISSING) == beat.dismissing


def test_an_old_stored_copy_still_loads_and_replays(engine) -> None:
    """A session stored before act lines keeps its copy; it loads and plays on."""
    sc = LIBRARY["vent-humiliated-at-work"]
    data = json.loads(sc.model_dump_json())
    for beat in data["beats"]:
        for f in ACT_FIELDS:
            beat.pop(f)
    copy = json.dumps(data)
    assert scenario_from_json(copy).beats[0].answer is None
    info, _ = engine.store.create_session(
        scenario_id=sc.id, title=sc.title, backend="offline", opening=sc.opening,
        openness=sc.start_openness, scenario_json=copy,
    )
    first = engine.reply(info.id, FIVE[Response.ANSWER])
    assert first.partner.text in {sc.beats[0].heard, sc.beats[0].neutral}
    again = engine.replay(info.id, FIVE[Response.ADVICE], from_turn=1)
    assert again.partner.text == sc.beats[0].fixing


def test_a_new_copy_round_trips_with_its_variants() -> None:
    sc = LIBRARY["actions-dont-match-words"]
    back = scenario_from_json(sc.model_dump_json())
    assert back.beats == sc.beats
    assert isinstance(back.beats[0].bare, Variants)


def test_an_empty_variant_table_is_named(tmp_path) -> None:
    first_bare = next(ln for ln in VENT_TOML.split("\n") if ln.startswith("bare = "))
    text = VENT_TOML.replace(first_bare, "bare = { }", 1)
    with pytest.raises(ScenarioError, match=r"beats\[0\]\.bare"):
        parse_scenario(text, source="s.toml", default_id="s")


def test_a_missing_band_uses_the_nearest() -> None:
    v = Variants(guarded="retreat", open="prod")
    assert (v.pick("guarded"), v.pick("opening"), v.pick("open")) == ("retreat", "prod", "prod")
    assert Variants(opening="only").pick("open") == "only"


def test_the_authoring_guides_minimal_example_passes_the_check() -> None:
    guide = (default_scenario_dir() / "AUTHORING.md").read_text()
    example = guide.split("## A minimal complete scenario", 1)[1].split("```toml\n", 1)[1]
    sc = parse_scenario(example.split("```", 1)[0], source="AUTHORING.md", default_id="x")
    assert act_line_gaps(sc) == []


def test_the_cli_comparison_shows_both_reactions(tmp_path, capsys) -> None:
    import re

    db = str(tmp_path / "c.db")
    sc = LIBRARY["laid-off-and-joking"]
    assert main(["--db", db, "practice", sc.id, "--reply", FIVE[Response.MORE]]) == 0
    sid = re.search(r"Saved as session (\w+)", capsys.readouterr().out).group(1)
    assert main(["--db", db, "replay", sid, "--from", "1", "--reply", FIVE[Response.ADVICE]]) == 0
    capsys.readouterr()
    assert main(["--db", db, "review", sid, "--compare", "1", "2"]) == 0
    out = " ".join(capsys.readouterr().out.replace("|", " ").split())
    for line in (sc.beats[0].more, sc.beats[0].fixing):
        first_words = " ".join(line.split()[:4])
        assert first_words in out, (first_words, out)


def test_openness_sets_the_tone_of_an_answer(engine) -> None:
    """A guarded partner answers a question guardedly; the layer comes once they open up."""
    sc = LIBRARY["cold-shoulder-overheard-call"]  # starts at -3
    info, _ = engine.start(sc.id)
    res = engine.reply(info.id, FIVE[Response.ANSWER])
    assert res.partner.openness <= -1
    assert res.partner.text == sc.beats[0].answer.guarded
    assert sc.beats[0].answer.open != sc.beats[0].answer.guarded
    beat = sc.beats[0]
    assert beat.says(Response.ANSWER, Reading.HEARD, openness=3) == beat.answer.open


def test_the_model_partner_is_told_what_the_reply_did() -> None:
    from coach.core.session import Line
    from coach.partners.base import PartnerContext
    from coach.partners.model import WHAT_IT_DID, LLMPartner

    sc = LIBRARY["vent-humiliated-at-work"]
    partner = LLMPartner(model=None, model_name="m")  # type: ignore[arg-type]
    history = (Line("partner", sc.opening), Line("user", FIVE[Response.ADVICE]))
    ctx = PartnerContext(scenario=sc, history=history, reading=Reading.FIXING, openness=-1,
                         turn=1, response=Response.ADVICE)
    system = partner.messages(ctx)[0]["content"]
    assert WHAT_IT_DID[Response.ADVICE] in system and sc.beats[0].fixing in system
    plain = PartnerContext(scenario=sc, history=history, reading=Reading.FIXING, openness=-1,
                           turn=1)
    assert WHAT_IT_DID[Response.ADVICE] not in partner.messages(plain)[0]["content"]


# ------------------------------------------------------------------ properties

BEAT_LINES = [f for f in Beat.model_fields if f != "moment"]

_KINDS = st.sets(st.sampled_from(sorted(ACT_KINDS)), max_size=6)
_FLAGS = st.sets(st.sampled_from(["criticism", "contempt", "defensiveness", "stonewalling"]),
                 max_size=2)


@settings(max_examples=300, deadline=None)
@given(kinds=_KINDS, flags=_FLAGS, reading=st.sampled_from(list(Reading)),
       openness=st.integers(-5, 5))
def test_every_reply_gets_one_of_its_beats_lines(kinds, flags, reading, openness) -> None:
    rating = _acts(*kinds).model_copy(update={"flags": sorted(flags)})
    response = response_to(rating, reading)
    assert response == response_to(rating, reading)  # pure: same input, same answer
    if kinds & {"contempt", "blame"} or flags & {"contempt", "criticism"}:
        assert response == Response.PUT_DOWN  # harm is heard over any kindness
    for sc in LIBRARY.values():
        for beat in sc.beats:
            line = beat.says(response, reading, openness)
            own = set().union(*(_variants(getattr(beat, f)) for f in BEAT_LINES))
            assert line and line in own
