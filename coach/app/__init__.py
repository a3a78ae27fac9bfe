"""The Streamlit app: practice, replay, review and settings pages.

`main.py` is the entry point (`coach app` runs it); each page is a file here that Streamlit
executes; the logic lives in plain functions (`text`, `logic`) so it can be tested alone.
"""
