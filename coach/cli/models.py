"""`coach models`: which model servers answer on this computer, and their models."""

from __future__ import annotations

import argparse
import sys

from coach.adapters import discovery


def register(subparsers: argparse._SubParsersAction, parents: list | None = None) -> None:
    """Add the `models` subcommand."""
    p = subparsers.add_parser(
        "models",
        parents=parents or [],
        help="find model servers on this computer (Ollama, LM Studio, llama.cpp, vLLM)",
        description="Asks Ollama (127.0.0.1:11434), LM Studio (:1234), llama.cpp (:8080), "
        "vLLM (:8000), OPENAI_BASE_URL and --base-url for their models, and prints one line "
        "per model: BASE_URL MODEL_ID. Only OPENAI_BASE_URL and --base-url get "
        "OPENAI_API_KEY. " + discovery.RECOMMENDATION,
    )
    p.add_argument("--base-url", help="one more OpenAI-compatible server to ask")
    p.set_defaults(func=cmd_models)


def cmd_models(args: argparse.Namespace) -> int:
    """Print `BASE_URL MODEL_ID` lines on stdout; notes and hints on stderr.

    Returns 0 when some server lists a model, 1 when none does.
    """
    servers = discovery.discover(base_url=args.base_url)
    lines = [(s.base_url, m) for s in servers for m in s.models]
    for url, model in lines:
        print(f"{url} {model}")
    for s in servers:
        if s.problem:
            _note(f"{s.base_url} ({s.name}) answers, but {s.problem}.")
        elif not s.models:
            hint = (f" Fetch one: `ollama pull {discovery.RECOMMENDED[0]}`" if s.ollama
                    else " Load one in the server.")
            _note(f"{s.base_url} ({s.name}) answers but lists no model.{hint}")
    if lines:
        url, model = lines[0]
        _note(f"\nTo practise with one: export OPENAI_BASE_URL={url} "
              f"COACH_PARTNER_MODEL={model}   (or choose it on the app's Settings page)")
        return 0
    if not servers:
        _note(discovery.HOW_TO_START)
    _note(discovery.RECOMMENDATION)
    return 1


def _note(text: str) -> None:
    print(text, file=sys.stderr)
