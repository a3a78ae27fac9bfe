"""Replay: open a past conversation, see its branches, try a different reply, compare."""

from __future__ import annotations

import streamlit as st

from coach.app import state
from coach.app.logic import (
    PAGE_SIZE,
    branch_label,
    branch_row,
    session_label,
    tree_dot,
    user_turn_choices,
)
from coach.app.practice import open_session
from coach.app.text import escape_md
from coach.app.widgets import conversation
from coach.application.render import delta_text, ending_words
from coach.core.errors import CoachError, ConflictError, ModelError, ReplyError
from coach.core.rubric import CRITERIA
from coach.core.scenario import Scenario
from coach.core.session import Tree, compare, last_partner_before, user_turns

SELECTED = "replay_session"


def pick_session() -> str | None:
    store = state.store()
    total = store.count_sessions()
    if total == 0:
        st.info("No conversations yet. Start one on the Practice page.")
        return None
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    page = 1
    if pages > 1:
        page = st.number_input("Page of past conversations", 1, pages, 1, key="replay_page")
    infos = store.list_sessions(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    labels = {i.id: session_label(i) for i in infos}
    wanted = st.session_state.get(SELECTED)
    if wanted and wanted not in labels:
        try:
            labels = {wanted: session_label(store.session(wanted)), **labels}
        except CoachError:
            st.session_state.pop(SELECTED, None)
    ids = list(labels)
    index = ids.index(wanted) if wanted in ids else 0
    sid = st.selectbox("Conversation", ids, index=index, format_func=labels.__getitem__)
    st.session_state[SELECTED] = sid
    return sid


def branches_tab(tree: Tree, sc: Scenario) -> None:
    st.markdown(
        "Each box is a branch of this conversation. An arrow means: the new branch starts "
        "from the same conversation, with a different reply at that point."
    )
    st.graphviz_chart(tree_dot(tree), width="content")
    st.dataframe([branch_row(tree, b) for b in tree.branch_numbers()], hide_index=True)
    focus = st.session_state.pop("replay_focus", None)
    if focus in tree.branch_numbers():
        st.session_state[f"replay_read-{tree.info.id}"] = focus
    b = st.selectbox(
        "Read a branch",
        tree.branch_numbers(),
        format_func=lambda n: branch_label(tree, n),
        key=f"replay_read-{tree.info.id}",
    )
    if st.button("Continue this branch on the Practice page", icon=":material/forum:"):
        open_session(tree.info.id, b)
        st.switch_page("practice.py")
    conversation(sc, tree.path(b), key="read")


def branch_tab(tree: Tree, sc: Scenario) -> None:
    st.markdown(
        "Choose one of your replies and say something else instead. A new branch starts "
        f"there, and {escape_md(sc.partner.name)} answers the new reply."
    )
    c1, c2 = st.columns(2)
    b = c1.selectbox(
        "Branch",
        tree.branch_numbers(),
        format_func=lambda n: branch_label(tree, n),
        key=f"branch_from_branch-{tree.info.id}",
    )
    path = tree.path(b)
    turns = user_turn_choices(path)
    if not turns:
        st.info("This branch has no replies yet.")
        return
    n = c2.selectbox(
        "Your reply number",
        turns,
        format_func=lambda i: f"Reply {i}",
        key=f"branch_from_turn-{tree.info.id}-{b}",
    )
    old = next(t for t in user_turns(path) if t.idx == n)
    before = last_partner_before(path, n)
    st.markdown(f"**{escape_md(sc.partner.name)} said:** {escape_md(before.text)}")
    st.markdown(f"**You said:** {escape_md(old.text)}")
    if st.session_state.pop("branch_clear", False):
        # the reply went into a new branch: an empty box, so a second click makes no twin
        st.session_state["branch_text"] = ""
    new = st.text_area("What you would say instead", key="branch_text", height=100)
    if st.button("Try this reply", type="primary", icon=":material/alt_route:", key="branch_go"):
        try:
            with st.spinner(f"{sc.partner.name} is answering…"):
                res = state.engine().replay(tree.info.id, new, from_turn=n, branch=b)
        except (ReplyError, ConflictError) as e:
            st.warning(e.for_ui("app"))
            return
        except ModelError as e:
            st.error(escape_md(e.for_ui("app")))  # the server's words, shown as text
            st.caption(
                "Your reply is saved: continue the new branch on the Practice page to retry."
            )
            return
        st.session_state["compare_a"] = b
        st.session_state["compare_b"] = res.user.branch
        st.session_state["replay_focus"] = res.user.branch
        st.session_state["replay_created"] = res.user.branch
        st.session_state["branch_clear"] = True
        st.rerun()
    created = st.session_state.pop("replay_created", None)
    if created:
        st.success(
            f"Branch {created} is ready. Compare it with the branch it came from in the "
            "'Compare two branches' tab, or continue it on the Practice page."
        )


def _fmt(x: float | None, digits: int = 0) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _delta(a: float | None, b: float | None, digits: int = 0) -> str:
    return delta_text(a, b, digits, missing="")


def compare_tab(tree: Tree, sc: Scenario) -> None:
    branches = tree.branch_numbers()
    if len(branches) < 2:
        st.info("This conversation has one branch. Try a different reply to get a second one.")
        return
    c1, c2 = st.columns(2)
    default_b = st.session_state.get("compare_b", branches[-1])
    a = c1.selectbox(
        "Branch A",
        branches,
        index=branches.index(st.session_state.get("compare_a", branches[0]))
        if st.session_state.get("compare_a", branches[0]) in branches
        else 0,
        format_func=lambda n: branch_label(tree, n),
    )
    b = c2.selectbox(
        "Branch B",
        branches,
        index=branches.index(default_b) if default_b in branches else len(branches) - 1,
        format_func=lambda n: branch_label(tree, n),
    )
    if a == b:
        st.info("Choose two different branches.")
        return
    cmp = compare(tree, a, b)
    m1, m2, m3 = st.columns(3)
    m1.metric(f"Branch {a}: average score", _fmt(cmp.overall_a))
    m2.metric(
        f"Branch {b}: average score",
        _fmt(cmp.overall_b),
        delta=_delta(cmp.overall_a, cmp.overall_b) or None,
    )
    end_a, end_b = ending_words(cmp.ending_a), ending_words(cmp.ending_b)
    with m3:
        st.markdown("Ending")
        st.markdown(f"**A:** {end_a}  \n**B:** {end_b}")
    st.caption(
        f"Averages cover the {cmp.turns_compared} replies rated in both branches, so a longer "
        "branch is not compared on moments the other never reached."
    )
    name = escape_md(sc.partner.name)
    for row in cmp.rows:
        shared = row.a is not None and row.b is not None and row.a.id == row.b.id
        st.markdown(f"##### Reply {row.turn}" + (" · the same in both branches" if shared else ""))
        ca, cb = st.columns(2)
        for col, t, partner, overall in (
            (ca, row.a, row.partner_a, row.overall_a),
            (cb, row.b, row.partner_b, row.overall_b),
        ):
            with col, st.container(border=True):
                if t is None:
                    st.caption("No reply here in this branch.")
                    continue
                st.markdown(f"**You:** {escape_md(t.text)}")
                if partner:
                    st.markdown(f"**{name}:** {escape_md(partner)}")
                st.caption(f"Score: {_fmt(overall)}/100")
        if not shared:
            changes = [
                f"{c.name} {row.level_deltas[c.key]:+d}"
                for c in CRITERIA
                if row.level_deltas.get(c.key)
            ]
            d = _delta(row.overall_a, row.overall_b)
            if row.a is None or row.b is None:
                st.caption(f"Only in branch {b if row.a is None else a}.")
            elif not d:
                st.caption("Not rated in both branches, so not compared.")
            else:
                st.caption(
                    f"From A to B: score {d}"
                    + (f"; {', '.join(changes)}" if changes else "; same levels")
                )
    st.markdown("##### Skill by skill (average level, 0 to 2)")
    st.dataframe(
        [
            {
                "Skill": c.name,
                f"Branch {a}": cmp.mean_a.get(c.key),
                f"Branch {b}": cmp.mean_b.get(c.key),
                "Change": _delta(cmp.mean_a.get(c.key), cmp.mean_b.get(c.key), 1),
            }
            for c in CRITERIA
        ]
        + [
            {
                "Skill": "Overall score (0-100)",
                # whole points, as the scores above show them, so the change reads the same
                f"Branch {a}": None if cmp.overall_a is None else round(cmp.overall_a),
                f"Branch {b}": None if cmp.overall_b is None else round(cmp.overall_b),
                "Change": _delta(cmp.overall_a, cmp.overall_b),
            }
        ],
        hide_index=True,
    )


def render() -> None:
    st.title("Replay a conversation")
    st.markdown(
        "Go back to any reply and try it another way. Each try becomes a new **branch** of "
        "the conversation; the original stays as it was. Then compare two branches side by side."
    )
    if not state.ready():
        return
    sid = pick_session()
    if sid is None:
        return
    opened = state.session_or_error(sid)
    if opened is None:
        return
    tree, sc = opened
    t1, t2, t3 = st.tabs(["Branches", "Try a different reply", "Compare two branches"])
    with t1:
        branches_tab(tree, sc)
    with t2:
        branch_tab(tree, sc)
    with t3:
        compare_tab(tree, sc)


if __name__ == "__main__":
    render()
