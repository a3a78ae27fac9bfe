"""Every act rule file's examples, run: each rule tags its own examples with its act, and
each file's `tagged` / `not_tagged` replies carry the act or do not."""

from __future__ import annotations

import pytest

from coach.core.rubric import ACT_KINDS
from coach.judges.acts.ruleset import load_rules
from coach.judges.acts.tagger import tag_reply

RULES = load_rules()
# A sentence carries one reflection: a complex one stands in for the simple one it contains.
STRONGER = {"simple_reflection": "complex_reflection"}
RULE_CASES = [
    pytest.param(act, i, ex, id=f"{act}-{i}-{ex[:30]}")
    for act, spec in RULES.files.items()
    for i, rule in enumerate(spec.rule)
    for ex in rule.examples
]
TAGGED = [
    pytest.param(act, r, id=f"{act}-{r[:30]}")
    for act, spec in RULES.files.items()
    for r in spec.tagged
]
NOT_TAGGED = [
    pytest.param(act, r, id=f"{act}-{r[:30]}")
    for act, spec in RULES.files.items()
    for r in spec.not_tagged
]


def test_every_rule_has_an_example_and_every_file_a_counterexample() -> None:
    missing = [
        f"{act} rule {i} ({r.why})"
        for act, spec in RULES.files.items()
        for i, r in enumerate(spec.rule)
        if not r.examples
    ]
    assert not missing, missing
    assert not [act for act, spec in RULES.files.items() if not spec.not_tagged]


def test_rule_files_cover_the_vocabulary() -> None:
    assert set(RULES.files) <= set(ACT_KINDS)
    assert set(ACT_KINDS) - set(RULES.files) == set()


@pytest.mark.parametrize(("act", "index", "example"), RULE_CASES)
def test_rule_tags_its_examples(act: str, index: int, example: str) -> None:
    rule = RULES.rules[act][index]
    assert rule.pattern.search(example.lower()), f"pattern does not match {example!r}"
    kinds = tag_reply(example).kinds
    assert act in kinds or STRONGER.get(act) in kinds, f"{example!r} tagged {sorted(kinds)}"


@pytest.mark.parametrize(("act", "reply"), TAGGED)
def test_tagged_replies_carry_the_act(act: str, reply: str) -> None:
    kinds = tag_reply(reply).kinds
    assert act in kinds or STRONGER.get(act) in kinds


@pytest.mark.parametrize(("act", "reply"), NOT_TAGGED)
def test_not_tagged_replies_do_not(act: str, reply: str) -> None:
    assert act not in tag_reply(reply).kinds


def _texts() -> list[str]:
    """Every sentence the project holds: rule examples, scenario lines, the suites."""
    import json
    from pathlib import Path

    from coach.adapters.scenario_files import load_library
    from coach.judges.acts.tagger import sentences

    out = [ex for spec in RULES.files.values() for r in spec.rule for ex in r.examples]
    out += [t for spec in RULES.files.values() for t in (*spec.tagged, *spec.not_tagged)]
    for sc in load_library().values():
        out += [sc.opening, sc.situation, *(ex.reply for ex in sc.examples)]
        out += [getattr(b, f) for b in sc.beats for f in ("heard", "fixing", "dismissing")]
    for path in (Path(__file__).parents[1] / "evals").rglob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            out += [v for k, v in row.items() if isinstance(v, str) and k != "id"]
    return [s.text.lower() for t in out for s in sentences(t)]


def test_the_cheap_pre_tests_never_skip_a_match() -> None:
    """Each rule is tried in parts, each part only where a text it needs is there: together
    they must find exactly what the rule's whole pattern finds."""
    texts = [(seg, RULES.present(seg)) for seg in _texts()]
    assert len(texts) > 2000
    for rules in RULES.rules.values():
        for rule in rules:
            for seg, present in texts:
                whole = rule.pattern.search(seg) is not None
                parts = any(n.may_match(present) and p.search(seg) for n, p in rule.parts)
                assert whole == parts, (rule.act, rule.why, seg)
                if whole:
                    assert rule in RULES.candidates(present), (rule.act, rule.why, seg)


_FURNITURE = "The rest of the day I'm kind of... furniture."


@pytest.mark.parametrize(
    ("reply", "mocks"),
    [
        ("furniture lol", True),  # their word, capped with a scoff
        ("Furniture. Sure.", True),  # the scoff as the next sentence
        ("Furniture 🙄", True),
        ("Furniture. That's awful, I'm sorry.", False),  # said back with care
        ("Furniture. Okay.", False),  # "okay" agrees
        ("I feel like furniture too for sure.", False),  # "for sure" is not the sneer
        ("Sure, I'll hug you more.", False),
    ],
)
def test_echoing_their_words_with_a_scoff_is_contempt(reply: str, mocks: bool) -> None:
    acts = tag_reply(reply, partner_line=_FURNITURE)
    assert ("contempt" in acts.kinds) is mocks



def test_sorry_you_feel_that_way_is_a_non_apology_only_to_a_complaint_about_oneself() -> None:
    complaint = "You forgot my birthday again and you didn't even call."
    low = "I've been feeling low for weeks and nothing seems to help."
    assert "defensiveness" in tag_reply("I'm sorry you feel that way.", complaint).kinds
    assert "defensiveness" not in tag_reply("I'm sorry you feel that way.", low).kinds
