"""Review: past conversations, progress per skill over time, full feedback, export."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from coach.app import state
from coach.app.logic import (
    PAGE_SIZE,
    ProgressPoint,
    branch_label,
    progress,
    progress_labels,
    session_label,
)
from coach.app.practice import open_session
from coach.app.text import escape_md
from coach.app.widgets import conversation, debrief_view
from coach.application.render import export_json, export_markdown, when
from coach.core.drill import drill_words, suggest_drill
from coach.core.rubric import CRITERIA

ALL = "All scenarios"


@st.cache_data(show_spinner=False, max_entries=8)
def _progress(db: str, stamp: tuple) -> list[ProgressPoint]:
    """Progress points; `stamp` changes whenever a session does, which refreshes the cache."""
    return progress(state.store().rated_turns(limit=3000))


def progress_figure(points: list[ProgressPoint]) -> alt.Chart:
    """One small chart per skill: average level per conversation, oldest first, each
    conversation named on the x-axis by its date and scenario."""
    labels = progress_labels(points)
    rows = [
        {"Conversation": label, "When": when(p.when), "Scenario": p.title, "Skill": skill,
         "Level": level}
        for label, p in zip(labels, points, strict=True)
        for skill, level in p.levels.items()
    ]
    order = [c.name for c in CRITERIA]
    # One small chart per skill, in the rubric's order: eight lines on one chart overlap
    # exactly where they matter (two skills at the same level hide each other).
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_line(point=alt.OverlayMarkDef(size=50))
        .encode(
            x=alt.X(
                "Conversation:O",
                sort=labels,
                title=None,
                # slanted: a date and a scenario name side by side would overlap
                axis=alt.Axis(labelAngle=-40, labelLimit=170),
            ),
            y=alt.Y(
                "Level:Q",
                title=None,
                scale=alt.Scale(domain=[0, 2]),
                axis=alt.Axis(values=[0, 1, 2]),
            ),
            color=alt.Color("Skill:N", sort=order, legend=None),
            tooltip=["Skill", "Level", "When", "Scenario"],
        )
        .properties(width=alt.Step(26), height=90)
        .facet(facet=alt.Facet("Skill:N", sort=order, title=None), columns=4)
        .properties(title="Average level (0-2) per conversation, oldest first")
    )


def progress_chart() -> None:
    store = state.store()
    latest = store.list_sessions(limit=1)
    stamp = (store.count_sessions(), latest[0].updated_at if latest else 0)
    points = _progress(str(store.path), stamp)
    st.subheader("Your progress")
    if not points:
        st.info("Rated replies will show up here as a chart of each skill over time.")
        return
    st.altair_chart(progress_figure(points))
    st.caption(
        f"Each point is one conversation ({len(points)} so far): the average level of your "
        "replies on each skill. 2 means the skill showed clearly."
    )


def drill_box() -> None:
    """The next drill: the weakest skill of late, and a button into its best scenario."""
    d = suggest_drill(state.store().rated_turns(limit=3000), state.library())
    if d is None:
        return
    with st.container(border=True, key="drill"):
        st.markdown(f":material/fitness_center: **Next drill.** {escape_md(drill_words(d))}")
        if st.button(
            f"Practise {d.scenario.title}", key="drill_start", icon=":material/play_arrow:"
        ):
            info, _ = state.engine().start(d.scenario.id)
            open_session(info.id)
            st.switch_page("practice.py")


def history() -> str | None:
    st.subheader("Past conversations")
    store = state.store()
    lib = state.library()
    c1, c2 = st.columns([2, 1])
    options = [ALL, *lib]
    scen = c1.selectbox(
        "Scenario",
        options,
        format_func=lambda s: s if s == ALL else lib[s].title,
        key="review_scenario",
    )
    scenario_id = None if scen == ALL else scen
    total = store.count_sessions(scenario_id)
    if total == 0:
        st.info("No conversations yet. Start one on the Practice page.")
        return None
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    page = c2.number_input(f"Page (of {pages})", 1, pages, 1, key="review_page")
    infos = store.list_sessions(
        limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, scenario_id=scenario_id
    )
    st.dataframe(
        [
            {
                "When": when(i.updated_at),
                "Scenario": i.title,
                "Replies": i.user_turns,
                "Branches": i.branches,
                "Average score": "–" if i.mean_score is None else f"{i.mean_score:.0f}/100",
                "Finished": "yes" if i.ended else "no",
            }
            for i in infos
        ],
        hide_index=True,
    )
    st.caption(f"{total} conversation{'s' if total != 1 else ''} in all, newest first.")
    labels = {i.id: session_label(i) for i in infos}
    return st.selectbox(
        "Open a conversation",
        list(labels),
        format_func=labels.__getitem__,
        key=f"review_open-{scen}-{page}",
    )


def feedback(sid: str) -> None:
    opened = state.session_or_error(sid)
    if opened is None:
        return
    tree, sc = opened
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    b = c1.selectbox(
        "Branch",
        tree.branch_numbers(),
        format_func=lambda n: branch_label(tree, n),
        key="review_branch",
    )
    c2.download_button(
        "Export Markdown",
        export_markdown(tree, sc),
        file_name=f"coach-{sid}.md",
        mime="text/markdown",
        icon=":material/download:",
    )
    c3.download_button(
        "Export JSON",
        export_json(tree, sc),
        file_name=f"coach-{sid}.json",
        mime="application/json",
        icon=":material/download:",
    )
    if c4.button("Open in Replay", icon=":material/alt_route:"):
        st.session_state["replay_session"] = sid
        st.switch_page("replay.py")
    path = tree.path(b)
    t1, t2 = st.tabs(["Feedback on each reply", "Debrief"])
    with t1:
        conversation(sc, path, key="review")
    with t2:
        debrief_view(sc, path)


def render() -> None:
    st.title("Review")
    if not state.ready():
        return
    progress_chart()
    drill_box()
    sid = history()
    if sid:
        st.subheader("Full feedback")
        feedback(sid)


if __name__ == "__main__":
    render()
