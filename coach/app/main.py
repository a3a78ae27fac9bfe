"""Entry point of the app (`coach app` runs `streamlit run coach/app/main.py`)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from coach.app import state
from coach.app.widgets import practice_note

HERE = Path(__file__).parent

st.set_page_config(page_title="Coach", page_icon=":material/forum:", layout="wide")

PAGES = [
    st.Page(HERE / "practice.py", title="Practice", icon=":material/forum:", default=True),
    st.Page(HERE / "replay.py", title="Replay", icon=":material/alt_route:", url_path="replay"),
    st.Page(HERE / "review.py", title="Review", icon=":material/insights:", url_path="review"),
    st.Page(HERE / "settings.py", title="Settings", icon=":material/tune:", url_path="settings"),
]
page = st.navigation(PAGES)

with st.sidebar:
    st.markdown("**Coach** · rehearse a hard conversation, alone")
    st.caption("Everything you type stays on this computer.")
    practice_note()

if state.is_offline():
    st.info(
        "**Offline mode:** your partner follows a script and replies are rated by built-in "
        "rules. It works without any model; connect one under **Settings** for free-form "
        "conversations.",
        icon=":material/cloud_off:",
    )

page.run()
