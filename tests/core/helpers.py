"""Builders for pure Turn/Tree values (no SQLite) shared by the core's tests."""

from __future__ import annotations

from coach.core.rubric import CRITERION_KEYS, Act, CriterionScore, Rating
from coach.core.session import SessionInfo, Tree, Turn


def rating(levels: dict[str, int] | None = None, *, overall: float | None = None,
           status: str = "scored", acts: tuple[str, ...] = (), flags: tuple[str, ...] = (),
           better: str = "") -> Rating:
    """A rating with the given levels (every other criterion unscored)."""
    return Rating(
        status=status,
        scores={k: CriterionScore(level=v) for k, v in (levels or {}).items()},
        acts=[Act(kind=k, quote=f"s{i}") for i, k in enumerate(acts)],
        flags=list(flags),
        overall=overall,
        better_reply=better,
    )


def all_levels(level: int) -> dict[str, int]:
    return dict.fromkeys(CRITERION_KEYS, level)


def turn(id: int, parent: int | None, role: str, idx: int, text: str = "", *, branch: int = 1,
         **kw) -> Turn:
    return Turn(id=id, session_id="s", parent_id=parent, branch=branch, role=role, idx=idx,
                text=text or f"{role} {idx}", **kw)


def tree(*turns: Turn) -> Tree:
    info = SessionInfo(id="s", scenario_id="sc", title="T", backend="heuristic",
                       created_at=0.0, updated_at=0.0)
    return Tree(info=info, turns=tuple(turns))
