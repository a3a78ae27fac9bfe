"""The next drill: the weakest skill over the last few sessions, and the scenario that
trains it best. One rule, for the app's Review page and `coach history` alike."""

from __future__ import annotations

from dataclasses import dataclass

from coach.core.rubric import CRITERIA, Criterion
from coach.core.scenario import DIFFICULTY_ORDER, Scenario
from coach.core.session import SessionInfo, Turn

LAST_SESSIONS = 5


@dataclass(frozen=True)
class Drill:
    """What to practise next.

    Attributes:
        criterion: the weakest skill.
        level: its mean level (0-2) over the scored replies of those sessions.
        sessions: how many sessions that mean is over (at most LAST_SESSIONS).
        scenario: the scenario that weighs that skill most.
    """

    criterion: Criterion
    level: float
    sessions: int
    scenario: Scenario


def best_scenario_for(key: str, library: dict[str, Scenario]) -> Scenario | None:
    """The scenario whose rating weighs criterion `key` most (absolutely, then as a share
    of all its weights); the easier one on a tie, so a drill starts where it can succeed."""

    def rank(sc: Scenario) -> tuple:
        total = sum(sc.weight(c.key) for c in CRITERIA) or 1.0
        w = sc.weight(key)
        return (-w, -w / total, DIFFICULTY_ORDER[sc.difficulty], sc.title, sc.id)

    return min(library.values(), key=rank, default=None)


def suggest_drill(
    rated: list[tuple[SessionInfo, Turn]],
    library: dict[str, Scenario],
    *,
    last: int = LAST_SESSIONS,
) -> Drill | None:
    """The drill for the `last` most recent sessions with scored replies, or None when
    nothing is scored yet (or the library is empty).

    Args:
        rated: (session, rated user turn) pairs, as `Store.rated_turns` returns them.
    """
    by_session: dict[str, tuple[SessionInfo, list[Turn]]] = {}
    for info, turn in rated:
        r = turn.rating
        # A suggestion sent unchanged rates the coach's words, not the user's skill.
        if turn.role == "user" and r is not None and r.status == "scored" and not r.suggested:
            by_session.setdefault(info.id, (info, []))[1].append(turn)
    recent = sorted(by_session.values(), key=lambda it: (it[0].created_at, it[0].id))[-last:]
    turns = [t for _, ts in recent for t in ts]
    means: list[tuple[float, int, Criterion]] = []
    for i, c in enumerate(CRITERIA):
        vals = [lvl for t in turns if (lvl := t.rating.level(c.key)) is not None]
        if vals:
            means.append((sum(vals) / len(vals), i, c))
    if not means:
        return None
    level, _, weakest = min(means)  # ties: the rubric's order
    scenario = best_scenario_for(weakest.key, library)
    if scenario is None:
        return None
    return Drill(weakest, round(level, 2), len(recent), scenario)


def drill_words(d: Drill) -> str:
    """The drill in one sentence (the same words in the app and the terminal)."""
    over = "your last session" if d.sessions == 1 else f"your last {d.sessions} sessions"
    return (
        f"Your weakest skill over {over} is {d.criterion.name} (average level "
        f"{d.level:.1f} of 2). The scenario that trains it best: {d.scenario.title}."
    )
