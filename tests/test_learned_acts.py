"""The built-in judge's learned reading (coach/judges/acts/learned.py, train.py): trained on
the project's own sentences, current with them, and held to its rules of use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coach.judges.acts import learned, train
from coach.judges.acts.tagger import HARMFUL, POSITIVE, make_context, tag_reply

MODEL = learned.model()


def test_shipped_weights_were_trained_on_the_data_in_the_repo() -> None:
    assert train.main(["--check"]) == 0, "run: .venv/bin/python -m coach.judges.acts.train"


def test_the_check_fails_when_the_data_changes(tmp_path: Path, monkeypatch) -> None:
    for p in train.LABELLED.glob("*.jsonl"):
        (tmp_path / p.name).write_bytes(p.read_bytes())
    (tmp_path / "extra.jsonl").write_text(
        json.dumps({"partner": "I'm tired.", "sentence": "You're worn out.",
                    "acts": ["simple_reflection"]}) + "\n", "utf-8")
    monkeypatch.setattr(train, "LABELLED", tmp_path)
    assert train.main(["--check"]) == 1


def test_a_bad_labelled_line_names_its_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "mine.jsonl"
    good = {"partner": "x", "sentence": "You're worn out.", "acts": ["simple_reflection"]}
    f.write_text(json.dumps(good) + "\n" + json.dumps({**good, "acts": ["hugging"]}) + "\n")
    with pytest.raises(ValueError, match=r"mine\.jsonl:2: unknown act 'hugging'"):
        train.read_labelled([f])
    f.write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(ValueError, match=r"mine\.jsonl:2: not JSON"):
        train.read_labelled([f])
    f.write_text(json.dumps({**good, "extra": 1}) + "\n")
    with pytest.raises(ValueError, match=r"mine\.jsonl:1: keys"):
        train.read_labelled([f])


def test_a_line_the_tagger_would_split_is_not_learned_from(tmp_path: Path) -> None:
    f = tmp_path / "mine.jsonl"
    rows = [{"partner": "x", "sentence": "Oh no. That's awful.", "acts": ["care"]},
            {"partner": "x", "sentence": "That's awful.", "acts": ["validation"]}]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert [ex.sentence for ex in train.read_labelled([f])] == ["That's awful."]


def test_training_learns_an_act_from_labelled_sentences(tmp_path: Path) -> None:
    # Two authors, each with the same made-up act pattern, so the held-out author confirms it.
    for author in ("a", "b"):
        rows = []
        for i in range(30):
            rows.append({"partner": "It was a long day at work.",
                         "sentence": f"Zorbly day number {i}, {author}.", "acts": ["care"]})
            rows.append({"partner": "It was a long day at work.",
                         "sentence": f"The bus was late {i} times, {author}.", "acts": []})
        (tmp_path / f"{author}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    model, report = train.train(sorted(tmp_path.glob("*.jsonl")))
    assert report["care"]["threshold"] <= 1.0
    assert report["care"]["right"] / report["care"]["added"] >= train.PRECISION["care"]
    m = learned.parse(model)
    ctx = make_context("It was a long day at work.")
    feats = learned.features("zorbly day number 99, c.", ctx.line_words, frozenset())
    assert "care" in m.confident(feats)
    plain = learned.features("the bus was late 99 times, c.", ctx.line_words, frozenset())
    assert "care" not in m.confident(plain)


def test_every_act_it_adds_was_right_often_enough_on_an_unseen_author() -> None:
    # The thresholds in learned.json are the ones the held-out authors justify (train.py
    # records what each held-out reading showed; the digest test above ties it to the data).
    report = json.loads((train.OUT).read_text("utf-8"))["held_out"]
    assert set(report) == set(train.PRECISION)
    for act, r in report.items():
        if act in MODEL.threshold:
            assert r["added"] >= train.MIN_ADDED, act
            assert r["right"] / r["added"] >= train.PRECISION[act], act
            assert MODEL.threshold[act] == r["threshold"], act
        else:
            assert r["threshold"] > 1.0, act


def test_it_never_adds_listening_to_a_sentence_the_rules_find_hurtful() -> None:
    reply = "What an idiot you are for sending that."
    partner = "He put my email on the big screen and they laughed."
    acts = tag_reply(reply, partner)
    assert acts.has("contempt")
    assert not any(t.act in POSITIVE for s in acts.sentences for t in s.tags)


def test_with_the_learned_reading_off_only_the_rules_speak() -> None:
    partner = "He put my email on the big screen and they laughed."
    for reply in ("That's grim.", "Ugh, that's so unfair babe.", "Here we go again."):
        off = tag_reply(reply, partner, learned=False)
        on = tag_reply(reply, partner)
        # the model only ever adds acts, never takes the rules' away (bar what settling the
        # sentence's conflicts removes, which is harm over kindness)
        assert off.kinds - on.kinds <= POSITIVE, reply
        added = {t.why for s in on.sentences for t in s.tags} - {
            t.why for s in off.sentences for t in s.tags}
        assert added <= set(learned.WHY.values()), reply


def test_learned_harm_is_a_horseman_the_policy_knows() -> None:
    assert set(MODEL.acts) <= set(learned.WHY)
    assert set(learned.WHY) <= POSITIVE | HARMFUL | {
        "advice", "self_focus", "minimizing", "rhetorical_question"}
