"""Which model server and models to use, resolved from arguments and the environment.

Precedence for every setting: explicit argument > environment variable > default. When
no model is named anywhere, `resolve_config` returns None and the coach runs offline
(scripted partner + heuristic judge), so the app works with no setup at all.

Environment variables:
    OPENAI_BASE_URL      server URL, e.g. http://127.0.0.1:8080/v1 (default: api.openai.com)
    OPENAI_API_KEY       needed for api.openai.com; a local server gets a placeholder
    COACH_PARTNER_MODEL  model that plays the partner (setting it turns the model path on)
    COACH_JUDGE_MODEL    model that rates replies (default: the partner model)
    COACH_STRUCTURED     json_schema | json_object | prompt (default: json_schema for
                         api.openai.com, json_object elsewhere, which llama.cpp servers honour)
    COACH_TIMEOUT        seconds per request (default 60)
    COACH_TIME_BUDGET    seconds per call including retries (default 120)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args
from urllib.parse import urlparse, urlsplit, urlunsplit

from coach.core.errors import ConfigError
from coach.core.wording import either

Structured = Literal["json_schema", "json_object", "prompt"]
STRUCTURED_MODES: tuple[str, ...] = get_args(Structured)

OPENAI_URL = "https://api.openai.com/v1"
# A local server ignores the key, but the SDK refuses to build a client without one.
PLACEHOLDER_KEY = "not-needed-for-local-server"
DEFAULT_TIMEOUT = 60.0
DEFAULT_TIME_BUDGET = 120.0


@dataclass(frozen=True)
class ModelConfig:
    """A resolved model configuration. `repr` never shows the API key.

    Attributes:
        base_url: the OpenAI-compatible server, ending in /v1 for most servers.
        api_key: the key sent as a bearer token (a placeholder for local servers).
        partner_model: model name for the partner.
        judge_model: model name for the judge.
        structured: how the judge asks for JSON (see module docstring).
        timeout: seconds one HTTP request may take.
        time_budget: seconds one call may take in total, retries and back-off included.
    """

    base_url: str
    api_key: str = field(repr=False)
    partner_model: str
    judge_model: str
    structured: Structured
    timeout: float = DEFAULT_TIMEOUT
    time_budget: float = DEFAULT_TIME_BUDGET

    @property
    def is_openai(self) -> bool:
        """True when talking to OpenAI's own API (a real key is required there)."""
        return is_openai_url(self.base_url)

    def describe(self) -> str:
        """A one-line summary for the UI, free of keys and URL credentials."""
        models = (
            self.partner_model
            if self.partner_model == self.judge_model
            else f"partner {self.partner_model}, judge {self.judge_model}"
        )
        return f"{models} at {safe_url(self.base_url)} ({self.structured})"


def safe_url(url: str) -> str:
    """`url` without user:password@ and without a query or fragment.

    A URL can carry credentials (https://user:key@host/v1, ...?api-key=...); what is shown,
    stored as a session's label or exported must not.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # e.g. a port that is not a number: show nothing that could leak
        return "(invalid URL)"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def is_openai_url(url: str) -> bool:
    """True for api.openai.com (and its subdomains); False for a malformed URL."""
    try:
        host = (urlparse(url).hostname or "").lower()
    except ValueError:  # e.g. "http://[::1": not OpenAI, and `url_problem` says why
        return False
    return host == "openai.com" or host.endswith(".openai.com")


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a model server's base URL, or None when it can.

    Checked when the configuration is made, so a malformed URL (`http://127.0.0.1:abc/v1`,
    `http://[::1`) is one clear line instead of a ValueError from deep in the HTTP client.
    """
    try:
        parts = urlsplit(url)
        port = parts.port  # raises for a port that is not a number in 0-65535
        host = parts.hostname
    except ValueError as e:
        return f"it cannot be read as a URL ({e})"
    if parts.scheme not in ("http", "https"):
        return "it does not start with http:// or https://"
    if not host:
        return "it names no server (host)"
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "it contains spaces or control characters"
    if port == 0:
        return "port 0 is not a port a server listens on"
    return None


def key_for(url: str, env: Mapping[str, str] | None = None, *, given: bool = False) -> str | None:
    """The environment's OPENAI_API_KEY if it may be sent to `url`, else None.

    The one rule for "which key goes to which server": the key belongs to the server it was
    set for, the URL in OPENAI_BASE_URL, or OpenAI's own API when that is unset. `given`
    says the user paired `url` with the environment on the command line (`--base-url`),
    which, like `coach practice --base-url`, sends it the key. Any other URL (a probed
    local default, one typed into the Settings page) gets none.
    """
    env = os.environ if env is None else env
    key = env.get("OPENAI_API_KEY", "").strip() or None
    if key is None or given:
        return key
    url = url.strip().rstrip("/")
    env_url = env.get("OPENAI_BASE_URL", "").strip().rstrip("/")
    return key if ((url == env_url) if env_url else is_openai_url(url)) else None


def env_for(base_url: str, env: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """The environment to resolve settings for `base_url` with: without OPENAI_API_KEY
    unless `key_for` allows it, so a key is never sent to whatever URL is typed into a form.
    """
    env = os.environ if env is None else env
    if key_for(base_url, env) is not None:
        return env
    return {k: v for k, v in env.items() if k != "OPENAI_API_KEY"}


def _pick(arg: str | None, env: Mapping[str, str], name: str) -> str | None:
    # An empty env var counts as unset: `export COACH_JUDGE_MODEL=` is how people clear one.
    if arg is not None and arg.strip():
        return arg.strip()
    value = env.get(name, "").strip()
    return value or None


def _seconds(raw: str | None, name: str, default: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds; use e.g. {name}=60.")
    return value


def resolve_config(
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    partner_model: str | None = None,
    judge_model: str | None = None,
    structured: str | None = None,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
) -> ModelConfig | None:
    """Resolve the model configuration.

    Args:
        base_url: overrides OPENAI_BASE_URL.
        api_key: overrides OPENAI_API_KEY.
        partner_model: overrides COACH_PARTNER_MODEL.
        judge_model: overrides COACH_JUDGE_MODEL.
        structured: overrides COACH_STRUCTURED.
        timeout: overrides COACH_TIMEOUT (seconds per request).
        env: the environment to read (default: os.environ).

    Returns:
        The configuration, or None when no model is configured (offline practice).

    Raises:
        ConfigError: a setting is missing or invalid; the message says what to set.
    """
    env = os.environ if env is None else env
    partner = _pick(partner_model, env, "COACH_PARTNER_MODEL")
    judge = _pick(judge_model, env, "COACH_JUDGE_MODEL")
    if partner is None and judge is None:
        if base_url:
            raise ConfigError(
                f"A base URL was given ({base_url}) but no model. Name the model that plays "
                "the partner: --partner-model NAME (or COACH_PARTNER_MODEL=NAME)."
            )
        return None
    if partner is None:
        raise ConfigError(
            f"COACH_JUDGE_MODEL is set ({judge}) but COACH_PARTNER_MODEL is not. Set "
            f"COACH_PARTNER_MODEL too (it can be the same model: "
            f"export COACH_PARTNER_MODEL={judge}), or unset COACH_JUDGE_MODEL to practise "
            "offline."
        )
    judge = judge or partner

    url = (_pick(base_url, env, "OPENAI_BASE_URL") or OPENAI_URL).rstrip("/")
    problem = url_problem(url)
    if problem is not None:
        # ConfigError redacts the URL's credentials, should it carry any.
        if base_url is not None and base_url.strip():
            raise ConfigError(
                f"The base URL {url!r} is not usable: {problem}. "
                + either(cli="Fix --base-url", app="Fix the Base URL on the Settings page")
                + "; e.g. http://127.0.0.1:8080/v1."
            )
        raise ConfigError(
            f"OPENAI_BASE_URL={url!r} is not usable: {problem}. Fix it, e.g. "
            "OPENAI_BASE_URL=http://127.0.0.1:8080/v1, or unset it to use api.openai.com."
        )

    key = _pick(api_key, env, "OPENAI_API_KEY")
    if key is None:
        if is_openai_url(url):
            raise ConfigError(
                either(
                    cli=f"COACH_PARTNER_MODEL={partner} is set but there is no API key for "
                    f"{url}. Set OPENAI_API_KEY, or point OPENAI_BASE_URL at a local server "
                    "(see `coach serve-local`), or unset COACH_PARTNER_MODEL/"
                    "COACH_JUDGE_MODEL to practise offline.",
                    app=f"There is no API key for {url}. Type it in the API key field on "
                    "the Settings page, or choose a model server on this computer, or "
                    "Offline.",
                )
            )
        key = PLACEHOLDER_KEY

    mode = _pick(structured, env, "COACH_STRUCTURED")
    if mode is None:
        # OpenAI enforces strict JSON schemas; llama.cpp-style servers accept a schema
        # inside json_object and turn it into a grammar, which is the safer default there.
        mode = "json_schema" if is_openai_url(url) else "json_object"
    if mode not in STRUCTURED_MODES:
        raise ConfigError(
            f"COACH_STRUCTURED={mode!r} is not valid; use one of: {', '.join(STRUCTURED_MODES)}."
        )

    per_request = (
        timeout
        if timeout is not None
        else _seconds(_pick(None, env, "COACH_TIMEOUT"), "COACH_TIMEOUT", DEFAULT_TIMEOUT)
    )
    budget = _seconds(
        _pick(None, env, "COACH_TIME_BUDGET"), "COACH_TIME_BUDGET", DEFAULT_TIME_BUDGET
    )
    return ModelConfig(
        base_url=url,
        api_key=key,
        partner_model=partner,
        judge_model=judge,
        structured=mode,  # type: ignore[arg-type]
        timeout=per_request,
        time_budget=max(budget, per_request),
    )
