"""Practice: pick a scenario, talk, see each reply rated, end with a debrief."""

from __future__ import annotations

import streamlit as st

from coach.app import state
from coach.app.logic import DIFFICULTY_COLORS, branch_label, filter_scenarios
from coach.app.text import escape_md
from coach.app.widgets import PARTNER_AVATAR, USER_AVATAR, conversation, debrief_view
from coach.core.errors import ConflictError, ModelError, ReplyError, ReplyKeptError, StoreError
from coach.core.scenario import PRACTICES, Scenario
from coach.core.session import Turn, reply_count, state_of, stuck_reply
from coach.core.wording import worded
from coach.judges.base import MAX_REPLY_CHARS

SESSION, BRANCH, ERROR, NOTICE = "practice_session", "practice_branch", "practice_error", "notice"
DRAFT = "practice_draft"  # (text, turn, branch) of a "try this instead" being edited


def open_session(session_id: str, branch: int = 1) -> None:
    """Make `session_id` (on `branch`) the conversation the Practice page shows."""
    st.session_state[SESSION] = session_id
    st.session_state[BRANCH] = branch
    st.session_state.pop(ERROR, None)
    # In the URL too, so a reload of the page comes back to the same conversation.
    st.query_params["session"] = session_id
    st.query_params["branch"] = str(branch)


def close_session() -> None:
    for k in (SESSION, BRANCH, ERROR, DRAFT):
        st.session_state.pop(k, None)
    st.query_params.pop("session", None)
    st.query_params.pop("branch", None)


def _from_url() -> None:
    """After a reload, reopen the conversation the URL names (if it still exists)."""
    sid = st.query_params.get("session")
    if sid and SESSION not in st.session_state:
        try:
            state.store().session(sid)
        except StoreError:
            st.query_params.pop("session", None)
            return
        branch = st.query_params.get("branch", "1")
        st.session_state[SESSION] = sid
        st.session_state[BRANCH] = _branch_number(branch)
        if st.session_state[BRANCH] is None:
            st.session_state[BRANCH] = 1
            st.session_state[NOTICE] = (
                f"The link asks for branch '{branch[:20]}', which is not a branch number; "
                "showing branch 1 (the original conversation)."
            )


def _branch_number(text: str) -> int | None:
    """A branch number from the URL, or None. ASCII digits only: "²".isdigit() is true."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) < 1:
        return None
    return int(text)


# ------------------------------------------------------------------ choosing a scenario


def scenario_card(sc: Scenario) -> None:
    with st.container(border=True):
        st.markdown(f"#### {escape_md(sc.title)}")
        st.markdown(
            f":{DIFFICULTY_COLORS[sc.difficulty]}-badge[{sc.difficulty}] "
            f":blue-badge[{escape_md(sc.practice)}] · with {escape_md(sc.partner.name)}"
        )
        st.markdown(escape_md(" ".join(sc.brief.split())))
        if st.button("Start", key=f"start-{sc.id}", type="primary", icon=":material/play_arrow:"):
            info, _ = state.engine().start(sc.id)
            open_session(info.id)
            st.rerun()


def choose_scenario() -> None:
    st.title("Practice a conversation")
    st.markdown(
        "Pick a moment to rehearse. Your partner answers the way a real person might; each of "
        "your replies gets feedback on how well you listened."
    )
    lib = state.library()
    c1, c2, c3 = st.columns([2, 1, 1])
    text = c1.text_input("Search", placeholder="e.g. work, vent, jealous", key="sc_search")
    diffs = c2.multiselect("Difficulty", ["easy", "medium", "hard"], key="sc_diff")
    pracs = c3.multiselect("Skill to practise", list(PRACTICES), key="sc_practice")
    found = filter_scenarios(lib, text, diffs, pracs)
    if not found:
        st.info("No scenario matches these filters.")
        return
    cols = st.columns(2)
    for i, sc in enumerate(found):
        with cols[i % 2]:
            scenario_card(sc)


# ------------------------------------------------------------------ the conversation


def _stream_into(placeholder):
    buf: list[str] = []

    def on_token(chunk: str) -> None:
        buf.append(chunk)
        placeholder.markdown(escape_md("".join(buf)) + " ▌")

    return on_token


def run_turn(session_id: str, branch: int, text: str | None, *, from_turn: int | None = None):
    """Send a reply (or a reply on a new branch, or a retry when `text` is None) and rerun."""
    eng = state.engine()
    name = eng.scenario_of(eng.tree(session_id)).partner.name
    if text is not None:
        with st.chat_message("user", avatar=USER_AVATAR):
            st.markdown(escape_md(text))
    with st.chat_message("assistant", avatar=PARTNER_AVATAR):
        ph = st.empty()
        ph.markdown(f"*{escape_md(name)} is answering…*")
        on_token = _stream_into(ph)
        try:
            res = eng.send(
                session_id, text, branch=branch, from_turn=from_turn, on_token=on_token
            )
        except (ReplyError, ConflictError) as e:
            st.session_state[NOTICE] = e.for_ui("app")
        except (ModelError, ReplyKeptError) as e:
            st.session_state[ERROR] = e.for_ui("app")
            if e.branch is not None:  # show the branch holding the reply, with its retry
                st.session_state[BRANCH] = e.branch
        except StoreError as e:  # nothing of this turn was stored (a full disk, a damaged file)
            st.session_state[NOTICE] = e.for_ui("app")
        else:
            st.session_state.pop(ERROR, None)
            st.session_state[BRANCH] = res.user.branch
            st.query_params["branch"] = str(res.user.branch)
            if res.raced:
                st.session_state[NOTICE] = (
                    "Another tab answered this reply at the same moment; the conversation "
                    "shows the answer that was kept."
                )
    st.rerun()


def draft_editor(session_id: str) -> None:
    """The "try this instead" editor; the page puts it right under the reply it rewrites."""
    text, from_turn, from_branch = st.session_state[DRAFT]
    with st.container(border=True, key=f"draft_box-{from_turn}"):
        st.markdown(
            f"**Try reply {from_turn} another way.** Edit it into your own words; "
            "the original conversation stays as it is."
        )
        # no max_chars here: a too-long reply gets the engine's clear message instead
        edited = st.text_area("Your new reply", value=text, key=f"draft-{from_turn}", height=100)
        c1, c2, _ = st.columns([1, 1, 3])
        if c1.button("Send this reply", type="primary", icon=":material/send:", key="draft_send"):
            st.session_state.pop(DRAFT, None)
            run_turn(session_id, from_branch, edited, from_turn=from_turn)
        if c2.button("Cancel", key="draft_cancel"):
            st.session_state.pop(DRAFT, None)
            st.rerun()


def conversation_page(session_id: str) -> None:
    eng = state.engine()
    try:
        tree = eng.tree(session_id)
        sc = eng.scenario_of(tree)
    except StoreError as e:
        st.warning(e.for_ui("app"))
        close_session()
        return
    branch = st.session_state.get(BRANCH, 1)
    if branch not in tree.branch_numbers():
        branch = 1
    path = tree.path(branch)
    # Keep the URL pointing here: navigating away and back drops it, and a reload then
    # must still find this conversation.
    st.query_params["session"] = session_id
    st.query_params["branch"] = str(branch)

    head, side = st.columns([4, 1])
    head.title(escape_md(sc.title))
    if side.button("Choose another scenario", icon=":material/arrow_back:"):
        close_session()
        st.rerun()
    if len(tree.branch_numbers()) > 1:
        st.caption(
            f"You are in {branch_label(tree, branch)}. Every 'try this instead' starts a new "
            "branch; the others stay on the Replay page."
        )
    with st.expander(
        f"The situation: talking with {escape_md(sc.partner.name)}", expanded=len(path) == 1
    ):
        st.markdown(escape_md(" ".join(sc.brief.split())))
        st.caption(
            f"{sc.turns} replies until the end · difficulty {sc.difficulty} · "
            f"skill: {escape_md(sc.practice)}"
        )

    def try_instead(t: Turn) -> None:
        st.session_state[DRAFT] = (t.rating.better_reply, t.idx, branch)
        # Again from the top: an editor already drawn under an earlier reply goes, and
        # this one opens under its own.
        st.rerun()

    shown = False

    def editor_under(t: Turn) -> None:
        nonlocal shown
        draft = st.session_state.get(DRAFT)
        if draft and draft[1] == t.idx and draft[2] == branch:
            shown = True
            draft_editor(session_id)

    conversation(sc, path, on_try=try_instead, after_reply=editor_under, key="p")

    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.warning(notice)

    if not shown and st.session_state.get(DRAFT):
        draft_editor(session_id)  # its reply is not on this page: show it here

    now = state_of(path)
    count = reply_count(path, sc.turns)  # the same count as the terminal's prompt
    if now == "needs_retry":
        stuck = stuck_reply(path)
        msg = (
            st.session_state.get(ERROR)
            or (worded(stuck.error, "app") if stuck else "")
            or ("The last reply has not been answered yet.")
        )
        st.error(f"{escape_md(msg)}", icon=":material/error:")
        st.caption("Retry when the model is reachable again, or change it under Settings.")
        if st.button("Retry", type="primary", icon=":material/refresh:"):
            run_turn(session_id, branch, None)
    elif now == "ended":
        st.success("The conversation has reached its end. Here is your debrief.")
        st.divider()
        st.header("Debrief")
        debrief_view(sc, path)
        c1, c2 = st.columns(2)
        if c1.button("Practise another scenario", icon=":material/forum:"):
            close_session()
            st.rerun()
        if c2.button("Replay it from an earlier reply", icon=":material/alt_route:"):
            st.session_state["replay_session"] = session_id
            st.switch_page("replay.py")

    placeholder = {
        "awaiting_reply": f"Your reply to {sc.partner.name} (reply {count.number} of "
        f"{count.total})",
        "needs_retry": "Retry the last reply first (above)",
        "ended": "This conversation has ended",
    }[now]
    prompt = st.chat_input(
        placeholder,
        disabled=now != "awaiting_reply",
        max_chars=MAX_REPLY_CHARS,
        key="reply_box",
    )
    if prompt and now == "awaiting_reply":
        run_turn(session_id, branch, prompt)


def render() -> None:
    if not state.ready():
        return
    _from_url()
    sid = st.session_state.get(SESSION)
    if sid is None:
        choose_scenario()
    else:
        conversation_page(sid)


if __name__ == "__main__":
    render()
