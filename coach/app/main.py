"""Entry point of the app (`coach app` runs `streamlit run coach/app/main.py`)."""

from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st

from coach.app import state
from coach.app.text import escape_md
from coach.app.widgets import practice_note
from coach.core.errors import CoachError
from coach.judges.acts import language

HERE = Path(__file__).parent


@st.cache_resource
def _warm_language_models() -> threading.Thread:
    """Once per app process: load the language identifier in the background, so the first
    reply in another language does not wait seconds for it."""
    thread = threading.Thread(target=language.warm_up, name="language-warm-up", daemon=True)
    thread.start()
    return thread


_warm_language_models()

st.set_page_config(page_title="Coach", page_icon=":material/forum:", layout="wide")

PAGES = [
    st.Page(HERE / "practice.py", title="Practice", icon=":material/forum:", default=True),
    st.Page(HERE / "replay.py", title="Replay", icon=":material/alt_route:", url_path="replay"),
    st.Page(HERE / "review.py", title="Review", icon=":material/insights:", url_path="review"),
    st.Page(HERE / "settings.py", title="Settings", icon=":material/tune:", url_path="settings"),
    st.Page(HERE / "judge.py", title="Judge report card", icon=":material/fact_check:",
            url_path="judge"),
]
page = st.navigation(PAGES)

with st.sidebar:
    st.markdown("**Coach** · rehearse a hard conversation, alone")
    st.caption("Everything you type stays on this computer.")
    practice_note()

offline = state.is_offline()  # first use reads the environment's model settings
if st.session_state.get(state.ENV_ERROR):
    st.warning(
        "The model settings in your environment can't be used, so this tab runs offline: "
        + escape_md(st.session_state[state.ENV_ERROR])
        + " To use a model in this tab now, choose it on the **Settings** page.",
        icon=":material/warning:",
    )
if offline:
    st.info(
        "**Offline mode:** your partner follows a script and replies are rated by built-in "
        "rules. It works without any model; connect one under **Settings** for free-form "
        "conversations.",
        icon=":material/cloud_off:",
    )

try:
    page.run()
except CoachError as e:
    # A fault no page handles itself (a damaged database, a full disk): one clear line
    # instead of a traceback. Streamlit's own rerun and page-switch signals pass through.
    st.error(escape_md(e.for_ui("app")), icon=":material/error:")
