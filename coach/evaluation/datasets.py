"""Datasets the judge is measured on, each read from a path and turned into `Item`s.

- gold: the examples inside the scenario files (levels a careful rater gave);
- epitome: EPITOME's three CSV files (levels 0-2 per reply, one file per mechanism);
- lend-an-ear: whole conversations rated 1-5 on six dimensions by experts;
- esconv: ESConv supporter utterances, each with its main support strategy;
- annomi: AnnoMI therapist utterances with the experts' MI codes, grouped by transcript.

External data is never copied into the repo: it is read from a path given on the command
line or in `COACH_EPITOME_DIR` / `COACH_LEND_AN_EAR_DIR` / `COACH_ESCONV_DIR` /
`COACH_ANNOMI_DIR`. A missing path is a `DatasetMissing`
with a message saying how to provide it, so callers can skip it cleanly; a file that is there
but malformed (a missing column, a level that is not a number, bad encoding) is a
`CoachError` naming the file and line.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from coach.core.errors import CoachError
from coach.core.rubric import CRITERIA
from coach.core.session import Line
from coach.evaluation.codes import ANNOMI_VALUES, ESCONV_STRATEGIES

EPITOME_FILES = {
    "emotional_reactions": "emotional-reactions-reddit.csv",
    "interpretations": "interpretations-reddit.csv",
    "explorations": "explorations-reddit.csv",
}
# EPITOME mechanism -> rubric criterion, from the rubric itself (design-notes.md table).
EPITOME_CRITERION = {c.epitome: c.key for c in CRITERIA if c.epitome}
# Lend an Ear dimension -> (rubric criterion, inverse?): inverse criteria have 2 = none of it.
LAE_CRITERION = {
    c.lend_an_ear: (c.key, c.inverse_of is not None) for c in CRITERIA if c.lend_an_ear
}
LAE_DIMENSIONS = (
    "validating_emotions",
    "encouraging_elaboration",
    "demonstrating_understanding",
    "advice_giving",
    "self_oriented",
    "dismissing_emotions",
)
ENV = {
    "epitome": "COACH_EPITOME_DIR",
    "lend-an-ear": "COACH_LEND_AN_EAR_DIR",
    "esconv": "COACH_ESCONV_DIR",
    "annomi": "COACH_ANNOMI_DIR",
}
NAMES = ("gold", "epitome", "lend-an-ear", "esconv", "annomi")
ESCONV_FILE = "supporter-utterances.csv"
ANNOMI_FILE = "therapist-utterances.csv"


class DatasetMissing(Exception):  # noqa: N818 - it is a condition, not a bug
    """The dataset's folder or files are not there; the message says how to provide them."""


@dataclass(frozen=True)
class Turn:
    """One reply to rate, with the conversation before it."""

    reply: str
    history: tuple[Line, ...] = ()

    def key_text(self) -> str:
        """The text that identifies this turn in the cache."""
        ctx = "\n".join(f"{ln.role}: {ln.text}" for ln in self.history)
        return ctx + "\n=> " + self.reply


@dataclass
class Item:
    """One labelled unit: a reply (or a conversation's supporter turns) and its gold labels.

    Attributes:
        id: unique within the dataset.
        turns: the replies a judge rates (one, or every supporter turn of a conversation).
        gold: label name -> gold value (levels 0-2, or 1-5 means for Lend an Ear).
        group: a grouping key (EPITOME: seeker post, used for the held-out halves;
            AnnoMI: the transcript).
        meta: other labels as text (ESConv: "strategy"; AnnoMI: "reflection", "question",
            "therapist_input", "mi_quality"; the gold set: "quality").
    """

    id: str
    turns: list[Turn]
    gold: dict[str, float]
    group: str = ""
    meta: dict[str, str] = field(default_factory=dict)


def half_of(group: str) -> str:
    """'A' or 'B': a stable split by seeker post, so one post never lands in both halves."""
    return "AB"[hashlib.md5(group.encode()).digest()[0] % 2]


def resolve_path(name: str, given: str | Path | None) -> Path:
    """The folder for dataset `name`: the given path, else its environment variable.

    Raises:
        DatasetMissing: neither is set, or the folder does not exist.
    """
    env = ENV.get(name, "")
    raw = given or os.environ.get(env)
    if not raw:
        raise DatasetMissing(f"{name}: no path given; pass --dataset {name}=DIR or set {env}")
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise DatasetMissing(
            f"{name}: {path} is not a folder; pass --dataset {name}=DIR or set {env}"
        )
    return path


def _read_csv(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV file with their line numbers, checked for the needed columns.

    Raises:
        CoachError: the file cannot be read or decoded, lacks a column, or has a short row;
            the message names the file (and the line).
    """
    rows = []
    try:
        # utf-8-sig: a byte-order mark (spreadsheet exports) must not rename the first column.
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in columns if c not in (reader.fieldnames or ())]
            if missing:
                raise CoachError(
                    f"{path}: missing column(s) {', '.join(missing)} "
                    f"(found: {', '.join(reader.fieldnames or ()) or 'no header'})"
                )
            for row in reader:
                if any(row.get(c) is None for c in columns):
                    raise CoachError(f"{path}, line {reader.line_num}: the row has too few fields")
                rows.append((reader.line_num, row))
    except UnicodeDecodeError as e:
        raise CoachError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except csv.Error as e:
        raise CoachError(f"{path}: not a readable CSV file ({e})") from None
    except OSError as e:
        raise CoachError(f"{path}: cannot read ({e.strerror or e})") from None
    return rows


def _number(path: Path, line: int, column: str, raw: str, lo: float, hi: float) -> float:
    """`raw` as a number in [lo, hi]; CoachError naming the file, line and column if not."""
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not lo <= value <= hi:  # also false for NaN
        raise CoachError(
            f"{path}, line {line}: {column}={raw!r} is not a number from {lo:g} to {hi:g}"
        )
    return value


def load_epitome(directory: Path) -> list[Item]:
    """One item per response post, with its level on each mechanism file present.

    Raises:
        DatasetMissing: none of the three files is in `directory`.
        CoachError: a file is malformed; the message names the file and line.
    """
    items: dict[str, Item] = {}
    found = False
    for mech, fname in EPITOME_FILES.items():
        path = directory / fname
        if not path.is_file():
            continue
        found = True
        seen: dict[str, int] = {}
        cols = ("sp_id", "rp_id", "seeker_post", "response_post", "level")
        for line, row in _read_csv(path, cols):
            # A pair can be listed twice; the n-th listing in each file is one item.
            pair = f"{row['sp_id']}/{row['rp_id']}"
            seen[pair] = seen.get(pair, 0) + 1
            key = f"{pair}#{seen[pair]}"
            item = items.get(key)
            if item is None:
                turn = Turn(row["response_post"], (Line("partner", row["seeker_post"]),))
                item = items[key] = Item(key, [turn], {}, group=row["sp_id"])
            level = _number(path, line, "level", row["level"], 0, 2)
            if level != int(level):
                raise CoachError(f"{path}, line {line}: level={row['level']!r} is not 0, 1 or 2")
            item.gold[mech] = int(level)
    if not found:
        raise DatasetMissing(f"epitome: none of {', '.join(EPITOME_FILES.values())} in {directory}")
    return list(items.values())


_SPEAKER = re.compile(r"^\s*(Seeker|Supporter)\s*:\s*(.*)$", re.IGNORECASE)


def parse_conversation(text: str) -> list[tuple[str, str]]:
    """Split a `Seeker: …` / `Supporter: …` transcript into (speaker, text) lines.

    A line without a speaker prefix continues the previous line.
    """
    out: list[tuple[str, str]] = []
    for raw in text.splitlines():
        m = _SPEAKER.match(raw)
        if m:
            out.append((m.group(1).lower(), m.group(2).strip()))
        elif raw.strip() and out:
            who, said = out[-1]
            out[-1] = (who, f"{said}\n{raw.strip()}")
    return out


def load_lend_an_ear(directory: Path) -> list[Item]:
    """One item per conversation: its supporter turns, and the mean of the experts present.

    Raises:
        DatasetMissing: conversations.csv or every expert*_ratings.csv file is absent.
        CoachError: a file is malformed; the message names the file and line.
    """
    conv_path = directory / "conversations.csv"
    experts = sorted(directory.glob("expert*_ratings.csv"))
    if not conv_path.is_file() or not experts:
        raise DatasetMissing(
            f"lend-an-ear: need conversations.csv and expert*_ratings.csv in {directory}"
        )
    ratings: dict[str, list[dict[str, float]]] = {}
    for path in experts:
        for line, row in _read_csv(path, ("conversation_id", *LAE_DIMENSIONS)):
            ratings.setdefault(row["conversation_id"], []).append(
                {dim: _number(path, line, dim, row[dim], 1, 5) for dim in LAE_DIMENSIONS}
            )
    items = []
    for _, row in _read_csv(conv_path, ("conversation_id", "full_conversation")):
        cid = row["conversation_id"]
        if cid not in ratings:
            continue
        lines = parse_conversation(row["full_conversation"])
        turns, history = [], []
        for who, said in lines:
            if who == "supporter":
                turns.append(Turn(said, tuple(history)))
                history.append(Line("user", said))
            else:
                history.append(Line("partner", said))
        if not turns:
            continue
        gold = {
            dim: sum(r[dim] for r in ratings[cid]) / len(ratings[cid])
            for dim in LAE_DIMENSIONS
        }
        items.append(Item(cid, turns, gold, group=cid, meta={"experts": str(len(ratings[cid]))}))
    return items


def _one_of(path: Path, line: int, column: str, raw: str, allowed: tuple[str, ...]) -> str:
    """`raw` (trimmed) if it is one of `allowed`; CoachError naming file, line and column if not."""
    value = raw.strip()
    if value not in allowed:
        raise CoachError(
            f"{path}, line {line}: {column}={raw!r} is not one of {', '.join(allowed)}"
        )
    return value


def _file(directory: Path, name: str, fname: str) -> Path:
    path = directory / fname
    if not path.is_file():
        raise DatasetMissing(f"{name}: no {fname} in {directory}")
    return path


def load_esconv(directory: Path) -> list[Item]:
    """One item per supporter utterance, answering the seeker's line before it.

    `meta["strategy"]` is the utterance's main strategy (ESConv gives one). An empty
    `seeker_before` (the start of a conversation) means no context.

    Raises:
        DatasetMissing: supporter-utterances.csv is not in `directory`.
        CoachError: the file is malformed (missing column, short row, empty response,
            unknown strategy, bad encoding); the message names the file and line.
    """
    path = _file(directory, "esconv", ESCONV_FILE)
    items = []
    for line, row in _read_csv(path, ("seeker_before", "response", "strategy")):
        strategy = _one_of(path, line, "strategy", row["strategy"], ESCONV_STRATEGIES)
        if not row["response"].strip():
            raise CoachError(f"{path}, line {line}: the response is empty")
        seeker = row["seeker_before"].strip()
        history = (Line("partner", seeker),) if seeker else ()
        items.append(
            Item(f"line{line}", [Turn(row["response"], history)], {}, meta={"strategy": strategy})
        )
    return items


def load_annomi(directory: Path) -> list[Item]:
    """One item per therapist utterance, answering the client's line before it.

    `group` is the transcript (the per-transcript ratio is counted over it); `meta` holds the
    experts' `reflection`, `question` and `therapist_input` codes and the `mi_quality`.

    Raises:
        DatasetMissing: therapist-utterances.csv is not in `directory`.
        CoachError: the file is malformed (missing column, short row, empty utterance, a code
            outside MI's values, bad encoding); the message names the file and line.
    """
    path = _file(directory, "annomi", ANNOMI_FILE)
    cols = ("transcript_id", "utterance_id", "client_before", "utterance_text", *ANNOMI_VALUES)
    items = []
    for line, row in _read_csv(path, cols):
        if not row["utterance_text"].strip():
            raise CoachError(f"{path}, line {line}: the utterance_text is empty")
        if not row["transcript_id"].strip():
            raise CoachError(f"{path}, line {line}: the transcript_id is empty")
        meta = {f: _one_of(path, line, f, row[f], vals) for f, vals in ANNOMI_VALUES.items()}
        meta["mi_quality"] = (row.get("mi_quality") or "").strip()
        client = row["client_before"].strip()
        history = (Line("partner", client),) if client else ()
        tid = row["transcript_id"].strip()
        items.append(
            Item(
                f"{tid}/{row['utterance_id'].strip() or f'line{line}'}",
                [Turn(row["utterance_text"], history)],
                {},
                group=tid,
                meta=meta,
            )
        )
    return items


def load_gold(scenario_dir: Path | None = None) -> list[Item]:
    """The examples in the scenario files, each with the scenario line it answers."""
    from coach.adapters.scenario_files import load_library

    items = []
    for sc in load_library(scenario_dir).values():
        for i, ex in enumerate(sc.examples):
            history = [Line("partner", sc.opening)]
            if ex.turn > 1 and ex.turn - 2 < len(sc.beats):
                history += [Line("user", "…"), Line("partner", sc.beats[ex.turn - 2].heard)]
            turn = Turn(ex.reply, tuple(history))
            gold = {k: float(v) for k, v in ex.levels.items()}
            items.append(
                Item(f"{sc.id}#{i}", [turn], gold, group=sc.id, meta={"quality": ex.quality})
            )
    return items


# The datasets that take a folder, by the name `--dataset NAME=DIR` uses, and the key each
# one's figures have in a report.
REPORT_KEY = {
    "gold": "gold",
    "epitome": "epitome",
    "lend-an-ear": "lend_an_ear",
    "esconv": "esconv",
    "annomi": "annomi",
}
LOADERS = {
    "epitome": load_epitome,
    "lend-an-ear": load_lend_an_ear,
    "esconv": load_esconv,
    "annomi": load_annomi,
}
