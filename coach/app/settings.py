"""Settings: which partner and judge this tab uses; test the connection.

The API key is kept in this tab's session only: never written to disk, a URL or a log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from urllib.parse import urlparse

import streamlit as st

from coach.adapters import discovery
from coach.adapters.config import env_for, resolve_config
from coach.app import state
from coach.app.text import escape_md
from coach.application.backends import check_connection, make_backend
from coach.core.errors import CoachError, ConfigError, ModelError

KINDS = {
    "offline": "Offline: scripted partner, built-in rating (no model needed)",
    "local": "A model server on this computer (e.g. `coach serve-local`, llama.cpp, Ollama)",
    "remote": "Any OpenAI-compatible service (base URL, model names, API key)",
}
LOCAL_URL = "http://127.0.0.1:8080/v1"
AUTO = "auto"
FLASH = "settings_flash"  # a confirmation shown once, after the rerun that applies settings
FAILED = "settings_failed"  # (form fingerprint, message) of the last failed Test connection
CONFIRM = "settings_confirm"  # the fingerprint the "use them anyway" question is about
STRUCTURED = [AUTO, "json_schema", "json_object", "prompt"]
FOUND = "settings_found"  # the servers the last "Find models on this computer" saw


def build_config(
    kind: str,
    *,
    base_url: str = "",
    api_key: str = "",
    partner_model: str = "",
    judge_model: str = "",
    structured: str | None = None,
    env: Mapping[str, str] | None = None,
):
    """The model config for the form values, or None for offline.

    Without a typed API key, the environment's key is used only for its own server
    (see `env_for`); other servers get a placeholder key.

    Raises:
        ConfigError: with a message that says which field to fix.
    """
    if kind == "offline":
        return None
    if kind not in KINDS:
        raise ConfigError(f"unknown backend '{kind}'")
    if not base_url.strip():
        raise ConfigError("Give the server's base URL, e.g. http://127.0.0.1:8080/v1.")
    if not base_url.strip().startswith(("http://", "https://")):
        raise ConfigError("The base URL must start with http:// or https://.")
    if not partner_model.strip():
        raise ConfigError("Give the name of the model that plays your partner.")
    return resolve_config(
        base_url=base_url.strip(),
        api_key=api_key or None,
        partner_model=partner_model.strip(),
        judge_model=judge_model.strip() or None,
        structured=None if structured in (None, AUTO) else structured,
        env=env_for(base_url, env),
    )


def check(config) -> str:
    """A one-line report from the server, or a ModelError/ConfigError."""
    if config is None:
        return "Offline mode needs no connection."
    return check_connection(config)


def fingerprint(values: Mapping[str, str], api_key: str) -> str:
    """The form's values as one opaque string: "are these the settings that just failed?"
    A hash, so the key itself is not copied anywhere else in the tab's state."""
    text = json.dumps({**values, "api_key": api_key}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _saved() -> dict:
    """The form's values: what this tab applied last, else what the environment sets."""
    if state.SETTINGS not in st.session_state:
        config = state.env_config()
        if config is None:
            st.session_state[state.SETTINGS] = {
                "kind": "offline",
                "base_url": "",
                "partner_model": "",
                "judge_model": "",
                "structured": AUTO,
            }
        else:
            host = urlparse(config.base_url).hostname or ""
            st.session_state[state.SETTINGS] = {
                "kind": "local" if host in ("127.0.0.1", "localhost", "::1") else "remote",
                "base_url": config.base_url,
                "partner_model": config.partner_model,
                "judge_model": config.judge_model,
                "structured": config.structured,
            }
    return st.session_state[state.SETTINGS]


def _apply(settings: dict, config) -> None:
    """Make `config` this tab's partner and judge (None: offline), then rerun to show it."""
    st.session_state[state.SETTINGS] = settings
    st.session_state[state.BACKEND] = None if config is None else make_backend(config)
    st.session_state.pop("_coach_engine", None)
    # The environment's broken settings no longer apply to this tab: drop the banner.
    st.session_state.pop(state.ENV_ERROR, None)
    # Rerun so the banner and "Now using" above show the new backend, not the old.
    st.session_state[FLASH] = "Settings applied."
    st.rerun()


def _is_local(url: str) -> bool:
    return (urlparse(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


def _find_models(saved: dict) -> None:
    """The "Find models on this computer" section: list, choose, and fetch into Ollama."""
    st.subheader("Find models on this computer")
    st.caption(
        "Asks Ollama, LM Studio, llama.cpp and vLLM at their usual addresses on 127.0.0.1, "
        "and OPENAI_BASE_URL when set. " + discovery.RECOMMENDATION
    )
    if st.button("Find models on this computer", icon=":material/search:", key="find_models"):
        try:
            with st.spinner("Looking…"):
                st.session_state[FOUND] = discovery.discover()
        except ConfigError as e:
            st.error(escape_md(e.for_ui("app")), icon=":material/error:")
            return
    found = st.session_state.get(FOUND)
    if found is None:
        return
    if not found:
        st.info(escape_md(discovery.HOW_TO_START), icon=":material/info:")
        return
    for s in found:
        what = (f"{len(s.models)} model(s)" if s.models else
                s.problem if s.problem else "no model yet")
        st.markdown(f"- **{escape_md(s.name)}** at `{s.base_url}`: {escape_md(what)}")
    choices = [(s.base_url, m) for s in found for m in s.models]
    if choices:
        pick = st.selectbox(
            "Model", range(len(choices)), key="found_choice",
            format_func=lambda i: f"{choices[i][1]}  ({choices[i][0]})",
        )
        if st.button("Use this model", type="primary", key="use_found",
                     icon=":material/check:"):
            url, model = choices[pick]
            kind = "local" if _is_local(url) else "remote"
            try:
                config = build_config(kind, base_url=url, partner_model=model)
            except ConfigError as e:
                st.error(escape_md(e.for_ui("app")), icon=":material/error:")
            else:
                _apply({**saved, "kind": kind, "base_url": url, "partner_model": model,
                        "judge_model": "", "structured": AUTO}, config)
    for s in (s for s in found if s.ollama):
        _pull(s)


def _pull(server) -> None:
    """Fetch a recommended model into the Ollama server, with a progress bar."""
    key = f"pull_{server.base_url}"
    c1, c2 = st.columns([3, 1])
    model = c1.selectbox(f"Fetch a model into Ollama at {server.base_url}",
                         discovery.RECOMMENDED, key=key + "_model", accept_new_options=True)
    if not c2.button("Fetch", key=key + "_go", icon=":material/download:"):
        return
    bar = st.progress(0.0, text=f"Fetching {model}…")
    try:
        for status, done, total in discovery.pull(server.base_url, str(model)):
            fraction = min(done / total, 1.0) if total else 0.0
            bar.progress(fraction, text=f"{model}: {status}"
                         + (f" ({done * 100 // total}%)" if total else ""))
    except ModelError as e:
        st.error(escape_md(e.for_ui("app")), icon=":material/error:")
        return
    bar.progress(1.0, text=f"{model}: done")
    st.success(f"Fetched {model}. It joins the Model list above on the next click.",
               icon=":material/check_circle:")
    st.session_state[FOUND] = discovery.discover()


def render() -> None:
    st.title("Settings")
    st.markdown(
        "Choose who plays your partner and who rates your replies. These settings apply to "
        "this browser tab only."
    )
    saved = _saved()
    b = state.backend()
    st.markdown(f"**Now using:** {'offline (built in)' if b is None else escape_md(b.label)}")
    st.page_link("judge.py", label="How good is this judge? Its report card",
                 icon=":material/fact_check:")
    flash = st.session_state.pop(FLASH, None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    _find_models(saved)
    st.subheader("Choose by hand")
    kinds = list(KINDS)
    kind = st.radio(
        "Who plays your partner and rates your replies",
        kinds,
        index=kinds.index(saved["kind"]),
        format_func=KINDS.__getitem__,
        key="set_kind",
    )
    values = {"kind": kind}
    if kind != "offline":
        default_url = saved["base_url"] or (LOCAL_URL if kind == "local" else "")
        values["base_url"] = st.text_input(
            "Base URL", default_url, placeholder="https://…/v1", key="set_url"
        )
        c1, c2 = st.columns(2)
        values["partner_model"] = c1.text_input(
            "Partner model",
            saved["partner_model"],
            key="set_partner",
            help="The model that plays your partner.",
        )
        values["judge_model"] = c2.text_input(
            "Rating model (optional)",
            saved["judge_model"],
            key="set_judge",
            help="The model that rates your replies; empty means the partner model.",
        )
        values["structured"] = st.selectbox(
            "How the rating model returns JSON",
            STRUCTURED,
            index=STRUCTURED.index(saved.get("structured") or STRUCTURED[0]),
            key="set_structured",
            help="auto: json_schema for OpenAI, json_object (a JSON grammar) for local "
            "servers such as llama.cpp; use 'prompt' if the server rejects both.",
        )
        st.text_input(
            "API key",
            type="password",
            key=state.API_KEY,
            value=st.session_state.get(state.API_KEY, ""),
            help="Kept in this browser tab's memory only; never saved to disk. "
            "Local servers usually need none.",
        )
    api_key = st.session_state.get(state.API_KEY, "") if kind != "offline" else ""
    sig = fingerprint(values, api_key)
    c1, c2, _ = st.columns([1, 1, 3])
    test = c1.button("Test connection", icon=":material/network_check:", disabled=kind == "offline")
    apply = c2.button("Use these settings", type="primary", icon=":material/check:")
    failed = st.session_state.get(FAILED)
    if apply and failed and failed[0] == sig:
        st.session_state[CONFIRM] = sig  # ask first: these are the settings that just failed
        apply = False
    if st.session_state.get(CONFIRM) not in (None, sig):
        st.session_state.pop(CONFIRM, None)  # the form changed since: the question is moot
    if st.session_state.get(CONFIRM) == sig and failed:
        st.warning(
            "These settings just failed **Test connection**: "
            + escape_md(failed[1])
            + " Change them and test again, or use them anyway.",
            icon=":material/warning:",
        )
        apply = st.button("Use them anyway", key="settings_apply_anyway")
    if not (test or apply):
        return
    st.session_state.pop(CONFIRM, None)
    try:
        config = build_config(
            kind,
            base_url=values.get("base_url", ""),
            api_key=api_key,
            partner_model=values.get("partner_model", ""),
            judge_model=values.get("judge_model", ""),
            structured=values.get("structured"),
        )
        if test:
            try:
                with st.spinner("Connecting…"):
                    st.success(escape_md(check(config)), icon=":material/check_circle:")
            except ModelError as e:
                st.session_state[FAILED] = (sig, e.for_ui("app"))
                raise
            st.session_state.pop(FAILED, None)
        if apply:
            _apply({**saved, **values}, config)
    except (ConfigError, ModelError) as e:
        # The server wrote part of this text: show it as text, never as Markdown (a remote
        # image in it would be fetched by the browser).
        st.error(escape_md(e.for_ui("app")), icon=":material/error:")
    except CoachError as e:
        st.error(escape_md(e.for_ui("app")))


if __name__ == "__main__":
    render()
