"""The model flags every command that can use a model shares, and the config they ask for."""

from __future__ import annotations

import argparse

from coach.adapters.config import ModelConfig, resolve_config


def add_model_flags(p: argparse.ArgumentParser) -> None:
    """The model flags every command that can use a model shares (`coach practice`, `eval`...)."""
    g = p.add_argument_group(
        "model (default: offline; else OPENAI_BASE_URL, OPENAI_API_KEY, COACH_* variables)"
    )
    g.add_argument(
        "--offline",
        action="store_true",
        help="use the scripted partner and heuristic judge even if a model is configured",
    )
    g.add_argument("--base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1")
    g.add_argument("--partner-model", help="model that plays the partner")
    g.add_argument("--judge-model", help="model that rates replies (default: partner model)")
    g.add_argument(
        "--structured",
        choices=["json_schema", "json_object", "prompt"],
        help="how the judge asks for JSON",
    )


def config_from_args(args: argparse.Namespace) -> ModelConfig | None:
    """The config those flags ask for (then the environment): None for `--offline` or none set."""
    if getattr(args, "offline", False):
        return None
    return resolve_config(
        base_url=args.base_url,
        partner_model=args.partner_model,
        judge_model=args.judge_model,
        structured=args.structured,
    )
