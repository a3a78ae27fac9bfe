"""Scenario files: the schema, and loading TOML files into it with clear errors.

A scenario is one hard moment with one partner: who they are, what happened, what they
need but won't say, and scripted beats that let the offline partner react to each kind of
reply. The schema forbids unknown keys, so a typo in a user-written file is caught and named.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from coach.core.errors import ScenarioError
from coach.core.reading import Reading
from coach.core.response import ACT_FIELDS, LINE_FIELDS, Response, band_of
from coach.core.rubric import CRITERION_KEYS, MAX_LEVEL

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

# The largest shipped scenario is about 7 KiB. Every session stores a copy of its scenario,
# so a runaway (generated, pasted twice...) file must be refused, not copied into each one.
MAX_SCENARIO_BYTES = 256 * 1024

PRACTICES = (
    "open the doors for communication",
    "active listening",
    "spending quality time",
    "showing empathy",
    "maintaining physical intimacy",
    "prioritizing sexual satisfaction",
)
SIGNS = (
    "feeling unsafe or unsupported",
    "cold shoulders and apathy",
    "poor communication and misunderstandings",
    "distance in romantic moments",
    "loneliness",
    "lack of validation",
)
Practice = Literal[PRACTICES]  # type: ignore[valid-type]
Sign = Literal[SIGNS]  # type: ignore[valid-type]
Difficulty = Literal["easy", "medium", "hard"]
DIFFICULTY_ORDER = {"easy": 0, "medium": 1, "hard": 2}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Partner(_Strict):
    """The person the user talks to."""

    name: Text
    pronouns: Text
    age: int | None = Field(default=None, ge=16, le=110)
    background: Text
    speaking_style: Text
    mood: Text


class Variants(_Strict):
    """One line said differently by openness band: guarded (openness -1 or less), opening
    (0 to 2) and open (3 or more). A band left out uses the nearest one written."""

    guarded: Text | None = None
    opening: Text | None = None
    open: Text | None = None

    @model_validator(mode="after")
    def _some(self) -> Variants:
        if not (self.guarded or self.opening or self.open):
            raise ValueError("write at least one of guarded, opening, open")
        return self

    def pick(self, band: str) -> str:
        order = {
            "guarded": ("guarded", "opening", "open"),
            # a middle band leans open: a prod, not a retreat, when nothing else is written
            "opening": ("opening", "open", "guarded"),
            "open": ("open", "opening", "guarded"),
        }[band]
        return next(v for v in (getattr(self, b) for b in order) if v)


BeatLine = Text | Variants


def _said(value: BeatLine | None, band: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.pick(band)


class Beat(_Strict):
    """The partner's next line: one per way a reply can be read (the fallback every beat
    has), plus one per thing the reply did (coach/core/response.py says which is said when)."""

    moment: str = ""
    heard: BeatLine
    fixing: BeatLine
    dismissing: BeatLine
    self_focused: BeatLine
    neutral: BeatLine
    # What the reply did. Optional so that older files and stored session copies still
    # load and replay (their reading lines answer instead); `--check` asks for them.
    answer: BeatLine | None = None
    more: BeatLine | None = None
    apology: BeatLine | None = None
    put_down: BeatLine | None = None
    bare: BeatLine | None = None

    def line(self, reading: Reading, openness: int = 0) -> str:
        """The line for a reading (the pre-acts choice, and every response's last resort)."""
        return _said(getattr(self, reading.value), band_of(openness)) or ""

    def says(self, response: Response, reading: Reading, openness: int = 0) -> str:
        """The line for a response kind at this openness: its field, then LINE_FIELDS'
        fallbacks, then the line for the reading (a file written before act lines)."""
        band = band_of(openness)
        for name in LINE_FIELDS[response]:
            said = _said(getattr(self, name), band)
            if said:
                return said
        return self.line(reading, openness)

    def missing(self) -> list[str]:
        """The act lines this beat does not have yet."""
        return [name for name in ACT_FIELDS if getattr(self, name) is None]


class Endings(_Strict):
    felt_heard: Text
    not_heard: Text


class Example(_Strict):
    """A reply at a key moment with the levels a careful human rater would give it."""

    turn: int = Field(ge=1, description="the user turn this reply answers (1 = the opening)")
    reply: Text
    quality: Literal["strong", "mixed", "poor"]
    levels: dict[str, int]
    note: str = ""

    @model_validator(mode="after")
    def _levels_are_rubric_levels(self) -> Example:
        unknown = sorted(set(self.levels) - set(CRITERION_KEYS))
        if unknown:
            raise ValueError(f"unknown criteria {unknown}; use any of {', '.join(CRITERION_KEYS)}")
        bad = {k: v for k, v in self.levels.items() if not 0 <= v <= MAX_LEVEL}
        if bad:
            raise ValueError(f"levels must be 0, 1 or 2, got {bad}")
        if not self.levels:
            raise ValueError("give at least one criterion level")
        return self


class Scenario(_Strict):
    """One rehearsable moment. See scenarios/AUTHORING.md for a walk-through."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: Text
    practice: Practice
    signs: list[Sign] = Field(min_length=1)
    difficulty: Difficulty
    brief: Text
    partner: Partner
    situation: Text
    hidden_need: Text
    shuts_down: list[Text] = Field(min_length=1)
    opens_up: list[Text] = Field(min_length=1)
    weights: dict[str, float] = Field(default_factory=dict)
    opening: Text
    beats: list[Beat] = Field(min_length=1)
    endings: Endings
    start_openness: int = Field(default=0, ge=-5, le=5)
    felt_heard_at: int = Field(default=3, ge=-5, le=5)  # openness tops out at 5
    examples: list[Example] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        unknown = sorted(set(self.weights) - set(CRITERION_KEYS))
        if unknown:
            raise ValueError(
                f"weights: unknown criteria {unknown}; use any of {', '.join(CRITERION_KEYS)}"
            )
        negative = {k: v for k, v in self.weights.items() if not 0 <= v <= 5}
        if negative:
            raise ValueError(f"weights must be between 0 and 5, got {negative}")
        for i, ex in enumerate(self.examples):
            if ex.turn > self.turns:
                raise ValueError(
                    f"examples[{i}].turn is {ex.turn}, but the scenario has {self.turns} "
                    "user turns (one per beat, plus one)"
                )
        return self

    @property
    def turns(self) -> int:
        """How many replies the user gives before the ending: one per beat, plus the last."""
        return len(self.beats) + 1

    def weight(self, key: str) -> float:
        return float(self.weights.get(key, 1.0))


_ACT_LINE_HELP = {
    "answer": "answer = the answer to an open question, with the next layer of the story",
    "more": "more = what they say when a reflection lands",
    "apology": "apology = their response to an apology or to you owning your part",
    "put_down": "put_down = hurt or withdrawal at a put-down",
    "bare": "bare = a prod or a retreat after a bare 'ok'",
}


def act_line_gaps(sc: Scenario) -> list[str]:
    """What to add so the partner can answer what each reply did: one line per beat that
    lacks act lines, naming the fields (empty when none is missing). The schema keeps them
    optional so older files and stored copies still load; `coach scenarios --check` asks."""
    out, wanted = [], set()
    for i, beat in enumerate(sc.beats):
        missing = beat.missing()
        wanted.update(missing)
        if missing:
            out.append(f"beats[{i}]: add {', '.join(missing)}")
    if out:
        out.append(
            "what each line is: "
            + "; ".join(_ACT_LINE_HELP[m] for m in ACT_FIELDS if m in wanted)
            + " (see 'What the reply did' in scenarios/AUTHORING.md)"
        )
    return out


def _loc(loc: Iterable[object]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def format_validation_error(source: str, err: ValidationError) -> str:
    """One readable line per problem, each naming the file and the field."""
    lines = [f"{source}: not a valid scenario:"]
    for e in err.errors():
        field = _loc(e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if field == "id" and e["type"] == "string_pattern_mismatch":
            msg = (
                "ids are lowercase letters, digits and dashes; rename the file "
                "(e.g. my-scenario.toml) or set id = \"my-scenario\" in it"
            )
        elif e["type"] == "extra_forbidden" and len(e["loc"]) > 1 and (
            e["loc"][-1] in Scenario.model_fields
        ):
            msg = (
                f"'{e['loc'][-1]}' is a top-level field, but it sits under a [table]. In TOML "
                "every key after a [table] line belongs to that table: move it above the "
                "first [table]."
            )
        elif e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling; see scenarios/AUTHORING.md)"
        elif e["type"] == "missing":
            msg = "required field is missing"
        lines.append(f"  - {field}: {msg}" if e["loc"] else f"  - {msg}")
    return "\n".join(lines)


def parse_scenario(text: str, *, source: str, default_id: str) -> Scenario:
    """Parse TOML text into a Scenario.

    Args:
        text: the TOML document.
        source: how to name the document in errors (usually its path).
        default_id: the id to use when the file does not set one (its file stem).

    Raises:
        ScenarioError: the text is not TOML or does not match the schema.
    """
    if len(text) > MAX_SCENARIO_BYTES or len(text.encode("utf-8", "replace")) > MAX_SCENARIO_BYTES:
        raise ScenarioError(too_big_message(source))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{source}: not valid TOML: {e}") from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively
        raise ScenarioError(
            f"{source}: arrays or tables are nested too deeply to read; a scenario needs "
            "only a few levels (see scenarios/AUTHORING.md)."
        ) from None
    data.setdefault("id", default_id)
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(format_validation_error(source, e)) from None


def too_big_message(source: str) -> str:
    """The one line for a scenario file over the size cap."""
    return (
        f"{source}: the file is larger than {MAX_SCENARIO_BYTES // 1024} KiB, far more than a "
        "scenario needs (the shipped ones are under 10 KiB); shorten it."
    )
