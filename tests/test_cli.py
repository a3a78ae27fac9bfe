"""The CLI as a user scripts it: practice, history, replay, review, compare, export."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from coach.cli import main
from coach.core.errors import ModelError

VENT = "vent-humiliated-at-work"
STRONG = [
    "Oh love, that's humiliating. No wonder you're shaking. What was it like sitting there?",
    "So it's not just the joke, it's that he made you the punchline. I'm so sorry.",
    "That makes so much sense. It sounds like you're scared of what they think now.",
    "I'm right here. Do you want me to just listen tonight?",
    "I love you. What do you need from me right now?",
]


def _practice(capsys, *replies: str) -> tuple[str, str]:
    args = ["practice", VENT]
    for r in replies:
        args += ["--reply", r]
    code = main(args)
    out = capsys.readouterr().out
    assert code == 0, out
    sid = re.search(r"^Session ([0-9a-f]{8})$", out, re.M).group(1)
    return sid, out


def test_full_scripted_session(capsys, library) -> None:
    sid, out = _practice(capsys, *STRONG)
    sc = library[VENT]
    assert sc.opening in out
    assert out.count("Rating ") == sc.turns
    assert "Tip:" in out and "Try instead:" in out
    assert '"No wonder you\'re shaking."' in out  # evidence quoted
    assert sc.endings.felt_heard in out
    assert "=== Debrief ===" in out
    assert " ".join(sc.hidden_need.split()) in out
    assert "Reflections : questions" in out and "MITI" in out
    assert f"Saved as session {sid}" in out


def test_replies_file_and_history(tmp_path, capsys) -> None:
    f = tmp_path / "replies.txt"
    f.write_text("You should go to HR.\n\nAt least he didn't say your name.\n")
    assert main(["practice", VENT, "--replies", str(f)]) == 0
    out = capsys.readouterr().out
    sid = re.search(r"^Session (\w+)$", out, re.M).group(1)
    assert out.count("Rating ") == 2
    assert main(["history"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split()[0] == sid
    assert "replies  2" in lines[0] and "ending: not reached yet" in lines[0]


def test_replay_review_compare_and_export(capsys, tmp_path) -> None:
    sid, _ = _practice(capsys, STRONG[0], "You should go to HR first thing.", STRONG[2])
    assert main(["replay", sid, "--from", "2", "--reply", STRONG[1]]) == 0
    out = capsys.readouterr().out
    assert f"(new branch 2 of session {sid})" in out
    assert STRONG[0] in out  # the shared turn 1 is shown before replaying

    assert main(["review", sid]) == 0
    out = capsys.readouterr().out
    assert "--- Branch 1 ---" in out and "--- Branch 2 (replayed from branch 1, reply 2) ---" in out

    assert main(["review", sid, "--compare", "1", "2"]) == 0
    out = capsys.readouterr().out
    assert "Reply 1  (shared)" in out and "Turn " not in out
    assert "No unasked fixing +2" in out  # the replayed turn stops fixing
    assert re.search(r"Overall\s+\d+ -> \d+", out)

    assert main(["export", sid, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["session"]["id"] == sid
    assert {b["branch"] for b in data["branches"]} == {1, 2}
    assert sum(t["role"] == "user" for t in data["turns"]) == 4

    md = tmp_path / "s.md"
    assert main(["export", sid, "--format", "md", "--output", str(md)]) == 0
    text = md.read_text()
    assert text.startswith("# Humiliated at work") and "## Branch 2" in text


@pytest.mark.parametrize(
    ("reply", "words"),
    [("   ", "empty"), ("x" * 20_000, "20,000 characters")],
)
def test_bad_replies_get_clear_messages_not_tracebacks(capsys, reply, words) -> None:
    code = main(["practice", VENT, "--reply", "That sounds awful.", "--reply", reply])
    out = capsys.readouterr()
    assert code == 2
    assert "coach: reply 2 is" in out.err and words in out.err and "Nothing was saved" in out.err
    assert "Traceback" not in out.out + out.err
    assert main(["history", "--all"]) == 0  # no session was opened for a broken script
    assert "No sessions yet" in capsys.readouterr().out


def test_interactive_refusal_keeps_the_session_going(capsys, monkeypatch) -> None:
    answers = iter(["x" * 20_000, STRONG[0], "/quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert main(["practice", VENT]) == 0
    out = capsys.readouterr().out
    assert "20,000 characters" in out and out.count("Rating ") == 1


def test_unknown_things_are_clear_errors(capsys) -> None:
    assert main(["practice", "no-such-scenario", "--reply", "hi"]) == 2
    assert "no scenario 'no-such-scenario'" in capsys.readouterr().err
    assert main(["review", "ffffffff"]) == 2
    assert "coach history" in capsys.readouterr().err
    sid, _ = _practice(capsys, STRONG[0])
    assert main(["review", sid, "--compare", "1", "7"]) == 2
    assert "no branch 7" in capsys.readouterr().err
    assert main(["replay", sid, "--from", "4", "--reply", "hi"]) == 2
    assert "no reply 4" in capsys.readouterr().err


def test_interactive_practice_in_a_real_process(tmp_path) -> None:
    """Typing replies at the prompt, an empty line, then /quit; the session is kept."""
    env = {"COACH_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "coach", "practice", VENT],
        input=f"{STRONG[0]}\n\n/quit\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Your reply is empty" in proc.stdout
    assert proc.stdout.count("Rating ") == 1
    sid = re.search(r"^Session (\w+)$", proc.stdout, re.M).group(1)
    again = subprocess.run(
        [sys.executable, "-m", "coach", "resume", sid, "--reply", STRONG[1]],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert STRONG[0] in again.stdout and again.stdout.count("Rating ") >= 2


@pytest.mark.parametrize("kind", ["folder", "garbage"])
def test_a_bad_database_path_is_a_clear_error(tmp_path, capsys, kind) -> None:
    db = tmp_path / "x.db"
    if kind == "folder":
        db.mkdir()
    else:
        db.write_bytes(b"this is not sqlite" * 100)
    assert main(["--db", str(db), "history"]) == 2
    err = capsys.readouterr().err
    assert str(db) in err and ("folder" in err or "not a coach database" in err)


def test_export_to_a_missing_folder_is_a_clear_error(capsys, tmp_path) -> None:
    sid, _ = _practice(capsys, STRONG[0])
    target = tmp_path / "nope" / "x.md"
    assert main(["export", sid, "--output", str(target)]) == 2
    assert "cannot write the export" in capsys.readouterr().err


def test_resume_prints_the_finished_line_once(store, library, capsys) -> None:
    from coach.application.backends import Backend
    from coach.application.engine import Engine
    from coach.judges.builtin import HeuristicJudge
    from tests.test_session_engine import DownPartner

    eng = Engine(store, Backend(HeuristicJudge(), DownPartner(), "test", False), library)
    info, _ = eng.start(VENT)
    with pytest.raises(ModelError):
        eng.reply(info.id, STRONG[0])
    empty = store.path.with_name("none.txt")
    empty.write_text("")
    assert main(["--db", str(store.path), "resume", info.id, "--offline", "--replies",
                 str(empty)]) == 0
    out = capsys.readouterr().out
    # The scripted partner answers what the reply did: an open question gets its answer.
    answer = library[VENT].beats[0].answer
    assert out.count(answer) == 1
    assert f"{library[VENT].partner.name}: {answer}" in out


def test_a_session_keeps_its_scenario_after_the_file_is_gone(tmp_path, capsys) -> None:
    """A scenario from a user's own folder: the session stays reviewable without it."""
    from coach.adapters.scenario_files import default_scenario_dir

    mine = tmp_path / "mine"
    mine.mkdir()
    text = (default_scenario_dir() / f"{VENT}.toml").read_text()
    (mine / "my-vent.toml").write_text(text.replace("Maya", "Tomasz"))
    assert main(["--scenarios", str(mine), "practice", "my-vent", "--reply", STRONG[0]]) == 0
    sid = re.search(r"^Session (\w+)$", capsys.readouterr().out, re.M).group(1)
    (mine / "my-vent.toml").unlink()
    assert main(["review", sid]) == 0
    out = capsys.readouterr().out
    assert "Tomasz:" in out and "Partner:" not in out
    assert main(["resume", sid, "--reply", STRONG[1]]) == 0
    assert "Tomasz:" in capsys.readouterr().out


def test_db_can_follow_the_command(tmp_path, capsys) -> None:
    db = tmp_path / "elsewhere.db"
    assert main(["practice", VENT, "--reply", STRONG[0], "--db", str(db)]) == 0
    sid = re.search(r"^Session (\w+)$", capsys.readouterr().out, re.M).group(1)
    assert main(["history", "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith(sid)
    assert main(["history"]) == 0  # the default database never saw it
    assert sid not in capsys.readouterr().out


@pytest.mark.parametrize("url", ["http://127.0.0.1:abc/v1", "http://[::1"])
@pytest.mark.parametrize("where", ["flag", "env"])
def test_a_malformed_base_url_is_one_clear_line(capsys, monkeypatch, url, where) -> None:
    args = ["practice", VENT, "--reply", STRONG[0]]
    if where == "flag":
        args += ["--base-url", url, "--partner-model", "m"]
    else:
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        monkeypatch.setenv("COACH_PARTNER_MODEL", "m")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert ("--base-url" if where == "flag" else "OPENAI_BASE_URL=") in err
    assert "not usable" in err


def test_practice_names_the_model_once(capsys, monkeypatch, tmp_path) -> None:
    """The header said 'Model: model: smollm2 at ...' in the serve-local trial."""
    from coach.bench.simulated_server import DEFAULT_MODEL, FakeOpenAIServer

    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    with FakeOpenAIServer() as srv:
        code = main(["practice", "vent-humiliated-at-work", "--reply", "That sounds awful.",
                     "--base-url", srv.base_url, "--partner-model", DEFAULT_MODEL])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"Using: model: {DEFAULT_MODEL} at {srv.base_url}" in out
    assert "model: model:" not in out.lower()


@pytest.mark.parametrize("replies", [1, 3])
def test_the_replay_hint_it_prints_works_as_shown(capsys, replies: int) -> None:
    # a new user's trial: after one reply the hint said "--from 2", which then failed
    _, out = _practice(capsys, *STRONG[:replies])
    hint = re.search(r"Replay from a reply: coach (replay .*)$", out, re.M).group(1).split()
    assert hint[hint.index("--from") + 1] == str(replies)
    assert main([*hint, "--reply", "What was the worst part?"]) == 0, capsys.readouterr().out


def test_resume_of_an_ended_branch_says_the_reply_was_not_sent(capsys) -> None:
    # A cold trial: resume --reply on an ended branch returned 0, printed the transcript,
    # and never said the reply went nowhere.
    sid, _ = _practice(capsys, *STRONG)
    assert main(["history"]) == 0
    assert "not reached yet" not in capsys.readouterr().out  # the branch has ended
    assert main(["resume", sid, "--reply", "hi"]) == 2
    err = capsys.readouterr()
    lines = err.err.strip().splitlines()
    assert len(lines) == 1 and "has ended" in lines[0] and "not sent" in lines[0], err
    assert f"coach replay {sid}" in lines[0]
    assert main(["history"]) == 0
    assert "replies  5" in capsys.readouterr().out  # nothing was added
    assert main(["resume", sid]) == 0  # without a reply it still shows the debrief
    assert "This branch has ended" in capsys.readouterr().out
