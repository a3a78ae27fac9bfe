"""The act rules as data: one TOML file per act in `coach/acts/rules/`, loaded strictly.

Each file names its act (one of `coach.rubric.ACT_KINDS`) and lists phrase rules. A rule is
a regular expression over the lower-cased sentence, with how strongly it signals the act,
why, whether a negation just before it cancels it, whether it needs a question, and whether
it is a stock phrase. Each rule carries `examples`: sentences it must tag with its act.
Each file may carry `tagged` / `not_tagged`: whole replies that must (not) carry the act.
The test suite runs every example (tests/test_act_rules.py).

Word classes shared by rules (feelings, ...) live in `lexicon.toml` and are written
`{name}` inside a pattern.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from coach.errors import CoachError
from coach.rubric import ACT_KINDS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleSpec(_Strict):
    """One phrase rule, as written in a rule file."""

    why: str = Field(min_length=1)
    strength: int = Field(ge=1, le=2)
    pattern: str = Field(min_length=1)
    negatable: bool = True
    question: Literal["any", "only", "never"] = "any"
    stock: bool = False
    examples: list[str] = Field(default_factory=list)


class ActFile(_Strict):
    """One act's rule file."""

    act: str
    about: str = ""
    rule: list[RuleSpec] = Field(min_length=1)
    tagged: list[str] = Field(default_factory=list)
    not_tagged: list[str] = Field(default_factory=list)

    @field_validator("act")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in ACT_KINDS:
            raise ValueError(f"unknown act {v!r}; use one of {', '.join(ACT_KINDS)}")
        return v


class Lexicon(_Strict):
    """Shared word classes and the negation settings."""

    negators: list[str]
    negation_window: int = Field(ge=1, le=20)
    classes: dict[str, str]
    stock: list[str] = Field(default_factory=list)
    stopwords: list[str] = Field(default_factory=list)
    pleasant: list[str] = Field(default_factory=list)
    off_topic: list[str] = Field(default_factory=list)
    requests: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    """A compiled rule."""

    act: str
    pattern: re.Pattern[str]
    strength: int
    why: str
    negatable: bool
    question: str
    stock: bool
    anchored: bool


@dataclass(frozen=True)
class RuleSet:
    """Every act's compiled rules, a cheap "could this act fire at all?" test per act, and
    the lexicon."""

    rules: dict[str, tuple[Rule, ...]]
    # act -> (one alternation of its plain rules, or None; the rules to try regardless)
    any_of: dict[str, tuple[re.Pattern[str] | None, tuple[Rule, ...]]]
    lexicon: Lexicon
    files: dict[str, ActFile]
    version: str


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _expand(pattern: str, classes: dict[str, str], where: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in classes:
            raise CoachError(f"{where}: unknown word class {{{name}}} (lexicon.toml has "
                             f"{', '.join(sorted(classes))})")
        return classes[name]

    return _PLACEHOLDER.sub(sub, pattern)


def _read(root: Traversable, name: str) -> tuple[str, dict]:
    text = root.joinpath(name).read_text(encoding="utf-8")
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CoachError(f"coach/acts/{name}: not valid TOML: {e}") from None


def _compile(spec: RuleSpec, act: str, classes: dict[str, str], where: str) -> Rule:
    source = _expand(spec.pattern, classes, where)
    try:
        pattern = re.compile(source)
    except re.error as e:
        raise CoachError(f"{where}: rule {spec.why!r}: bad pattern: {e}") from None
    return Rule(act, pattern, spec.strength, spec.why, spec.negatable, spec.question,
                spec.stock, _anchored(source))


def _anchored(source: str) -> bool:
    """Whether the pattern anchors at a sentence's start or end anywhere (then it must be
    tried sentence by sentence: over the whole reply, ^ and $ mean the reply's ends)."""
    bare = re.sub(r"\\.|\[(\\.|[^\]])*\]", "", source)
    return "^" in bare or "$" in bare


def _any_of(rules: tuple[Rule, ...]) -> tuple[re.Pattern[str] | None, tuple[Rule, ...]]:
    """One alternation of the act's plain rules, searched once over the reply: most acts
    are absent from most replies, so one search skips them. Anchored rules (and those that
    look behind, which make an alternation slower) are tried sentence by sentence anyway."""
    plain = tuple(r for r in rules if not r.anchored and "(?<" not in r.pattern.pattern)
    always = tuple(r for r in rules if r not in plain)
    gate = re.compile("|".join(f"(?:{r.pattern.pattern})" for r in plain)) if plain else None
    return gate, always


@functools.cache
def load_rules() -> RuleSet:
    """The shipped rules (package data), loaded and compiled once per process."""
    return read_rules(resources.files("coach.acts"))


def read_rules(root: Traversable) -> RuleSet:
    """Load and compile `root`/lexicon.toml and every `root`/rules/*.toml.

    Raises:
        CoachError: a file is not valid TOML, breaks the schema, or has a bad pattern.
    """
    digest = hashlib.sha256()
    text, raw = _read(root, "lexicon.toml")
    digest.update(text.encode())
    try:
        lexicon = Lexicon.model_validate(raw)
    except ValidationError as e:
        raise CoachError(f"coach/acts/lexicon.toml: {e.errors()[0]['msg']}") from None
    rules: dict[str, tuple[Rule, ...]] = {}
    files: dict[str, ActFile] = {}
    folder = root.joinpath("rules")
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".toml"):
            continue
        where = f"coach/acts/rules/{entry.name}"
        text, raw = _read(folder, entry.name)
        digest.update(entry.name.encode() + b"\0" + text.encode())
        try:
            spec = ActFile.model_validate(raw)
        except ValidationError as e:
            err = e.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            raise CoachError(f"{where}: {loc}: {err['msg']}") from None
        if entry.name != f"{spec.act}.toml":
            raise CoachError(f"{where}: holds act {spec.act!r}; name the file {spec.act}.toml")
        files[spec.act] = spec
        rules[spec.act] = tuple(_compile(r, spec.act, lexicon.classes, where) for r in spec.rule)
    any_of = {act: _any_of(rs) for act, rs in rules.items()}
    return RuleSet(rules, any_of, lexicon, files, "acts-" + digest.hexdigest()[:8])
