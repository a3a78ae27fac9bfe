"""What lives for the whole process (store, scenarios, the offline engine) and what lives
per browser tab (the chosen backend, the API key, the open session).

The API key only ever sits in this tab's `st.session_state`: it is never written to disk,
put in a URL or logged.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from coach.adapters.config import ModelConfig, resolve_config
from coach.adapters.scenario_files import load_library
from coach.adapters.store import Store, default_db_path
from coach.application.backends import Backend, make_backend
from coach.application.engine import Engine
from coach.core.errors import CoachError, ConfigError
from coach.core.scenario import Scenario
from coach.core.session import Tree

BACKEND = "coach_backend"  # the Backend in use by this tab; None = offline default
SETTINGS = "coach_settings"  # the settings form values (without the key)
API_KEY = "coach_api_key"  # typed by the user; session only
ENV_ERROR = "coach_env_error"  # why the environment's model settings could not be used


@st.cache_resource(show_spinner=False)
def _store(path: str) -> Store:
    return Store(path)


@st.cache_resource(show_spinner=False)
def _library(folder: str) -> dict[str, Scenario]:
    return load_library(Path(folder) if folder else None)


@st.cache_resource(show_spinner=False)
def _offline_engine(path: str, folder: str) -> Engine:
    return Engine(_store(path), make_backend(None), _library(folder))


def _folder() -> str:
    return os.environ.get("COACH_SCENARIOS", "")


def scenario_folder() -> Path | None:
    """The scenario folder the app reads ($COACH_SCENARIOS), or None for the library."""
    return Path(_folder()) if _folder() else None


def store() -> Store:
    return _store(str(default_db_path()))


def library() -> dict[str, Scenario]:
    return _library(_folder())


def env_config() -> ModelConfig | None:
    """The model set by OPENAI_BASE_URL / COACH_* variables, or None (offline).

    A broken setting is remembered under ENV_ERROR for the banner, and the tab runs offline:
    practice must keep working while the user fixes it.
    """
    try:
        return resolve_config()
    except ConfigError as e:
        st.session_state[ENV_ERROR] = e.for_ui("app")
        return None


def backend() -> Backend | None:
    """This tab's backend; on first use, the one the environment configures."""
    if BACKEND not in st.session_state:
        config = env_config()
        st.session_state[BACKEND] = None if config is None else make_backend(config)
    return st.session_state[BACKEND]


def is_offline() -> bool:
    b = backend()
    return b is None or b.offline


def engine() -> Engine:
    """The engine for this tab: the shared offline one, or one over the tab's model backend."""
    b = backend()
    if b is None:
        return _offline_engine(str(default_db_path()), _folder())
    cached = st.session_state.get("_coach_engine")
    if cached is None or cached.backend is not b:
        cached = Engine(store(), b, library())
        st.session_state["_coach_engine"] = cached
    return cached


def ready() -> bool:
    """Open the store and scenarios, or explain why not. Pages stop when this is False."""
    try:
        store()
        library()
    except CoachError as e:
        st.error(e.for_ui("app"))
        return False
    return True


def session_or_error(session_id: str) -> tuple[Tree, Scenario] | None:
    """A session's tree and scenario, or None after showing why it cannot be opened."""
    eng = engine()
    try:
        tree = eng.tree(session_id)
        return tree, eng.scenario_of(tree)
    except CoachError as e:
        st.error(e.for_ui("app"))
        return None
