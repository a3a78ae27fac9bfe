"""Where the shipped files live: prompts, scenarios and evaluation suites, as package data.

The folders sit at the top of the repo (`prompts/`, `scenarios/`, `evals/`), and
`pyproject.toml` maps them into the package as `coach.data.*`, so an editable install, a
plain `pip install .` and a built wheel all find them the same way, from any folder.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _folder(package: str) -> Path:
    # Wheels are installed unzipped, so the package data is a real folder on disk; the
    # loaders (jinja's FileSystemLoader, glob) need a Path, not a Traversable.
    return Path(str(files(package)))


def prompts_dir() -> Path:
    """The prompt templates (`prompts/*.j2`)."""
    return _folder("coach.data.prompts")


def scenarios_dir() -> Path:
    """The scenarios shipped with the coach (`scenarios/*.toml`)."""
    return _folder("coach.data.scenarios")


def evals_dir() -> Path:
    """The robustness suites and validity floors (`evals/`)."""
    return _folder("coach.data.evals")


def adversarial_dir() -> Path:
    """The adversarial suites (`evals/adversarial/*.jsonl`)."""
    return _folder("coach.data.evals.adversarial")
