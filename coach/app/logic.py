"""Plain functions behind the pages: no Streamlit here, so each is testable on its own."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from coach.application.render import branch_label, ending_words, score_word, when  # noqa: F401 (re-exported)
from coach.core.metrics import level_band
from coach.core.rubric import CRITERIA, Rating
from coach.core.scenario import Scenario
from coach.core.session import SessionInfo, Tree, Turn, branch_summary, user_turns

LEVEL_COLORS = {0: "red", 1: "orange", 2: "green"}
DIFFICULTY_COLORS = {"easy": "green", "medium": "orange", "hard": "red"}
PAGE_SIZE = 20


# ------------------------------------------------------------------ scenarios


def filter_scenarios(
    library: dict[str, Scenario],
    text: str = "",
    difficulties: Iterable[str] = (),
    practices: Iterable[str] = (),
) -> list[Scenario]:
    """Scenarios matching every filter given (an empty filter matches all)."""
    words = text.lower().split()
    diffs, pracs = set(difficulties), set(practices)
    out = []
    for sc in library.values():
        hay = " ".join((sc.title, sc.brief, sc.practice, sc.partner.name, *sc.signs)).lower()
        if words and not all(w in hay for w in words):
            continue
        if diffs and sc.difficulty not in diffs:
            continue
        if pracs and sc.practice not in pracs:
            continue
        out.append(sc)
    return out


# ------------------------------------------------------------------ ratings


def level_badges(rating: Rating) -> str:
    """The eight criteria as colored badges: green = yes, orange = partly, red = not yet."""
    out = []
    for c in CRITERIA:
        lvl = rating.level(c.key)
        if lvl is None:
            out.append(f":gray-badge[{c.name} –]")
        else:
            out.append(f":{LEVEL_COLORS[lvl]}-badge[{c.name} {'●' * lvl}{'○' * (2 - lvl)}]")
    return " ".join(out)


BAND_WORDS = {0: "not yet", 1: "partly", 2: "strong"}
BAR_CELLS = 10


def skill_bar(name: str, mean: float | None) -> str:
    """One skill's bar for the debrief, coloured by its level (red, orange, green)."""
    if mean is None:
        return f":gray[{'░' * BAR_CELLS}] **{name}** – not scored"
    band = level_band(mean)
    filled = round(max(0.0, min(mean, 2.0)) / 2 * BAR_CELLS)
    bar = "█" * filled + "░" * (BAR_CELLS - filled)
    return f":{LEVEL_COLORS[band]}[{bar}] **{name}** {mean:.1f} · {BAND_WORDS[band]}"


def evidence_of(rating: Rating | None) -> list[str]:
    if rating is None or rating.status != "scored":
        return []
    return [q for s in rating.scores.values() for q in s.evidence]


def evidence_rows(rating: Rating) -> list[tuple[str, int, list[str]]]:
    """(criterion name, level, evidence quotes) for each scored criterion."""
    return [
        (c.name, s.level, list(s.evidence))
        for c in CRITERIA
        if (s := rating.scores.get(c.key)) is not None
    ]


# ------------------------------------------------------------------ sessions and branches


def session_label(info: SessionInfo) -> str:
    score = "" if info.mean_score is None else f", average {info.mean_score:.0f}/100"
    branches = f", {info.branches} branches" if info.branches > 1 else ""
    done = ", finished" if info.ended else ""
    counts = f"{info.user_turns} replies in all{score}{branches}{done}"
    return f"{when(info.updated_at)} · {info.title} ({counts})"


def branch_row(tree: Tree, branch: int) -> dict:
    """One row of the branches table."""
    s = branch_summary(tree, branch)
    return {
        "Branch": branch,
        "Starts from": "the beginning"
        if s.fork is None
        else f"reply {s.fork[1]} of branch {s.fork[0]}",
        "Replies": s.replies,
        "Average score": None if s.mean_score is None else round(s.mean_score),
        "Ending": ending_words(s.ending),
    }


def tree_dot(tree: Tree) -> str:
    """The branches of a session as a Graphviz tree. Labels hold numbers only, no user text."""
    lines = [
        "digraph branches {",
        "rankdir=LR;",
        'node [shape=box, style="rounded,filled", fillcolor="#f0f2f6", fontname="sans-serif"];',
        'edge [fontname="sans-serif", fontsize=10];',
    ]
    for b in tree.branch_numbers():
        s = branch_row(tree, b)
        score = "" if s["Average score"] is None else f"\\navg {s['Average score']}/100"
        lines.append(f'v{b} [label="Branch {b}\\n{s["Replies"]} replies{score}"];')
        fork = tree.fork_of(b)
        if fork is not None:
            lines.append(f'v{fork[0]} -> v{b} [label="new reply {fork[1]}"];')
    lines.append("}")
    return "\n".join(lines)


def user_turn_choices(path: list[Turn]) -> list[int]:
    return [t.idx for t in user_turns(path)]


# ------------------------------------------------------------------ progress


@dataclass(frozen=True)
class ProgressPoint:
    session: str
    when: float
    title: str
    levels: dict[str, float]
    overall: float | None


def progress(rated: list[tuple[SessionInfo, Turn]]) -> list[ProgressPoint]:
    """Per session (oldest first): mean level per criterion over its scored replies."""
    acc: dict[str, tuple[SessionInfo, list[Turn]]] = {}
    for info, turn in rated:
        if turn.rating is None or turn.rating.status != "scored":
            continue
        acc.setdefault(info.id, (info, []))[1].append(turn)
    out = []
    for info, turns in sorted(acc.values(), key=lambda it: it[0].created_at):
        levels = {}
        for c in CRITERIA:
            vals = [t.rating.level(c.key) for t in turns if t.rating.level(c.key) is not None]
            if vals:
                levels[c.name] = round(sum(vals) / len(vals), 2)
        overalls = [t.rating.overall for t in turns if t.rating.overall is not None]
        out.append(
            ProgressPoint(
                session=info.id,
                when=info.created_at,
                title=info.title,
                levels=levels,
                overall=round(sum(overalls) / len(overalls), 1) if overalls else None,
            )
        )
    return out


def progress_labels(points: list[ProgressPoint], width: int = 22) -> list[str]:
    """One x-axis label per point: its date and scenario ("Dec 01 · Humiliated at work").

    Labels must be unique (the axis is one category per label): the time of day is added
    when two share a date and scenario, then a number if they still match.
    """
    def short(title: str) -> str:
        return title if len(title) <= width else title[: width - 1].rstrip(" ,") + "…"

    day = [dt.datetime.fromtimestamp(p.when).strftime("%b %d") for p in points]
    minute = [dt.datetime.fromtimestamp(p.when).strftime("%b %d %H:%M") for p in points]
    first = [f"{d} · {short(p.title)}" for d, p in zip(day, points, strict=True)]
    out, seen = [], Counter()
    for i, p in enumerate(points):
        label = first[i] if first.count(first[i]) == 1 else f"{minute[i]} · {short(p.title)}"
        seen[label] += 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out
