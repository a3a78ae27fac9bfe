"""Session trees: turns are nodes with parents, a branch is a path, replay is a new child.

Numbering: user turn 1 is the reply to the partner's opening line. Every turn carries the
branch number it was written on; branch 1 is the original conversation. A branch's path
is the chain of parents from its deepest turn back to the opening, so a replayed branch
shares every turn before its fork with the branch it came from.

Everything here is pure: frozen values and functions over them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from coach.core.errors import StoreError
from coach.core.reading import Reading
from coach.core.rubric import CRITERION_KEYS, Rating

Role = Literal["partner", "user"]
# pending: stored, not yet answered; failed: a model call failed, can be retried.
TurnStatus = Literal["ok", "pending", "failed"]


@dataclass(frozen=True)
class Line:
    """One line of the conversation so far."""

    role: str  # "partner" or "user"
    text: str


@dataclass(frozen=True)
class Turn:
    """One line of a conversation.

    Attributes:
        idx: for a user turn, its number (1-based); for a partner turn, the number of the
            user turn it answers (0 for the opening line).
        openness: for a partner turn, the partner's openness after the reply it answers.
        ending: for the partner's last line, which ending it was.
    """

    id: int
    session_id: str
    parent_id: int | None
    branch: int
    role: Role
    idx: int
    text: str
    status: TurnStatus = "ok"
    error: str = ""
    reading: Reading | str | None = None  # a str: a reading only a newer coach knows
    openness: int | None = None
    ending: str | None = None
    rating: Rating | None = None
    meta: dict = field(default_factory=dict)
    created_at: float = 0.0


@dataclass(frozen=True)
class SessionInfo:
    """A practice session's header, as listed in the history."""

    id: str
    scenario_id: str
    title: str
    backend: str
    created_at: float
    updated_at: float
    user_turns: int = 0
    mean_score: float | None = None
    ended: bool = False
    branches: int = 1


@dataclass(frozen=True)
class Tree:
    """All turns of one session, indexed for walking."""

    info: SessionInfo
    turns: tuple[Turn, ...]
    scenario_json: str | None = None  # the scenario as it was when the session started

    @property
    def by_id(self) -> dict[int, Turn]:
        return {t.id: t for t in self.turns}

    def children(self, turn_id: int | None) -> list[Turn]:
        return [t for t in self.turns if t.parent_id == turn_id]

    def branch_numbers(self) -> list[int]:
        return sorted({t.branch for t in self.turns})

    def tip(self, branch: int) -> Turn:
        """The deepest turn written on `branch`."""
        on_branch = [t for t in self.turns if t.branch == branch]
        if not on_branch:
            have = ", ".join(map(str, self.branch_numbers()))
            raise StoreError(f"session {self.info.id} has no branch {branch}; it has {have}")
        # ids grow monotonically, so the newest turn of a branch is its tip
        return max(on_branch, key=lambda t: t.id)

    def path(self, branch: int) -> list[Turn]:
        """The branch's conversation, opening line first."""
        return path_to(self.by_id, self.tip(branch).id)

    def fork_of(self, branch: int) -> tuple[int, int] | None:
        """(parent branch, user turn number) a replayed branch started from; None for 1."""
        first = min((t for t in self.turns if t.branch == branch), key=lambda t: t.id)
        if first.parent_id is None:
            return None
        parent = self.by_id[first.parent_id]
        return parent.branch, first.idx


def path_to(by_id: dict[int, Turn], leaf_id: int) -> list[Turn]:
    """Walk parents from `leaf_id` to the root; returns root-first."""
    out: list[Turn] = []
    cur: int | None = leaf_id
    while cur is not None:
        t = by_id[cur]
        out.append(t)
        cur = t.parent_id
    out.reverse()
    return out


def user_turns(path: list[Turn]) -> list[Turn]:
    return [t for t in path if t.role == "user"]


def stuck_reply(path: list[Turn]) -> Turn | None:
    """The last reply on `path` that is stored but not fully answered (the one to retry)."""
    return next((t for t in reversed(path) if t.role == "user" and t.status != "ok"), None)


def last_partner_before(path: list[Turn], turn_no: int) -> Turn:
    """The partner line that user turn `turn_no` answers (the fork point for replay).

    Raises:
        ValueError: when the path has no such turn.
    """
    have = len(user_turns(path))
    if 1 <= turn_no <= have:
        for t in path:
            if t.role == "partner" and t.idx == turn_no - 1:
                return t
    raise ValueError(
        f"there is no reply {turn_no} to replay from: this branch has "
        + ("1 reply (choose 1)" if have == 1
           else f"{have} replies (choose 1 to {have})" if have
           else "no replies yet; answer first")
    )


State = Literal["awaiting_reply", "needs_retry", "ended"]


def state_of(path: list[Turn]) -> State:
    """What the conversation on this path needs next."""
    last = path[-1]
    if last.role == "user" or any(t.status != "ok" for t in path):
        return "needs_retry"
    if last.ending is not None:
        return "ended"
    return "awaiting_reply"


def same_words(a: str, b: str) -> bool:
    """True when two replies are the same text, spacing aside."""
    return " ".join(a.split()) == " ".join(b.split())


def is_suggestion_unchanged(replaced: Turn | None, text: str) -> bool:
    """True when `text`, replacing the reply `replaced`, is that reply's suggested better
    reply sent as it was ("Try this instead" without an edit)."""
    if replaced is None or replaced.rating is None or not replaced.rating.better_reply:
        return False
    return same_words(replaced.rating.better_reply, text)


def next_turn_number(path: list[Turn]) -> int:
    return len(user_turns(path)) + 1


@dataclass(frozen=True)
class ReplyCount:
    """Where the next reply stands in a conversation of `total` replies.

    A reply that pauses the practice for safety counts like any other, but the partner
    never ends the conversation on a pause (coach/application/engine.py): each pause at or past the
    scenario's last reply adds one more reply to the total.
    """

    number: int  # the next reply's number
    total: int  # the reply the conversation ends on, pauses at the end included
    pauses: int  # replies so far that paused the practice

    @property
    def last(self) -> bool:
        return self.number >= self.total


def reply_count(path: list[Turn], turns: int) -> ReplyCount:
    """The count for the reply that answers the last line of `path`, in a scenario of
    `turns` replies."""
    paused = [t for t in path if t.role == "partner" and t.meta.get("pause")]
    late = sum(1 for t in paused if t.idx >= turns)
    return ReplyCount(number=next_turn_number(path), total=turns + late, pauses=len(paused))


@dataclass(frozen=True)
class BranchSummary:
    """One branch (the app's "version") on its own: its conversation's replies, shared ones
    before its fork included, and their mean score; not the session's sum over branches."""

    branch: int
    fork: tuple[int, int] | None
    replies: int
    mean_score: float | None
    ending: str | None


def branch_summary(tree: Tree, branch: int) -> BranchSummary:
    path = tree.path(branch)
    users = user_turns(path)
    return BranchSummary(
        branch=branch,
        fork=tree.fork_of(branch),
        replies=len(users),
        mean_score=mean_overall(users),
        ending=next((t.ending for t in path if t.ending), None),
    )


@dataclass(frozen=True)
class TurnDelta:
    """One aligned row of a branch comparison."""

    turn: int
    a: Turn | None
    b: Turn | None
    partner_a: str
    partner_b: str
    level_deltas: dict[str, int | None]
    overall_a: float | None
    overall_b: float | None

    @property
    def overall_delta(self) -> float | None:
        """B minus A of this turn's scores, as shown (whole points)."""
        return shown_delta(self.overall_a, self.overall_b)


def shown_delta(a: float | None, b: float | None, digits: int = 0) -> float | None:
    """B minus A as a person reads it: the difference of the two numbers rounded as shown.

    Scores of 33.6 and 54.4 are shown as 34 and 54, so the change is +20, never +21. The
    CLI, the app and the exports all take their deltas from here. None when either is None.
    """
    if a is None or b is None:
        return None
    return round(round(b, digits) - round(a, digits), digits)


@dataclass(frozen=True)
class Comparison:
    branch_a: int
    branch_b: int
    rows: tuple[TurnDelta, ...]
    mean_a: dict[str, float | None]
    mean_b: dict[str, float | None]
    overall_a: float | None
    overall_b: float | None
    ending_a: str | None
    ending_b: str | None
    turns_compared: int = 0

    @property
    def overall_delta(self) -> float | None:
        """B minus A of the average scores, as shown (whole points)."""
        return shown_delta(self.overall_a, self.overall_b)


def _answers(path: list[Turn]) -> dict[int, str]:
    return {t.idx: t.text for t in path if t.role == "partner" and t.idx > 0}


def mean_levels(turns: list[Turn]) -> dict[str, float | None]:
    """Mean level per criterion over the scored user turns."""
    out: dict[str, float | None] = {}
    for key in CRITERION_KEYS:
        vals = [
            t.rating.scores[key].level
            for t in turns
            if t.rating is not None and t.rating.status == "scored" and key in t.rating.scores
        ]
        out[key] = round(sum(vals) / len(vals), 2) if vals else None
    return out


def mean_overall(turns: list[Turn]) -> float | None:
    vals = [t.rating.overall for t in turns if t.rating and t.rating.overall is not None]
    return round(sum(vals) / len(vals), 1) if vals else None


def _rated(t: Turn) -> bool:
    return t.rating is not None and t.rating.overall is not None


def _level(t: Turn | None, key: str) -> int | None:
    if t is None or t.rating is None or t.rating.status != "scored":
        return None
    return t.rating.level(key)


def compare(tree: Tree, branch_a: int, branch_b: int) -> Comparison:
    """Align two branches by user turn number, with per-criterion deltas (b minus a)."""
    pa, pb = tree.path(branch_a), tree.path(branch_b)
    ua = {t.idx: t for t in user_turns(pa)}
    ub = {t.idx: t for t in user_turns(pb)}
    ans_a, ans_b = _answers(pa), _answers(pb)
    rows = []
    for n in range(1, max([0, *ua, *ub]) + 1):
        a, b = ua.get(n), ub.get(n)
        deltas: dict[str, int | None] = {}
        for key in CRITERION_KEYS:
            la, lb = _level(a, key), _level(b, key)
            deltas[key] = None if la is None or lb is None else lb - la
        rows.append(
            TurnDelta(
                turn=n,
                a=a,
                b=b,
                partner_a=ans_a.get(n, ""),
                partner_b=ans_b.get(n, ""),
                level_deltas=deltas,
                overall_a=a.rating.overall if a and a.rating else None,
                overall_b=b.rating.overall if b and b.rating else None,
            )
        )
    ends = {br: next((t.ending for t in p if t.ending), None) for br, p in ((1, pa), (2, pb))}
    # Averages only over the turns rated on both branches, so a longer branch is not
    # compared with a shorter one on moments the other never reached (or left unrated).
    both = [n for n in ua if n in ub and _rated(ua[n]) and _rated(ub[n])]
    return Comparison(
        branch_a=branch_a,
        branch_b=branch_b,
        rows=tuple(rows),
        mean_a=mean_levels([ua[n] for n in both]),
        mean_b=mean_levels([ub[n] for n in both]),
        overall_a=mean_overall([ua[n] for n in both]),
        overall_b=mean_overall([ub[n] for n in both]),
        turns_compared=len(both),
        ending_a=ends[1],
        ending_b=ends[2],
    )
