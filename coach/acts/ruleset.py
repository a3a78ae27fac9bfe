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
    source: str = ""  # the pattern as written, word classes filled in


@dataclass(frozen=True)
class RuleSet:
    """Every act's compiled rules, a cheap "could this act fire at all?" test per act, and
    the lexicon."""

    rules: dict[str, tuple[Rule, ...]]
    # act -> its gate; patterns search the sentences joined by newlines in multiline mode
    # (so ^ and $ are a sentence's ends)
    gates: dict[str, Gate]
    lexicon: Lexicon
    files: dict[str, ActFile]
    version: str


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _expand(pattern: str, classes: dict[str, str], where: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in classes:
            raise CoachError(
                f"{where}: unknown word class {{{name}}} (lexicon.toml has "
                f"{', '.join(sorted(classes))})"
            )
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
        re.compile(source)
        pattern = re.compile(factored([source]))
    except re.error as e:
        raise CoachError(f"{where}: rule {spec.why!r}: bad pattern: {e}") from None
    return Rule(
        act,
        pattern,
        spec.strength,
        spec.why,
        spec.negatable,
        spec.question,
        spec.stock,
        _anchored(source),
        source,
    )


def _anchored(source: str) -> bool:
    """Whether the pattern anchors at a sentence's start or end anywhere (then it must be
    tried sentence by sentence: over the whole reply, ^ and $ mean the reply's ends)."""
    bare = re.sub(r"\\.|\[(\\.|[^\]])*\]", "", source)
    return "^" in bare or "$" in bare


def alternatives(source: str) -> list[str]:
    """The top-level alternatives of a pattern (split at | outside groups and classes)."""
    out, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if source[i + 1 : i + 2] == "]" or source[i + 1 : i + 3] == "^]":
                i += 2 if source[i + 1] == "]" else 3
                continue
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            out.append(source[start:i])
            start = i + 1
        i += 1
    out.append(source[start:])
    return out


def factored(sources: list[str]) -> str:
    """One pattern for all `sources`, with the word boundary most alternatives start with
    taken out in front: the engine then tries the alternatives only where a word starts or
    ends, instead of at every character (several times faster; the same matches)."""
    bounded, anchored, other = [], [], []
    for src in sources:
        for alt in alternatives(src):
            # "(?<!say )\bsorry" is "\b(?<!say )sorry": both assertions hold at one place
            m = _LOOKBEHINDS_THEN_B.match(alt)
            if m:
                alt = "\\b" + m.group(1) + alt[m.end() :]
            if alt.startswith("\\b"):
                bounded.append(alt[2:])
            elif alt.startswith("^"):
                anchored.append(alt[1:])
            else:
                other.append(alt)
    parts = [f"\\b(?:{'|'.join(bounded)})"] if bounded else []
    parts += [f"^(?:{'|'.join(anchored)})"] if anchored else []
    return "|".join(parts + [f"(?:{a})" for a in other])


_LOOKBEHINDS_THEN_B = re.compile(r"((?:\(\?<[!=][^()]*\))+)\\b")


_META = set("()[]{}.\\|^$*+?")


def leading_text(alt: str) -> str:
    """The literal text every match of alternative `alt` starts with ("" if none), read
    from the pattern's source: letters up to the first metacharacter, less a letter made
    optional by the quantifier after it."""
    out = []
    for c in alt:
        if c in _META:
            if c in "?*{" and out:
                out.pop()
            break
        out.append(c)
    return "".join(out)


@dataclass(frozen=True)
class Gate:
    """A cheap test of whether any rule of an act could match, before any regex runs:
    the literal texts the alternatives start with, and a pattern for the rest."""

    texts: tuple[str, ...]
    rest: re.Pattern[str] | None
    full: re.Pattern[str]


def _gate(rules: tuple[Rule, ...]) -> Gate:
    texts, rest = [], []
    for r in rules:
        for alt in alternatives(r.source):
            bare = alt[2:] if alt.startswith("\\b") else alt
            lead = leading_text(bare)
            if len(lead) >= 3:
                texts.append(lead)
            else:
                rest.append(alt)
    return Gate(
        tuple(dict.fromkeys(texts)),
        re.compile(factored(rest), re.MULTILINE) if rest else None,
        re.compile(factored([r.source for r in rules]), re.MULTILINE),
    )


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
    gates = {act: _gate(rs) for act, rs in rules.items()}
    return RuleSet(rules, gates, lexicon, files, "acts-" + digest.hexdigest()[:8])
