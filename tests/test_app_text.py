"""The app's plain helpers: escaping, highlighting, filters, labels, progress."""

from __future__ import annotations

import string

from coach.adapters.scenario_files import load_library
from coach.app.logic import filter_scenarios, level_badges, progress, tree_dot
from coach.app.text import escape_md, evidence_spans, highlight
from coach.core.rubric import CriterionScore, Rating

NASTY = "<script>alert(1)</script> [link](http://x) **bold** :red[x] $x$ `code`"


def test_escape_md_escapes_every_punctuation_char():
    out = escape_md(NASTY)
    for i, ch in enumerate(out):
        if ch in string.punctuation and ch != "\\":
            assert out[i - 1] == "\\", (ch, out[: i + 1])
    assert "<script>" not in out and "](" not in out
    assert out.replace("\\", "") == NASTY.replace("\\", "")


def test_escape_md_keeps_line_breaks():
    assert escape_md("a\nb") == "a  \nb"


def test_highlight_wraps_only_escaped_evidence():
    text = "I hear you. <b>That</b> sounds [awful](http://x)."
    out = highlight(text, ["<b>That</b> sounds", "not in the reply"])
    assert out.startswith("I hear you\\. :orange-background[\\<b\\>That\\<\\/b\\> sounds]")
    assert "[awful]" not in out and "](" not in out


def test_evidence_spans_merge_and_ignore_missing():
    assert evidence_spans("abcdef", ["bcd", "cde", "zz", ""]) == [(1, 5)]
    assert evidence_spans("Hello There", ["hello"]) == [(0, 5)]


def test_filter_scenarios():
    lib = load_library()
    assert filter_scenarios(lib) == list(lib.values())
    assert filter_scenarios(lib, "no such words here") == []
    sc = next(iter(lib.values()))
    assert filter_scenarios(lib, sc.partner.name.lower(), [sc.difficulty], [sc.practice]) == [sc]
    assert filter_scenarios(lib, difficulties=["nonexistent"]) == []


def test_level_badges_colors():
    r = Rating(scores={"warmth": CriterionScore(level=2), "validation": CriterionScore(level=0)})
    out = level_badges(r)
    assert ":green-badge[Warmth ●●]" in out
    assert ":red-badge[Validation ○○]" in out
    assert ":gray-badge[Exploration –]" in out


def test_tree_dot_and_progress(tmp_path):
    from coach.adapters.store import Store
    from coach.application.backends import make_backend
    from coach.application.engine import Engine

    eng = Engine(Store(tmp_path / "c.db"), make_backend(None), load_library())
    info, _ = eng.start("vent-humiliated-at-work")
    eng.reply(info.id, "That sounds humiliating. No wonder you're furious.")
    eng.reply(info.id, "You should talk to HR.")
    eng.replay(info.id, "What was the hardest part?", from_turn=2)
    tree = eng.tree(info.id)
    dot = tree_dot(tree)
    assert "v1 -> v2" in dot and "new reply 2" in dot
    pts = progress(eng.store.rated_turns())
    # One point for the session: the mean over all three scored replies, both versions.
    users = [t for t in tree.turns if t.role == "user"]
    assert len(users) == 3 and all(t.rating.status == "scored" for t in users)
    warmth = [t.rating.level("warmth") for t in users]
    assert len(pts) == 1 and pts[0].session == info.id
    assert pts[0].levels["Warmth"] == round(sum(warmth) / 3, 2)
    assert pts[0].overall == round(sum(t.rating.overall for t in users) / 3, 1)
    # the replies differ, so the mean is not any single reply's level
    assert len({t.rating.overall for t in users}) > 1
