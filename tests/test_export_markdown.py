"""The Markdown export as a CommonMark renderer (markdown-it-py) reads it, in the app's words."""

from __future__ import annotations

import re

import pytest

from coach.application.render import BETTER_REPLY, export_markdown

markdown_it = pytest.importorskip("markdown_it")

VENT = "vent-humiliated-at-work"


def _blocks(text: str) -> list[tuple[bool, str]]:
    """(inside a list item?, text) for every run of inline text the renderer finds."""
    depth, out = 0, []
    for tok in markdown_it.MarkdownIt("commonmark").parse(text):
        if tok.type == "list_item_open":
            depth += 1
        elif tok.type == "list_item_close":
            depth -= 1
        elif tok.type == "inline":
            out.append((depth > 0, tok.content))
    return out


@pytest.fixture
def session(engine):
    info, _ = engine.start(VENT)
    engine.reply(info.id, "Oh no, that sounds humiliating. No wonder you're furious.")
    engine.reply(info.id, "You should talk to HR.")
    engine.replay(info.id, "What hurt most?", from_turn=2)
    tree = engine.tree(info.id)
    return tree, engine.scenario_of(tree)


def test_tip_and_better_reply_are_their_own_paragraphs(session):
    blocks = _blocks(export_markdown(*session))
    tips = [(inside, t) for inside, t in blocks if t.startswith("Tip:")]
    better = [(inside, t) for inside, t in blocks if t.startswith(BETTER_REPLY)]
    assert len(tips) == 4 and len(better) == 4  # two replies in each of two branches
    assert not any(inside for inside, _ in tips + better)
    # and no list item swallowed either (a lazy continuation line joins the item's text)
    assert not any(inside and ("Tip:" in t or BETTER_REPLY in t) for inside, t in blocks)


def test_debrief_lines_stay_apart(session):
    blocks = _blocks(export_markdown(*session))
    items = [t for inside, t in blocks if inside]
    # each list item is one thing: a level, a strength, a step; never the next heading
    assert not any("Your best reply" in t or "What to try next" in t for t in items)
    assert any(t.startswith("Your best reply") or "Your best reply" in t
               for inside, t in blocks if not inside)


def test_the_export_uses_the_apps_words(session):
    text = export_markdown(*session)
    assert "## Branch 1 (the original conversation)" in text
    assert "## Branch 2 (a different reply 2, starting from branch 1)" in text
    assert "**You (reply 1):**" in text and "**You (reply 2):**" in text
    # "branch" is the one word everywhere; the export's replies are "replies", never the
    # CLI's "turns", in the lines the export writes itself
    ours = [ln for ln in text.splitlines() if ln.startswith(("#", "**You", "> "))]
    for line in ours:
        assert not re.search(r"\b([Vv]ersions?|turns?|Try instead)\b", line), line
