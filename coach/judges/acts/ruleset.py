"""The act rules as data: one TOML file per act in `coach/judges/acts/rules/`, loaded strictly.

Each file names its act (one of `coach.core.rubric.ACT_KINDS`) and lists phrase rules. A rule is
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
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from coach.core.errors import CoachError
from coach.core.rubric import ACT_KINDS


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
class Needs:
    """Texts one of which every match of a rule contains (None: no such texts)."""

    texts: frozenset[str] | None

    def may_match(self, present: frozenset[str]) -> bool:
        """False only when the rule cannot match a sentence holding just the `present`
        texts (of all the rules' needed texts, those found in it)."""
        return self.texts is None or not self.texts.isdisjoint(present)


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
    source: str = ""  # the pattern as written, word classes filled in
    # the pattern split in two: the alternatives that need some text (tried only when it is
    # there) and the rest (always tried); together they match what `pattern` matches
    parts: tuple[tuple[Needs, re.Pattern[str]], ...] = ()


_GRAM = 3


@dataclass(frozen=True)
class RuleSet:
    """Every act's compiled rules, and the lexicon."""

    rules: dict[str, tuple[Rule, ...]]
    lexicon: Lexicon
    files: dict[str, ActFile]
    version: str
    # every text some rule needs: a sentence is checked for each once, and a rule is tried
    # only if one of its texts is among those found
    needed: tuple[str, ...] = ()
    flat: tuple[Rule, ...] = ()  # every rule, act by act, in file order
    by_text: dict[str, tuple[int, ...]] = field(default_factory=dict)  # text -> rules needing it
    always: tuple[int, ...] = ()  # rules with a part that needs no text
    # needed texts filed under one three-letter piece of each (its rarest among them), and
    # those too short to have one: testing each of 1,500 texts against every sentence cost
    # more than all the rules did, while a sentence holds only a few dozen pieces
    _by_gram: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _short: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        counts: dict[str, int] = {}
        for t in self.needed:
            for g in {t[i : i + _GRAM] for i in range(len(t) - _GRAM + 1)}:
                counts[g] = counts.get(g, 0) + 1
        by_gram: dict[str, list[str]] = {}
        short = []
        for t in self.needed:
            grams = [t[i : i + _GRAM] for i in range(len(t) - _GRAM + 1)]
            if not grams:
                short.append(t)
                continue
            by_gram.setdefault(min(grams, key=lambda g: (counts[g], g)), []).append(t)
        object.__setattr__(self, "_by_gram", {g: tuple(ts) for g, ts in by_gram.items()})
        object.__setattr__(self, "_short", tuple(short))

    def present(self, sentence: str) -> frozenset[str]:
        """The needed texts that `sentence` contains."""
        # A text the sentence contains has its filed piece among the sentence's pieces, so
        # only the texts filed under those pieces need the substring test.
        index = self._by_gram
        found = [t for t in self._short if t in sentence]
        for g in {sentence[i : i + _GRAM] for i in range(len(sentence) - _GRAM + 1)}:
            for t in index.get(g, ()):
                if t in sentence:
                    found.append(t)
        return frozenset(found)

    def candidates(self, present: frozenset[str]) -> list[Rule]:
        """The rules that may match a sentence holding the `present` texts, in order."""
        picked = set(self.always)
        for t in present:
            picked.update(self.by_text[t])
        return [self.flat[i] for i in sorted(picked)]


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
        raise CoachError(f"coach/judges/acts/{name}: not valid TOML: {e}") from None


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
        source,
        _parts(source),
    )


def _parts(source: str) -> tuple[tuple[Needs, re.Pattern[str]], ...]:
    needy, free, texts = [], [], []
    for alt in alternatives(source):
        found = required_texts(alt)
        if found is None:
            free.append(alt)
        else:
            needy.append(alt)
            texts += found
    out = []
    if needy:
        out.append((Needs(frozenset(texts)), re.compile(factored(needy))))
    if free:
        out.append((Needs(None), re.compile(factored(free))))
    return tuple(out)


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


def required_texts(alt: str) -> tuple[str, ...] | None:
    """Texts one of which every match of alternative `alt` contains (None if it cannot be
    told), read from the pattern's source: a run of plain characters outside any group or
    class, or a group whose every branch has such texts. The most selective candidate wins.
    """
    cands: list[tuple[str, ...]] = []
    run: list[str] = []

    def close() -> None:
        if run:
            cands.append(("".join(run),))
            run.clear()

    i = 0
    while i < len(alt):
        c = alt[i]
        if c == "\\":
            close()
            i = _escape_end(alt, i)
        elif c == "[":
            close()
            i = _class_end(alt, i)
        elif c == "(":
            close()
            end = _group_end(alt, i)
            body = alt[i + 1 : end]
            optional = alt[end + 1 : end + 2] in ("?", "*") or alt[end + 1 : end + 3] == "{0"
            if not body.startswith("?") or body.startswith("?:"):
                inner = body[2:] if body.startswith("?:") else body
                branches = [required_texts(b) for b in alternatives(inner)]
                if not optional and all(branches):
                    cands.append(tuple(t for b in branches for t in b))  # type: ignore[union-attr]
            i = end + 1
        elif c in "?*{":
            if run:
                run.pop()  # the character before is optional
            close()
            i = alt.index("}", i) + 1 if c == "{" else i + 1
        elif c in "+.^$|)":
            close()
            i += 1
        else:
            run.append(c)
            i += 1
    close()
    good = [c for c in cands if min(len(t.strip()) for t in c) >= MIN_REQUIRED]
    if not good:
        return None
    return max(good, key=lambda c: (min(len(t) for t in c), -len(c)))


def _escape_end(source: str, i: int) -> int:
    """The index just past the escape that starts at `source[i]` (a backslash)."""
    kind = source[i + 1 : i + 2]
    width = {"u": 4, "U": 8, "x": 2}.get(kind)
    if width:
        return i + 2 + width
    if kind == "N" and source[i + 2 : i + 3] == "{":
        return source.index("}", i) + 1
    return i + 2


def _group_end(source: str, i: int) -> int:
    """The index of the parenthesis that closes the group opening at `source[i]`."""
    depth, j = 0, i
    while j < len(source):
        c = source[j]
        if c == "\\":
            j += 2
            continue
        if c == "[":
            j = _class_end(source, j)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return len(source) - 1


def _class_end(source: str, i: int) -> int:
    """The index just past the character class that starts at `source[i]`."""
    j = i + 1
    if source[j : j + 1] == "^":
        j += 1
    if source[j : j + 1] == "]":
        j += 1
    while j < len(source) and source[j] != "]":
        j += 2 if source[j] == "\\" else 1
    return j + 1


MIN_REQUIRED = 3


@functools.cache
def load_rules() -> RuleSet:
    """The shipped rules (package data), loaded and compiled once per process."""
    return read_rules(resources.files("coach.judges.acts"))


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
        raise CoachError(f"coach/judges/acts/lexicon.toml: {e.errors()[0]['msg']}") from None
    rules: dict[str, tuple[Rule, ...]] = {}
    files: dict[str, ActFile] = {}
    folder = root.joinpath("rules")
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".toml"):
            continue
        where = f"coach/judges/acts/rules/{entry.name}"
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
    flat = tuple(r for rs in rules.values() for r in rs)
    by_text: dict[str, list[int]] = {}
    always = []
    for i, r in enumerate(flat):
        for needs, _ in r.parts:
            if needs.texts is None:
                always.append(i)
            else:
                for t in needs.texts:
                    by_text.setdefault(t, []).append(i)
    return RuleSet(
        rules, lexicon, files, "acts-" + digest.hexdigest()[:8], tuple(sorted(by_text)), flat,
        {t: tuple(dict.fromkeys(ix)) for t, ix in by_text.items()}, tuple(dict.fromkeys(always)),
    )
