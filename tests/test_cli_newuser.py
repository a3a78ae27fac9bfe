"""What a new user tripped on in the terminal (issue 12): how many replies a session has,
what a safety pause does to that count, per-branch history, the suggestion sent unchanged."""

from __future__ import annotations

import json
import re

from coach.adapters.store import Store
from coach.application.render import SUGGESTED_NOTE
from coach.cli import main
from coach.core.safety import PAUSE_COUNT_RULE
from tests.test_cli import STRONG, VENT, _practice

PAUSING = "He hits me when he drinks."


def test_each_reply_says_where_it_stands(capsys, library) -> None:
    n = library[VENT].turns
    _, out = _practice(capsys, STRONG[0], STRONG[1])
    assert f"{n} replies until the end. {PAUSE_COUNT_RULE}" in out
    assert f"You (reply 1 of {n}): {STRONG[0]}" in out
    assert f"You (reply 2 of {n}): {STRONG[1]}" in out


def test_the_interactive_prompt_counts_too(capsys, monkeypatch, library) -> None:
    n = library[VENT].turns
    prompts, answers = [], iter([STRONG[0], "/quit"])

    def fake_input(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("builtins.input", fake_input)
    assert main(["practice", VENT]) == 0
    assert prompts == [f"You (reply 1 of {n}): ", f"You (reply 2 of {n}): "]


def test_a_pause_counts_and_one_at_the_end_adds_a_reply(capsys, library) -> None:
    n = library[VENT].turns
    replies = [PAUSING] + STRONG[: n - 2] + [PAUSING, STRONG[-1]]
    assert len(replies) == n + 1
    _, out = _practice(capsys, *replies)
    assert f"(The pause counts as reply 1 of {n}; {n - 1} left.)" in out
    assert f"(That was reply {n} of {n}, but a conversation never ends on a pause: " \
           f"reply {n + 1} is one more, and the last.)" in out
    assert f"You (reply {n + 1} of {n + 1}): {STRONG[-1]}" in out
    assert library[VENT].endings.felt_heard in out or library[VENT].endings.not_heard in out


def test_a_replay_counts_from_the_reply_it_replaces(capsys, library) -> None:
    n = library[VENT].turns
    sid, _ = _practice(capsys, STRONG[0], "You should go to HR.", STRONG[2])
    assert main(["replay", sid, "--from", "2", "--reply", STRONG[1], "--reply", STRONG[2]]) == 0
    out = capsys.readouterr().out
    assert f"You (reply 2 of {n}): {STRONG[1]}" in out
    assert f"You (reply 3 of {n}): {STRONG[2]}" in out


def test_history_shows_each_branch_on_its_own(capsys, tmp_path) -> None:
    sid, _ = _practice(capsys, STRONG[0], "You should go to HR.", STRONG[2])
    assert main(["replay", sid, "--from", "2", "--reply", STRONG[1]]) == 0
    capsys.readouterr()
    assert main(["history"]) == 0
    lines = capsys.readouterr().out.split("\n\n")[0].splitlines()  # the drill follows
    assert len(lines) == 2 and lines[0].startswith(sid) and not lines[1].startswith(sid)
    assert "branch  1  replies  3" in lines[0]
    assert "branch  2  replies  2" in lines[1] and "(from branch 1, reply 2)" in lines[1]
    # each branch's score is the mean over its own conversation, not over all replies
    from coach.adapters.store import default_home
    from coach.core.session import mean_overall, user_turns

    tree = Store(default_home() / "coach.db").load_tree(sid)
    for line, b in zip(lines, (1, 2), strict=True):
        want = mean_overall(user_turns(tree.path(b)))
        assert re.search(rf"score\s+{want:.0f}\s", line), (line, want)
    assert tree.info.user_turns == 4  # what the old line showed, summed over both


def test_the_suggestion_sent_unchanged_is_marked_in_review_and_exports(capsys) -> None:
    sid, _ = _practice(capsys, STRONG[0], "You should go to HR.")
    from coach.adapters.store import default_home

    store = Store(default_home() / "coach.db")
    old = next(t for t in store.load_tree(sid).path(1) if t.role == "user" and t.idx == 2)
    assert main(["replay", sid, "--from", "2", "--reply", old.rating.better_reply]) == 0
    assert f"Note: {SUGGESTED_NOTE}" in capsys.readouterr().out
    assert main(["replay", sid, "--from", "2", "--reply", "What hurt the most?"]) == 0
    assert SUGGESTED_NOTE not in capsys.readouterr().out
    assert main(["review", sid]) == 0
    assert capsys.readouterr().out.count(SUGGESTED_NOTE) == 1
    assert main(["export", sid]) == 0
    assert capsys.readouterr().out.count(SUGGESTED_NOTE) == 1
    assert main(["export", sid, "--format", "json"]) == 0
    turns = json.loads(capsys.readouterr().out)["turns"]
    marked = [t["branch"] for t in turns if t["rating"] and t["rating"]["suggested"]]
    assert marked == [2]


def test_history_ends_with_the_same_drill_as_the_app(capsys, library) -> None:
    from coach.adapters.store import default_home
    from coach.core.drill import drill_words, suggest_drill

    _practice(capsys, STRONG[0], "You should go to HR.")
    assert main(["history"]) == 0
    out = capsys.readouterr().out
    d = suggest_drill(Store(default_home() / "coach.db").rated_turns(), library)
    assert f"Next drill: {drill_words(d)}" in out
    assert f"coach practice {d.scenario.id}" in out


def test_history_without_scored_replies_has_no_drill(capsys) -> None:
    _practice(capsys, PAUSING)  # withheld: nothing scored
    assert main(["history"]) == 0
    assert "Next drill" not in capsys.readouterr().out
