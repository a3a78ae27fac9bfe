"""Tolerant readers for stored rows: ratings, readings, turn meta and scenario copies.

Authored files are strict (a typo in a scenario must be named), but a stored row may have
been written by a newer coach: a rating with a field this version does not know, a new
reading, a scenario with a new key. Such a row must still open. The rules, everywhere:

- unknown fields are ignored;
- unknown enum values are kept and shown as such where the type allows, else noted;
- a value that cannot be read at all drops to its default rather than failing the page.

Each reader returns a value, or raises `StoreError`; nothing else escapes.
"""

from __future__ import annotations

import json
import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from coach.core.errors import StoreError
from coach.core.reading import Reading
from coach.core.rubric import CRITERION_KEYS, HORSEMEN, Provenance, Rating
from coach.core.scenario import DIFFICULTY_ORDER, PRACTICES, SIGNS, Example, Scenario

# Generous: a stored copy deeper than this did not come from any coach.
_MAX_ROUNDS = 50


def _json(raw: str | bytes | None) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (ValueError, TypeError, RecursionError):
        return None


def _prune(model: type[BaseModel], data: Any) -> Any:
    """Keep only the fields `model` knows, recursively through nested models."""
    if not isinstance(data, dict):
        return data
    return {
        name: _prune_value(field.annotation, data[name])
        for name, field in model.model_fields.items()
        if name in data
    }


def _prune_value(tp: Any, value: Any) -> Any:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _prune(tp, value)
    origin, args = get_origin(tp), get_args(tp)
    if origin is list and args and isinstance(value, list):
        return [_prune_value(args[0], v) for v in value]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: _prune_value(args[1], v) for k, v in value.items()}
    if origin in (Union, types.UnionType):
        for arg in args:
            if isinstance(arg, type) and issubclass(arg, BaseModel) and isinstance(value, dict):
                return _prune(arg, value)
    return value


def _drop_failing(model: type[BaseModel], data: dict) -> BaseModel:
    """Validate, dropping whatever still fails: a list item, a dict entry, or a field with
    a default. Raises ValidationError when a required field itself cannot be read."""
    for _ in range(_MAX_ROUNDS):
        try:
            return model.model_validate(data)
        except ValidationError as e:
            if not _drop(model, data, e):
                raise
    return model.model_validate(data)


def _drop(model: type[BaseModel], data: dict, err: ValidationError) -> bool:
    """Remove what each error points at; False when nothing could be removed."""
    dropped = False
    for e in err.errors():
        loc = e["loc"]
        if not loc or loc[0] not in data:
            continue
        name, value = str(loc[0]), data[loc[0]]
        key = loc[1] if len(loc) >= 2 else None
        if isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            value[key] = _DROP
            dropped = True
        elif isinstance(value, dict) and key in value:
            del value[key]
            dropped = True
        elif name in model.model_fields and not model.model_fields[name].is_required():
            del data[name]
            dropped = True
    for name, value in list(data.items()):
        if isinstance(value, list):
            data[name] = [v for v in value if v is not _DROP]
    return dropped


_DROP = object()


# ------------------------------------------------------------------ ratings


def unreadable_rating(why: str) -> Rating:
    return Rating(
        status="unscored",
        reason=f"This rating was stored in a form this version of coach cannot read ({why}).",
        source=Provenance(backend="stored"),
    )


def rating_from_json(raw: str | bytes | None) -> Rating | None:
    """A stored rating; unknown fields ignored, unknown flags and statuses noted."""
    if raw is None or raw == "":
        return None
    data = _json(raw)
    if not isinstance(data, dict):
        return unreadable_rating("not a JSON object")
    # Ratings stored before the verdict and its provenance were split kept the provenance
    # (backend, model, prompt version, latency, usage, fallback) at the top level.
    flat = {k: data.pop(k) for k in Provenance.model_fields if k in data}
    if flat and not isinstance(data.get("source"), dict):
        data["source"] = flat
    data = _prune(Rating, data)
    notes = list(data.get("notes") or []) if isinstance(data.get("notes"), list) else []
    status = data.get("status", "scored")
    unknown_status = status not in ("scored", "unscored", "withheld")
    if unknown_status:
        data["status"] = "unscored"
        data["reason"] = (
            f"Stored as '{str(status)[:40]}', a kind of rating this version of coach does "
            "not know; its levels are not shown as a score."
        )
    flags = data.get("flags")
    if isinstance(flags, list):
        known = [f for f in flags if isinstance(f, str) and f in HORSEMEN]
        data["flags"] = known
        notes += [
            f"Also flagged '{str(f)[:40]}' (a flag this version of coach does not know)."
            for f in flags
            if f not in known
        ]
    if notes and all(isinstance(n, str) for n in notes):
        data["notes"] = notes
    try:
        return _drop_failing(Rating, data)  # type: ignore[return-value]
    except (ValidationError, RecursionError):
        return unreadable_rating("its fields do not match")


def reading_from_value(raw: object) -> Reading | str | None:
    """A stored reading: a known Reading, else the stored text as it is (from a newer coach)."""
    if raw is None or raw == "":
        return None
    try:
        return Reading(raw)
    except ValueError:
        return str(raw)


def meta_from_json(raw: str | bytes | None) -> dict:
    data = _json(raw)
    return data if isinstance(data, dict) else {}


# ------------------------------------------------------------------ scenarios


def scenario_from_json(raw: str | bytes) -> Scenario:
    """The scenario copy stored with a session, read tolerantly.

    Unknown fields are ignored; an unknown practice, sign or difficulty is kept as written
    (shown as such); examples and weights this version cannot read are left out.

    Raises:
        StoreError: the copy lacks something a conversation needs (say, its beats).
    """
    data = _json(raw)
    if not isinstance(data, dict):
        raise StoreError("its stored scenario is not a JSON object")
    data = _prune(Scenario, data)
    kept: dict[str, Any] = {}
    # Literal fields from a newer coach: validate with a stand-in, then put the value back.
    # (Words only: anything else is not a value this or any coach wrote.)
    if _unknown_word(data.get("practice"), PRACTICES):
        kept["practice"], data["practice"] = data["practice"], PRACTICES[0]
    if _unknown_word(data.get("difficulty"), tuple(DIFFICULTY_ORDER)):
        kept["difficulty"], data["difficulty"] = data["difficulty"], "medium"
    signs = data.get("signs")
    if (
        isinstance(signs, list)
        and signs
        and all(isinstance(s, str) for s in signs)
        and any(s not in SIGNS for s in signs)
    ):
        kept["signs"], data["signs"] = signs, [SIGNS[0]]
    weights = data.get("weights")
    if isinstance(weights, dict):
        data["weights"] = {
            k: v
            for k, v in weights.items()
            if k in CRITERION_KEYS and isinstance(v, int | float) and 0 <= v <= 5
        }
    if isinstance(data.get("examples"), list):
        # evaluation data only: a conversation never needs them, so keep the readable ones
        beats = data.get("beats")
        turns = len(beats) + 1 if isinstance(beats, list) else 0
        data["examples"] = [ex for ex in data["examples"] if _example_ok(ex, turns)]
    try:
        sc = _drop_failing(Scenario, data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise StoreError(f"its stored scenario cannot be read ({where}: {first['msg']})") from None
    except RecursionError:
        raise StoreError("its stored scenario is nested too deeply to read") from None
    if kept:  # shown as stored, in words
        words = {k: list(map(str, v)) if isinstance(v, list) else str(v) for k, v in kept.items()}
        sc = sc.model_copy(update=words)
    return sc  # type: ignore[return-value]


def _unknown_word(value: Any, known: tuple[str, ...]) -> bool:
    return isinstance(value, str) and value not in known


def _example_ok(raw: Any, turns: int) -> bool:
    try:
        return Example.model_validate(raw).turn <= turns
    except ValidationError:
        return False
