"""The practice loop: store the reply, then judge and answer it, then store the result.

Order matters for "nothing lost": the reply is committed first, in its own transaction.
The partner answers what the reply did, read from the rating the user sees, whichever judge
gave it (coach/core/turn.py plans that, purely). So the judge rates first and the partner answers
second; a model judge runs in a worker thread so that Ctrl-C stays prompt. Any model failure
leaves the reply stored and marked failed, and `retry` finishes whatever part is missing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from coach.adapters.store import Store
from coach.adapters.stored import scenario_from_json
from coach.application.backends import Backend
from coach.core.errors import ConflictError, ModelError, ReplyError, ReplyKeptError, StoreError
from coach.core.redact import redact
from coach.core.rubric import Provenance, Rating
from coach.core.safety import PAUSE_LINE, RESOURCES, concern
from coach.core.scenario import Scenario
from coach.core.session import (
    Line,
    SessionInfo,
    Tree,
    Turn,
    is_suggestion_unchanged,
    last_partner_before,
    next_turn_number,
    path_to,
    state_of,
    stuck_reply,
)
from coach.core.turn import merged_error, plan_turn
from coach.judges.base import MAX_REPLY_CHARS, JudgeContext
from coach.judges.builtin import HeuristicJudge
from coach.judges.crosscheck import disagreement
from coach.partners.base import PartnerContext

TokenSink = Callable[[str], None]


def validate_reply(text: str, partner_name: str = "your partner") -> str:
    """The reply, stripped, or a ReplyError that says what to do.

    The one check every reply passes (CLI scripts, the prompt, the app) before anything is
    stored: text the store cannot write must be refused here, not half-way into a session.
    """
    cleaned = (text or "").strip()
    if not cleaned:
        raise ReplyError(f"Your reply is empty. Type what you would say to {partner_name}.")
    # A lone surrogate is what Python makes of invalid UTF-8 bytes in argv or a terminal
    # (surrogateescape); it cannot be encoded, so SQLite would refuse it later.
    bad = next((i for i, ch in enumerate(cleaned) if "\ud800" <= ch <= "\udfff"), None)
    if bad is not None:
        raise ReplyError(
            f"Your reply has bytes that are not valid UTF-8 text (at character {bad + 1}). "
            "Type it again, or save your replies as UTF-8."
        )
    if len(cleaned) > MAX_REPLY_CHARS:
        raise ReplyError(
            f"Your reply is {len(cleaned):,} characters; the limit is {MAX_REPLY_CHARS:,}. "
            "In a real conversation a reply is a few sentences: try saying the heart of it."
        )
    return cleaned


@dataclass(frozen=True)
class TurnResult:
    user: Turn
    partner: Turn | None
    rating: Rating | None
    ended: bool
    # Another window answered the same reply first: `partner` is its stored answer, not
    # the one this call streamed.
    raced: bool = False


_QUICK = HeuristicJudge()


def _in_background(fn: Callable[..., Any], *args: Any) -> Future:
    """Run `fn(*args)` in a daemon thread; its result (or exception) lands in the Future.

    Not a ThreadPoolExecutor: the interpreter joins a pool's workers at exit, so Ctrl-C
    during a turn would wait for the model judge's whole time budget (and a second Ctrl-C
    would end in a traceback from that join). The reply is already stored, and a judge
    has nothing to write, so the process may simply stop without it.
    """
    future: Future = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn(*args))
        except BaseException as e:  # handed to the caller, who decides
            future.set_exception(e)

    threading.Thread(target=run, name="coach-judge", daemon=True).start()
    return future


def _withheld(phrase: str) -> Rating:
    return Rating(
        status="withheld",
        reason=f"The reply mentions something serious ('{phrase}').",
        tip=RESOURCES,
        source=Provenance(backend="safety"),
    )


class Engine:
    """Runs practice sessions over a store, a backend and a scenario library."""

    def __init__(self, store: Store, backend: Backend, library: dict[str, Scenario]) -> None:
        self.store = store
        self.backend = backend
        self.library = library
        self._snapshots: dict[str, Scenario] = {}

    # ------------------------------------------------------------------ lookups

    def scenario(self, scenario_id: str) -> Scenario:
        try:
            return self.library[scenario_id]
        except KeyError:
            raise StoreError(f"no scenario '{scenario_id}'; `coach scenarios` lists them") from None

    def scenario_of(self, tree: Tree) -> Scenario:
        """The scenario a session was started with (its stored copy), else the library's."""
        if tree.scenario_json:
            cached = self._snapshots.get(tree.info.id)
            if cached is None:
                try:
                    cached = scenario_from_json(tree.scenario_json)
                except StoreError as e:
                    # Unreadable copy (from a newer coach): the library's, if it has it.
                    if tree.info.scenario_id in self.library:
                        return self.library[tree.info.scenario_id]
                    raise StoreError(
                        f"Session {tree.info.id}: {e}, and the scenario "
                        f"'{tree.info.scenario_id}' is not in the library either."
                    ) from None
                self._snapshots[tree.info.id] = cached
            return cached
        return self.scenario(tree.info.scenario_id)

    def tree(self, session_ref: str) -> Tree:
        return self.store.load_tree(self.store.resolve(session_ref))

    # ------------------------------------------------------------------ actions

    def start(self, scenario_id: str) -> tuple[SessionInfo, Turn]:
        """Open a session: the partner's opening line is its first turn."""
        sc = self.scenario(scenario_id)
        return self.store.create_session(
            scenario_id=sc.id,
            title=sc.title,
            backend=self.backend.label,
            opening=sc.opening,
            openness=sc.start_openness,
            scenario_json=sc.model_dump_json(),
        )

    def reply(
        self, session_id: str, text: str, *, branch: int = 1, on_token: TokenSink | None = None
    ) -> TurnResult:
        """Answer the partner on `branch` with `text`.

        Raises:
            ReplyError: empty/huge reply, the branch has ended or awaits a retry.
            ModelError: a model failed; the reply is stored and `retry` can finish it.
        """
        tree = self.store.load_tree(session_id)
        sc = self.scenario_of(tree)
        text = validate_reply(text, sc.partner.name)
        path = tree.path(branch)
        state = state_of(path)
        if state == "ended":
            raise ReplyError(
                "This conversation has reached its end. Replay it from an earlier reply "
                "to try another way."
            )
        if state == "needs_retry":
            raise ReplyError("The last reply has not been answered yet: retry it first.")
        user = self.store.add_user_turn(
            session_id=session_id,
            parent_id=path[-1].id,
            branch=branch,
            idx=next_turn_number(path),
            text=text,
        )
        return self.process(user, on_token=on_token)

    def send(
        self,
        session_id: str,
        text: str | None,
        *,
        branch: int = 1,
        from_turn: int | None = None,
        on_token: TokenSink | None = None,
    ) -> TurnResult:
        """The one way both UIs send a reply: a retry of the stuck reply when `text` is None,
        a new branch when `from_turn` is given, else the branch's next reply."""
        if text is None:
            return self.retry(session_id, branch=branch, on_token=on_token)
        if from_turn is not None:
            return self.replay(
                session_id, text, from_turn=from_turn, branch=branch, on_token=on_token
            )
        return self.reply(session_id, text, branch=branch, on_token=on_token)

    def replay(
        self,
        session_id: str,
        text: str,
        *,
        from_turn: int,
        branch: int = 1,
        on_token: TokenSink | None = None,
    ) -> TurnResult:
        """Start a new branch at user turn `from_turn` of `branch`, with a different reply.

        The original branch is left untouched; the new branch shares every turn before
        `from_turn`.
        """
        tree = self.store.load_tree(session_id)
        sc = self.scenario_of(tree)
        text = validate_reply(text, sc.partner.name)
        path = tree.path(branch)
        try:
            fork = last_partner_before(path, from_turn)
        except ValueError as e:
            raise ReplyError(str(e)) from None
        replaced = next((t for t in path if t.role == "user" and t.idx == from_turn), None)
        # Kept with the reply, so a retry after a failed judge still marks its rating.
        meta = {"suggested": True} if is_suggestion_unchanged(replaced, text) else None
        user = self.store.add_user_turn(
            session_id=session_id,
            parent_id=fork.id,
            branch=None,
            idx=from_turn,
            text=text,
            meta=meta,
        )
        return self.process(user, on_token=on_token)

    def retry(
        self, session_id: str, *, branch: int = 1, on_token: TokenSink | None = None
    ) -> TurnResult:
        """Finish the reply on `branch` that a failed model call left unanswered or unrated."""
        tree = self.store.load_tree(session_id)
        stuck = stuck_reply(tree.path(branch))
        if stuck is None:
            raise ReplyError("Nothing to retry: every reply on this branch is answered.")
        return self.process(stuck, on_token=on_token)

    # ------------------------------------------------------------------ the turn

    @staticmethod
    def _judged(
        future: Future, errors: list[tuple[str, str]]
    ) -> tuple[Rating | None, BaseException | None]:
        """The model judge's rating, or None with its failure added to `errors` (and a bug
        in a judge handed back, to raise once the partner's line is stored)."""
        try:
            return future.result(), None
        except ModelError as e:
            errors.append(("judge", e.template))  # each UI words it (coach.core.wording)
            return None, None
        except Exception as e:  # a bug in a judge: keep the partner's line, then raise
            # Not a ModelError, so not redacted yet: it is stored, so redact it here.
            errors.append(("judge", redact(f"unexpected error ({type(e).__name__}: {e})")))
            return None, e

    def process(self, user: Turn, *, on_token: TokenSink | None = None) -> TurnResult:
        """Rate and answer a stored reply; store whatever succeeds.

        Raises:
            ModelError: a model failed (the reply is kept, marked for a retry).
            ReplyKeptError: storing the result failed (say, a full disk); the reply is kept.
        """
        try:
            return self._process(user, on_token=on_token)
        except ConflictError:
            raise
        except ReplyKeptError:
            raise
        except StoreError as e:
            raise ReplyKeptError(
                f"{e} Your reply itself was saved first: retry it once this is fixed.",
                branch=user.branch,
            ) from None

    def _process(self, user: Turn, *, on_token: TokenSink | None) -> TurnResult:
        tree = self.store.load_tree(user.session_id)
        by_id = tree.by_id
        sc = self.scenario_of(tree)
        path = path_to(by_id, user.id)
        history = tuple(Line(t.role, t.text) for t in path[:-1])
        prev_openness = next(
            (t.openness for t in reversed(path) if t.role == "partner" and t.openness is not None),
            sc.start_openness,
        )
        jctx = JudgeContext(reply=user.text, history=history, scenario=sc, turn=user.idx)

        flagged = concern(user.text)
        quick = _withheld(flagged) if flagged else _QUICK.rate(jctx)
        answered = [t for t in tree.children(user.id) if t.role == "partner"]
        partner_turn = answered[0] if answered else None

        rating = user.rating
        errors: list[tuple[str, str]] = []
        unexpected: BaseException | None = None
        if rating is None:
            if flagged or self.backend.judge.name == "heuristic":
                rating = quick
            else:
                # The partner answers the rating the user sees, so it waits for the judge.
                future = _in_background(self.backend.judge.rate, jctx)
                rating, unexpected = self._judged(future, errors)
                if rating is not None and rating.status == "scored":
                    # A model judge grades the criteria, not the sentences: the act tags
                    # (for the debrief's counts and the partner's response) come from the
                    # built-in rules' reading of the same reply, which also checks it.
                    update: dict = {"disagreement": disagreement(rating, quick)}
                    if not rating.acts:
                        update["acts"] = quick.acts
                    rating = rating.model_copy(update=update)
        plan = plan_turn(
            sc,
            rating=rating,
            builtin=quick,
            prev_openness=prev_openness,
            turn=user.idx,
            flagged=bool(flagged),
        )

        partner_text = ""
        t0 = time.perf_counter()
        meta: dict = {"partner": self.backend.partner.name, "response": plan.response.value}
        if partner_turn is None and plan.pause:
            partner_text, meta = PAUSE_LINE, {"pause": True}  # shown by the UI, not streamed
        elif partner_turn is None:
            pctx = PartnerContext(
                scenario=sc,
                history=(*history, Line("user", user.text)),
                reading=plan.reading,
                openness=plan.openness,
                turn=user.idx,
                ending=plan.ending,
                response=plan.response,
            )
            try:
                chunks = []
                for chunk in self.backend.partner.respond(pctx):
                    chunks.append(chunk)
                    if on_token is not None:
                        on_token(chunk)
                partner_text = "".join(chunks).strip()
                if not partner_text:
                    raise ModelError("The partner model returned an empty line.", retryable=True)
            except ModelError as e:
                errors.append(("partner", e.template))  # each UI words it (coach.core.wording)
        partner_ms = round((time.perf_counter() - t0) * 1000, 1)

        if rating is not None and user.meta.get("suggested") and not rating.suggested:
            rating = rating.model_copy(update={"suggested": True})
        if rating is not None and user.rating is None:
            self.store.save_rating(user.id, rating, plan.reading)

        error = merged_error(errors)
        if partner_turn is None and partner_text:
            try:
                partner_turn = self.store.complete_turn(
                    user,
                    partner_text=partner_text,
                    openness=plan.openness,
                    ending=plan.ending,
                    meta={**meta, "latency_ms": partner_ms},
                    error=error,
                )
            except ConflictError:
                # Another window answered this reply first: what counts is what it stored.
                won = self.store.load_tree(user.session_id).children(user.id)
                won = [t for t in won if t.role == "partner"]
                if not won:
                    raise
                stored = self.store.turn(user.id)
                return TurnResult(
                    user=stored,
                    partner=won[0],
                    rating=stored.rating,
                    ended=won[0].ending is not None,
                    raced=True,
                )
        elif error:
            self.store.mark_failed(user.id, error)
        elif partner_turn is not None:
            # Retry that only needed the rating: the answer was already stored.
            self.store.mark_ok(user.id)
        if unexpected is not None:
            raise unexpected
        if error:
            failure = ModelError(
                f"{error} Your reply is saved; retry it when the model is back.",
                retryable=True,
            )
            failure.branch = user.branch
            raise failure
        stored = self.store.turn(user.id)
        return TurnResult(
            user=stored, partner=partner_turn, rating=stored.rating, ended=plan.ending is not None
        )
