"""User-facing errors (coach/core/errors.py): worded per UI, redacted on the model path."""

from __future__ import annotations

from coach.core.errors import (
    CoachError,
    ConfigError,
    ConflictError,
    ModelError,
    ReplyKeptError,
    StoreError,
)
from coach.core.wording import either

MARKED = f"Set {either(cli='OPENAI_API_KEY', app='the API key on the Settings page')}."


def test_str_is_the_terminals_wording_and_for_ui_the_apps() -> None:
    e = CoachError(MARKED)
    assert str(e) == "Set OPENAI_API_KEY."
    assert e.for_ui("cli") == "Set OPENAI_API_KEY."
    assert e.for_ui("app") == "Set the API key on the Settings page."
    assert e.template == MARKED
    assert str(CoachError()) == ""


def test_a_model_error_is_redacted_and_not_retryable_unless_said() -> None:
    e = ModelError(f"HTTP 401 from http://bob:hunter2-pass@host/v1: {MARKED}")
    assert "hunter2-pass" not in str(e) and "***" in str(e)
    assert "hunter2-pass" not in e.for_ui("app") and "Settings page" in e.for_ui("app")
    assert e.retryable is False and e.branch is None
    assert ModelError("timed out", retryable=True).retryable is True


def test_a_config_error_is_redacted() -> None:
    e = ConfigError("bad URL https://h/v1?api-key=abc123xyz")
    assert "abc123xyz" not in str(e) and "api-key=***" in str(e)


def test_a_kept_reply_says_its_branch_and_is_a_store_error() -> None:
    e = ReplyKeptError("disk full", branch=3)
    assert e.branch == 3 and str(e) == "disk full" and isinstance(e, StoreError)
    assert ReplyKeptError("x").branch is None
    assert isinstance(ConflictError("x"), StoreError)
