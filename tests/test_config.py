"""Model configuration: precedence, defaults, clear errors, and a key that never shows."""

from __future__ import annotations

import logging

import pytest

from coach.adapters.config import PLACEHOLDER_KEY, resolve_config
from coach.core.errors import ConfigError

SECRET = "sk-live-SECRET-value-42"


def test_no_model_means_offline() -> None:
    assert resolve_config(env={}) is None
    assert resolve_config(env={"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1"}) is None
    assert resolve_config(env={"COACH_PARTNER_MODEL": "  "}) is None  # blank = unset


def test_env_values_and_judge_defaults_to_partner() -> None:
    cfg = resolve_config(env={"OPENAI_BASE_URL": "http://127.0.0.1:8080/v1/",
                              "COACH_PARTNER_MODEL": "smollm2", "COACH_TIMEOUT": "12"})
    assert cfg is not None
    assert cfg.base_url == "http://127.0.0.1:8080/v1"
    assert (cfg.partner_model, cfg.judge_model) == ("smollm2", "smollm2")
    assert cfg.timeout == 12.0
    assert cfg.structured == "json_object"  # non-OpenAI servers default to json_object
    assert cfg.api_key == PLACEHOLDER_KEY  # a local server needs no real key


def test_explicit_arguments_beat_env() -> None:
    env = {"OPENAI_BASE_URL": "http://env:1/v1", "OPENAI_API_KEY": "env-key",
           "COACH_PARTNER_MODEL": "env-p", "COACH_JUDGE_MODEL": "env-j",
           "COACH_STRUCTURED": "prompt"}
    cfg = resolve_config(base_url="http://arg:2/v1", api_key="arg-key", partner_model="arg-p",
                         judge_model="arg-j", structured="json_schema", env=env)
    assert cfg is not None
    assert (cfg.base_url, cfg.api_key, cfg.partner_model, cfg.judge_model, cfg.structured) == (
        "http://arg:2/v1", "arg-key", "arg-p", "arg-j", "json_schema")
    only_env = resolve_config(env=env)
    assert only_env is not None
    assert (only_env.partner_model, only_env.judge_model, only_env.structured) == (
        "env-p", "env-j", "prompt")


def test_openai_needs_a_key_and_defaults_to_json_schema() -> None:
    with pytest.raises(ConfigError, match="Set OPENAI_API_KEY"):
        resolve_config(env={"COACH_PARTNER_MODEL": "gpt-4o-mini"})
    cfg = resolve_config(env={"COACH_PARTNER_MODEL": "gpt-4o-mini", "OPENAI_API_KEY": SECRET})
    assert cfg is not None and cfg.is_openai
    assert cfg.base_url == "https://api.openai.com/v1"
    assert cfg.structured == "json_schema"


def test_bad_structured_lists_valid_values() -> None:
    with pytest.raises(ConfigError) as e:
        resolve_config(env={"COACH_PARTNER_MODEL": "m", "OPENAI_BASE_URL": "http://h:1/v1",
                            "COACH_STRUCTURED": "xml"})
    msg = str(e.value)
    assert "COACH_STRUCTURED='xml'" in msg
    assert all(m in msg for m in ("json_schema", "json_object", "prompt"))


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"COACH_JUDGE_MODEL": "j"}, "COACH_PARTNER_MODEL"),
        ({"COACH_PARTNER_MODEL": "m", "OPENAI_BASE_URL": "localhost:8080"}, "OPENAI_BASE_URL"),
        ({"COACH_PARTNER_MODEL": "m", "OPENAI_BASE_URL": "http://h:1/v1",
          "COACH_TIMEOUT": "soon"}, "COACH_TIMEOUT"),
        ({"COACH_PARTNER_MODEL": "m", "OPENAI_BASE_URL": "http://h:1/v1",
          "COACH_TIMEOUT": "-3"}, "COACH_TIMEOUT"),
    ],
)
def test_errors_say_what_to_set(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        resolve_config(env=env)


def test_key_is_hidden(caplog: pytest.LogCaptureFixture) -> None:
    cfg = resolve_config(env={"COACH_PARTNER_MODEL": "m", "OPENAI_API_KEY": SECRET})
    assert cfg is not None and cfg.api_key == SECRET
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("coach").info("config %r %s %s", cfg, cfg, cfg.describe())
    for text in (repr(cfg), str(cfg), cfg.describe(), caplog.text):
        assert SECRET not in text
    assert "partner_model='m'" in repr(cfg)


def test_describe_strips_url_credentials_and_query() -> None:
    cfg = resolve_config(
        base_url="https://alice:pa55word@llm.example.com:8443/v1?api-key=QUERYSECRET#frag",
        env={"COACH_PARTNER_MODEL": "m"},
    )
    assert cfg is not None
    label = cfg.describe()
    assert "llm.example.com:8443/v1" in label
    for leak in ("alice", "pa55word", "QUERYSECRET", "api-key", "frag", "@", "?"):
        assert leak not in label


BAD_URLS = ["http://127.0.0.1:abc/v1", "http://[::1", "http://127.0.0.1:99999/v1",
            "http://exa mple.com/v1", "http://:8080/v1"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_malformed_base_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(ConfigError) as env_err:
        resolve_config(env={"COACH_PARTNER_MODEL": "m", "OPENAI_BASE_URL": url})
    assert str(env_err.value).startswith("OPENAI_BASE_URL=")
    assert "is not usable" in str(env_err.value) and "http://127.0.0.1:8080/v1" in str(
        env_err.value)
    with pytest.raises(ConfigError) as arg_err:  # typed in Settings, or --base-url
        resolve_config(base_url=url, partner_model="m", env={})
    # each UI names its own place to fix it (coach.core.wording): the flag, or the form's field
    assert "--base-url" in str(arg_err.value) and "Settings" not in str(arg_err.value)
    app = arg_err.value.for_ui("app")
    assert "Base URL on the Settings page" in app and "--base-url" not in app


def test_a_malformed_url_with_credentials_does_not_echo_them() -> None:
    with pytest.raises(ConfigError) as e:
        resolve_config(env={"COACH_PARTNER_MODEL": "m",
                            "OPENAI_BASE_URL": "http://bob:pw-SECRET-9@[::1/v1?api-key=Q-SECRET-9"})
    assert "SECRET" not in str(e.value) and "bob" not in str(e.value)


def test_good_urls_still_pass() -> None:
    for url in ("http://[::1]:8080/v1", "https://llm.example.com/v1", "http://localhost:11434/v1"):
        cfg = resolve_config(env={"COACH_PARTNER_MODEL": "m", "OPENAI_BASE_URL": url})
        assert cfg is not None and cfg.base_url == url
