"""Prompt templates: files in `prompts/`, rendered by one strict Jinja environment.

Prompts live in files so they can be read, diffed and reviewed like any other text. The
environment uses `StrictUndefined`, so a template that names a variable the code did not
pass fails loudly instead of silently rendering an empty string into a prompt.

Every rating records `prompt_version(...)`: a short hash of the template sources plus the
rubric fingerprint, so a change to either shows up in stored ratings and eval results.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from coach.adapters.resources import prompts_dir
from coach.core.rubric import rubric_fingerprint

PROMPT_DIR = prompts_dir()

# The tags the judge prompt uses to fence user-written text. Anything in user text that
# looks like one of them is defanged, so a reply cannot close its own fence.
FENCE_TAGS = ("reply", "conversation", "scenario")
_TAG_RE = re.compile(r"<\s*(/?)\s*(" + "|".join(FENCE_TAGS) + r")\b[^>]*>", re.I)


def neutralize(text: str) -> str:
    """Defang delimiter look-alikes: `</reply>` becomes `‹/reply›` (visible, but inert)."""
    return _TAG_RE.sub(lambda m: f"‹{m.group(1)}{m.group(2)}›", text)


@cache
def environment() -> Environment:
    """The one Jinja environment for all prompts."""
    env = Environment(
        loader=FileSystemLoader(str(PROMPT_DIR)),
        undefined=StrictUndefined,
        autoescape=False,  # prompts are plain text, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["data"] = neutralize
    return env


def _file(name: str) -> str:
    return name if name.endswith(".j2") else f"{name}.j2"


def render(name: str, **variables: Any) -> str:
    """Render `prompts/<name>.j2` with `variables` (every variable it uses must be given).

    Raises:
        jinja2.UndefinedError: the template uses a variable that was not passed.
    """
    return environment().get_template(_file(name)).render(**variables).strip()


def prompt_version(name: str) -> str:
    """A short, stable id of the prompt family `name` and the rubric it embeds.

    The family is `<name>.j2` plus every `<name>_*.j2` (e.g. "judge" covers judge.j2,
    judge_input.j2 and judge_reask.j2), hashed in name order with `rubric_fingerprint()`.
    """
    stem = name.removesuffix(".j2")
    files = sorted(
        p for p in PROMPT_DIR.glob("*.j2") if p.stem == stem or p.stem.startswith(stem + "_")
    )
    if not files:
        raise FileNotFoundError(f"no prompt template {stem}.j2 in {PROMPT_DIR}")
    h = hashlib.sha256(rubric_fingerprint().encode())
    for path in files:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"{stem}-{h.hexdigest()[:10]}"
