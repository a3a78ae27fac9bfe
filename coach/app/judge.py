"""How good is this judge? The report card of the judge this tab uses.

The card runs in a background thread (`coach.application.report_card` does the work): the
page stays usable, a fragment polls the thread's progress every half second, and Cancel sets
the thread's `threading.Event`. The job lives in this tab's session state, so leaving the
page and coming back finds it still running, or its card.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import altair as alt
import pandas as pd
import streamlit as st

from coach.app import state
from coach.app.text import escape_md
from coach.application import report_card as rc
from coach.core.errors import CoachError

JOB = "judge_card_job"  # the running Job
CARD = "judge_card"  # the last finished ReportCard
NOTICE = "judge_card_notice"  # (kind, text) shown once after a run ends without a card
FOLDERS = "judge_card_folders"  # the dataset folders typed on this page
LIMIT = "judge_card_limit"
POLL_S = 0.5


@dataclass
class Job:
    """One run of the card in its thread; the thread writes, the page reads."""

    judge_label: str
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: rc.CardProgress | None = None
    card: rc.ReportCard | None = None
    error: str = ""
    cancelled: bool = False
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


EMPTY = "–"  # a cell with no figure


def start(judge, judge_label: str, folders: dict[str, str], limit: int | None,
          refresh: bool) -> Job:
    """Start the card for `judge` in a daemon thread and return its job."""
    job = Job(judge_label)
    scenarios = state.scenario_folder()

    def work() -> None:
        try:
            job.card = rc.run_report_card(
                judge, folders, limit=limit, refresh=refresh, scenarios=scenarios,
                on_progress=lambda p: setattr(job, "progress", p), cancel=job.cancel,
            )
        except rc.Cancelled:
            job.cancelled = True
        except CoachError as e:
            job.error = e.for_ui("app")

    job.thread = threading.Thread(target=work, name="report-card", daemon=True)
    job.thread.start()
    return job


def _finish(job: Job) -> None:
    """Move a finished job's card (or why there is none) to where the page shows it."""
    st.session_state.pop(JOB, None)
    if job.card is not None:
        st.session_state[CARD] = job.card
    elif job.error:
        st.session_state[NOTICE] = ("error", job.error)
    elif not job.cancelled:  # the thread ended without a card or a reason: a real bug
        st.session_state[NOTICE] = ("error", "The report card stopped without a result; "
                                    "see the app's log.")


@st.fragment(run_every=POLL_S)
def watch() -> None:
    """The progress bar and Cancel button, redrawn every POLL_S seconds while a run lasts."""
    job: Job | None = st.session_state.get(JOB)
    if job is None:
        return
    if not job.running:
        _finish(job)
        st.rerun()  # the whole page: the card goes below the form
    p = job.progress
    text = f"{p.stage} · {p.done:,} of {p.total:,} ratings" if p else "Starting…"
    st.progress(p.fraction if p else 0.0, text=escape_md(text))
    st.caption(f"Measuring {escape_md(job.judge_label)}. You can use the other pages "
               "meanwhile.")
    if st.button("Cancel", key="judge_cancel", icon=":material/cancel:"):
        job.cancel.set()
        st.session_state.pop(JOB, None)
        st.session_state[NOTICE] = (
            "info",
            "Cancelled. The ratings made so far are kept in the cache: running the card "
            "again carries on from there.",
        )
        st.rerun()


def card_chart(points: list[dict]) -> alt.Chart:
    """Bars side by side per dimension: this judge, the published figures, the goal; the
    experts' agreement with each other as a floating bar over its range."""
    order = ["this judge", *rc.REFERENCES, "goal"]
    panels = list(dict.fromkeys(p["panel"] for p in points))  # the table's order
    return (
        alt.Chart(pd.DataFrame(points))
        .mark_bar()
        .encode(
            x=alt.X("what:N", title=None, sort=None,
                    axis=alt.Axis(labelAngle=-30, labelLimit=200)),
            xOffset=alt.XOffset("source:N", sort=order),
            y=alt.Y("end:Q", title=None),
            y2="start:Q",
            color=alt.Color("source:N", sort=order, title=None,
                            legend=alt.Legend(orient="top")),
            tooltip=["panel:N", "what:N", "source:N", "label:N"],
        )
        .properties(height=170)
        .facet(row=alt.Row("panel:N", title=None, sort=panels,
                           header=alt.Header(labelAngle=0, labelAlign="left", labelLimit=160)))
        .resolve_scale(x="independent")
    )


def _suite_points(card: rc.ReportCard) -> list[dict]:
    return [{"panel": "Adversarial suites: share passed", "what": s["suite"].replace("_", " "),
             "source": "this judge", "start": 0.0, "end": s["passed"] / s["cases"],
             "label": f"{s['passed']} / {s['cases']}"}
            for s in card.suites if s["cases"]]


def show(card: rc.ReportCard) -> None:
    """The finished card: headline figures, the comparison table and chart, the suites."""
    st.subheader(f"Report card: {card.judge}")
    if card.from_cache:
        st.caption(f"From the cache: made {card.made_at} with the same judge and data. "
                   "**Run again, rating afresh** makes a new one.")
    if card.error:
        st.error("The model stopped the card: " + escape_md(card.error_for("app")),
                 icon=":material/error:")
    for p in card.problems:
        st.warning(escape_md(p), icon=":material/warning:")
    passed, cases = card.adversarial
    gold = next((r for r in card.rows if r.dataset == "Gold set" and r.measure == "accuracy"),
                None)
    ran = sorted({r.dataset for r in card.rows if r.judge is not None} - {"Gold set"})
    c1, c2, c3 = st.columns(3)
    c1.metric("Gold set: levels agreed", f"{gold.judge:.0%}" if gold and gold.judge else "-")
    c2.metric("Adversarial cases passed", f"{passed} / {cases}" if cases else "-")
    c3.metric("Labelled datasets measured", f"{len(ran)} of 4")
    st.markdown("**Beside the published figures** (empty where none is published; QWK: "
                "quadratic-weighted kappa against the experts' mean)")
    df = pd.DataFrame(rc.table(card))
    # Shown as text: an empty cell is a dash, not Streamlit's grey "None" (most references
    # publish nothing, and a dataset not given was not run).
    for col in ("This judge", *rc.REFERENCES[:-1], "Goal"):
        df[col] = [EMPTY if pd.isna(v) else f"{v:.3f}" for v in df[col]]
    df["n"] = [EMPTY if pd.isna(v) else f"{int(v)}" for v in df["n"]]
    st.dataframe(df, hide_index=True, key="judge_card_table")
    points = rc.chart_points(card) + _suite_points(card)
    if points:
        st.altair_chart(card_chart(points))
    if card.suites:
        with st.expander(f"Adversarial suites: {passed} of {cases} cases passed"):
            st.dataframe(pd.DataFrame(card.suites), hide_index=True, key="judge_card_suites")
            for f in card.failures:
                st.markdown(f"- {escape_md(f['suite'])}/{escape_md(f['id'])}: "
                            f"{escape_md(f['why'])}")
    for line in card.left_out:
        st.caption(escape_md(line))
    needs = card.needs_for("app")
    if needs:
        st.info("**For a full run:**\n\n" + "\n".join(f"- {escape_md(n)}" for n in needs),
                icon=":material/dataset:")
    if not card.from_cache:
        st.caption(f"Ratings: {card.ratings['cached']:,} from the cache, "
                   f"{card.ratings['new']:,} new.")


def _folders() -> dict[str, str]:
    """The dataset folder fields, kept in this tab's state across pages."""
    saved = st.session_state.setdefault(FOLDERS, {})
    have = any(saved.get(n) or os.environ.get(rc.ENV[n]) for n in rc.EXTERNAL)
    with st.expander("Labelled data (optional): the folders of the datasets you have",
                     expanded=not have):
        st.caption("Without them the card still measures the judge on the project's own gold "
                   "and adversarial suites. Empty fields use the environment variable.")
        for name in rc.EXTERNAL:
            saved[name] = st.text_input(
                f"{rc.TITLES[name]} folder",
                value=saved.get(name) or os.environ.get(rc.ENV[name], ""),
                key=f"judge_dir_{name}",
                placeholder=rc.ENV[name],
                help=f"A folder with {rc.FILES[name]}. The data: {rc.SOURCES[name]}.",
            ).strip()
    return dict(saved)


def render() -> None:
    st.title("How good is this judge?")
    st.markdown(
        "Measures the judge that rates your replies against people's ratings (the project's "
        "gold set, and any labelled dataset you have), and against the adversarial suites, "
        "and shows it beside the published figures: crowd workers, LLM judges, "
        "expert-to-expert agreement, the datasets' own models."
    )
    if not state.ready():
        return
    b = state.backend()
    judge = None if b is None or b.offline else b.judge
    label = "the built-in rules (offline)" if judge is None else b.label
    st.markdown(f"**Judge:** {escape_md(label)}")
    st.page_link("settings.py", label="Choose another judge on the Settings page",
                 icon=":material/tune:")
    folders = _folders()
    limit = st.number_input("At most this many items per dataset (0: all of them)",
                            min_value=0, step=50, key=LIMIT,
                            help="A model judge makes one call per reply: a limit keeps a "
                            "first look short.")
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        kind, text = notice
        (st.error if kind == "error" else st.info)(escape_md(text))
    if st.session_state.get(JOB) is not None:
        watch()
    else:
        card = st.session_state.get(CARD)
        c1, c2, _ = st.columns([1, 1, 2])
        go = c1.button("Run the report card", type="primary", key="judge_run",
                       icon=":material/play_arrow:")
        again = c2.button("Run again, rating afresh", key="judge_rerun",
                          icon=":material/refresh:", disabled=card is None)
        if go or again:
            st.session_state.pop(CARD, None)
            st.session_state[JOB] = start(judge, label, folders, limit or None, refresh=again)
            st.rerun()
    card = st.session_state.get(CARD)
    if card is not None and st.session_state.get(JOB) is None:
        show(card)


if __name__ == "__main__":
    render()
