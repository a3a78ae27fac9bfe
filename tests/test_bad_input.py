"""Bad bytes, huge or deep files and bad arguments: one clear line and exit 2, never a traceback.

Each case is one a user can cause by accident (a file saved as Latin-1, a terminal sending raw
bytes, a generated scenario file) and each must leave nothing half-written behind.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from coach.cli import main

VENT = "vent-humiliated-at-work"


def _no_sessions(capsys) -> None:
    assert main(["history", "--all"]) == 0
    assert "No sessions yet" in capsys.readouterr().out


def _one_line_error(capsys, code: int) -> str:
    out = capsys.readouterr()
    assert code == 2, out
    assert "Traceback" not in out.err
    lines = out.err.strip().splitlines()
    assert len(lines) == 1, out.err
    return lines[0]


# ------------------------------------------------------------------ replies that are not text


def test_replies_file_with_invalid_utf8_names_the_line(tmp_path, capsys) -> None:
    f = tmp_path / "replies.txt"
    f.write_bytes(b"That sounds hard.\n\xff\xfe what\n")
    line = _one_line_error(capsys, main(["practice", VENT, "--replies", str(f)]))
    assert str(f) in line and "line 2" in line and "UTF-8" in line and "Nothing was saved" in line
    _no_sessions(capsys)


def test_replies_on_stdin_with_invalid_utf8(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"fine\nbad \xc3\x28\n")))
    line = _one_line_error(capsys, main(["practice", VENT, "--replies", "-"]))
    assert "stdin: line 2" in line and "UTF-8" in line
    _no_sessions(capsys)


@pytest.mark.parametrize("content", [b"", b"\n  \n\n"])
def test_an_empty_replies_file_opens_no_session(tmp_path, capsys, content) -> None:
    # A cold trial: an empty --replies file quietly saved a session with no replies.
    f = tmp_path / "replies.txt"
    f.write_bytes(content)
    line = _one_line_error(capsys, main(["practice", VENT, "--replies", str(f)]))
    assert str(f) in line and "no replies" in line and "Nothing was saved" in line
    _no_sessions(capsys)


def test_a_reply_with_a_lone_surrogate_opens_no_session(capsys) -> None:
    # What Python makes of the byte 0xff in argv (surrogateescape).
    line = _one_line_error(capsys, main(["practice", VENT, "--reply", "ok \udcff"]))
    assert "reply 1 has bytes" in line and "UTF-8" in line and "Nothing was saved" in line
    _no_sessions(capsys)


def test_resume_refuses_a_bad_script_before_writing(capsys) -> None:
    assert main(["practice", VENT, "--reply", "That sounds so hard."]) == 0
    sid = capsys.readouterr().out.split("Session ", 1)[1].split()[0]
    line = _one_line_error(capsys, main(["resume", sid, "--reply", "\udcff"]))
    assert "UTF-8" in line
    assert main(["history"]) == 0
    assert "replies  1" in capsys.readouterr().out


def test_invalid_bytes_in_argv_through_a_real_process(tmp_path) -> None:
    env = {**os.environ, "COACH_HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "coach", "practice", VENT, "--reply", b"so sorry \xff"],
        capture_output=True, text=True, env=env, timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "UTF-8" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ scenario files


def test_a_deeply_nested_scenario_is_refused_by_check(tmp_path, capsys) -> None:
    f = tmp_path / "deep.toml"
    f.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert main(["scenarios", "--check", str(f)]) == 2
    out = capsys.readouterr().out
    assert str(f) in out and "nested too deeply" in out


def test_a_deeply_nested_file_in_the_scenario_folder_is_named(tmp_path, capsys, monkeypatch):
    (tmp_path / "deep.toml").write_text("x = " + "{a=" * 20_000 + "1" + "}" * 20_000 + "\n")
    monkeypatch.setenv("COACH_SCENARIOS", str(tmp_path))
    line = _one_line_error(capsys, main(["scenarios"]))
    assert "deep.toml" in line and "nested too deeply" in line


def test_a_huge_scenario_file_is_refused_with_its_name(tmp_path, capsys) -> None:
    from coach.adapters.scenario_files import default_scenario_dir
    from coach.core.scenario import MAX_SCENARIO_BYTES

    body = (default_scenario_dir() / f"{VENT}.toml").read_text(encoding="utf-8")
    big = tmp_path / "big.toml"
    big.write_text(body + "\n# " + "x" * MAX_SCENARIO_BYTES + "\n", encoding="utf-8")
    assert main(["scenarios", "--check", str(big)]) == 2
    out = capsys.readouterr().out
    assert str(big) in out and "larger than 256 KiB" in out
    ok = tmp_path / "ok.toml"  # the same scenario without the padding is fine
    ok.write_text(body, encoding="utf-8")
    assert main(["scenarios", "--check", str(ok)]) == 0


# ------------------------------------------------------------------ arguments


@pytest.mark.parametrize("value", ["-5", "x", "²", "1_0"])
def test_history_offset_must_be_a_whole_number(capsys, value) -> None:
    with pytest.raises(SystemExit) as e:
        main(["history", "--offset", value])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "--offset" in err and "0 or more" in err and "--offset -4" not in err
