"""One redaction step for every model error (coach/core/redact.py): URL credentials, query
secrets, key-shaped tokens and remembered secrets never reach a message or a log."""

from __future__ import annotations

import base64
import logging

import pytest

from coach.core import redact as redact_module
from coach.core.redact import (
    install_log_filter,
    redact,
    remember_secret,
    remember_url_secrets,
)


@pytest.fixture(autouse=True)
def _fresh_state(monkeypatch):
    """Each test starts knowing no secret and with no log filter installed: the module keeps
    both process-wide, and a test must not pass on what an earlier one remembered."""
    monkeypatch.setattr(redact_module, "_secrets", set())
    for name in ("httpx", "httpx2", "openai", "openai._base_client", "coach",
                 "coach.adapters.llm"):
        monkeypatch.setattr(logging.getLogger(name), "filters", [])


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("at http://bob:hunter2-pass@host:1/v1 failed", "hunter2-pass"),
        ("GET https://h/v1?api-key=abc123xyz&model=m", "abc123xyz"),
        ("GET https://h/v1?foo=1&access_token=abc123xyz", "abc123xyz"),
        ("Incorrect API key provided: sk-proj-AbCdEf123456.", "AbCdEf123456"),
        ("header was Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("Incorrect API key provided: Basic YWxpY2U6cHc=.", "YWxpY2U6cHc="),
    ],
)
def test_redact_removes_secret_shapes(text, gone) -> None:
    out = redact(text)
    assert gone not in out and "***" in out


def test_redact_removes_remembered_secrets_and_keeps_the_rest() -> None:
    remember_secret("my-odd-token-42")
    assert redact("the server said my-odd-token-42 is wrong") == "the server said *** is wrong"
    remember_secret("abc")  # too short to hunt for: ordinary words must survive
    assert redact("abc def") == "abc def"
    for plain in ("The model server at http://127.0.0.1:8080/v1 failed (HTTP 500: overloaded).",
                  "HTTP 401: Bearer token missing; basic validation failed."):
        assert redact(plain) == plain


def test_the_credentials_of_a_configured_url_are_remembered_wherever_they_appear() -> None:
    remember_url_secrets("http://carol:pa%24%24word-991@example.test/v1?api-key=QKEY-5566-77&x=1")
    said = "user carol pa$$word-991 and pa%24%24word-991, query QKEY-5566-77, x=1"
    out = redact(said)
    for secret in ("pa$$word-991", "pa%24%24word-991", "QKEY-5566-77"):
        assert secret not in out
    assert "x=1" in out and "carol" in out  # shorter than a secret can be: left as a word
    basic = base64.b64encode(b"carol:pa$$word-991").decode()
    assert basic not in redact(f"Authorization {basic}")


def test_a_url_without_credentials_or_a_malformed_one_teaches_nothing() -> None:
    remember_url_secrets("http://[::1/v1")  # malformed: refused by the config, not here
    remember_url_secrets("http://127.0.0.1:8080/v1?model=plain-model-name")
    assert redact("plain-model-name at http://127.0.0.1:8080/v1") == (
        "plain-model-name at http://127.0.0.1:8080/v1")


def test_nothing_and_empty_text_pass_through() -> None:
    remember_secret(None)
    remember_secret("")
    assert redact("") == ""


def test_what_the_http_client_logs_is_redacted(caplog) -> None:
    install_log_filter()
    install_log_filter()  # idempotent: one filter per logger
    assert len(logging.getLogger("httpx").filters) == 1
    with caplog.at_level(logging.INFO, logger="httpx"):
        logging.getLogger("httpx").info("POST %s", "http://dan:sekret-pass-1@h/v1")
        logging.getLogger("httpx").info("GET %s", "http://h/v1/models")
    first, second = caplog.records
    assert first.getMessage() == "POST http://***@h/v1" and first.args is None
    assert second.getMessage() == "GET http://h/v1/models" and second.args == (
        "http://h/v1/models",)


def test_a_secret_of_the_shortest_length_is_hunted_and_the_longest_goes_first() -> None:
    remember_secret("abcd1234")  # exactly MIN_SECRET_LEN
    assert redact("key abcd1234 here") == "key *** here"
    remember_secret("zzsecret99")
    remember_secret("a-zzsecret99-x")  # holds the shorter one: taken out whole, first
    assert redact("it was a-zzsecret99-x") == "it was ***"


def test_a_password_without_a_user_is_remembered_with_its_basic_form() -> None:
    remember_url_secrets("http://:longpassword99@h/v1")
    basic = base64.b64encode(b":longpassword99").decode()
    assert redact(f"longpassword99 {basic}") == "*** ***"


def test_a_user_without_a_password_is_remembered_with_its_basic_form() -> None:
    remember_url_secrets("http://longusername99@h/v1")
    basic = base64.b64encode(b"longusername99:").decode()
    assert redact(f"longusername99 {basic}") == "*** ***"


def test_every_logger_that_may_carry_a_url_gets_the_filter() -> None:
    install_log_filter()
    for name in ("httpx", "openai", "openai._base_client", "coach.adapters.llm"):
        (f,) = logging.getLogger(name).filters
        record = logging.LogRecord(name, logging.INFO, "", 0, "GET %s", ("http://u:p@h/",), None)
        assert f.filter(record) and record.getMessage() == "GET http://***@h/"
    assert logging.getLogger().filters == []  # not the root logger: only those named
