"""One redaction step for every model error: no secret reaches a message, a row or a log.

Model errors are stored (`turns.error`), exported, printed and shown in the app, and their
text partly comes from places the coach does not control: the base URL a person typed
(which may carry `user:password@` or `?api-key=...`) and the error body a server sends
(which may repeat the bearer token: "Incorrect API key provided: sk-..."). `redact` removes

* URL credentials: the `user:password@` part of any URL;
* secrets in a query string: the value of `api-key=`, `key=`, `token=`, `secret=`,
  `password=`, `sig=`... (the name is kept so the message still says what was there);
* anything shaped like a key: `sk-...` style tokens and `Bearer ...` / `Basic ...` values;
* every secret the process was configured with (`remember_secret`): the exact API key and
  the parts of a base URL's credentials, wherever they appear.

`coach.core.errors.ModelError` and `ConfigError` pass their message through `redact`, so an
error made anywhere on the model path is covered without each call site remembering to.
`install_log_filter` does the same for what the HTTP client logs (its request lines
carry the full URL, credentials included).
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from urllib.parse import parse_qsl, unquote, urlsplit

MASK = "***"
# Shorter strings are too likely to be ordinary words ("ollama", "local") to be hunted down
# everywhere; a real key or password is longer than this.
MIN_SECRET_LEN = 8

_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#@]*@")
_QUERY_RE = re.compile(
    r"(?i)([?&;](?:[\w.-]*?(?:api[-_]?key|key|token|secret|password|passwd|pwd|pass|auth"
    r"|sig|signature|credential)s?[\w.-]*)=)[^&#\s'\"]*"
)
_KEYLIKE_RE = re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{6,}")
# A credential, not a word: "Bearer token missing" and "basic validation" stay readable.
_BEARER_RE = re.compile(
    r"(?i)\b(bearer|basic)\s+(?=[A-Za-z._~+/=\-]*[0-9._~+/=\-])[A-Za-z0-9._~+/=\-]{6,}"
)

_lock = threading.Lock()
_secrets: set[str] = set()


def remember_secret(secret: str | None) -> None:
    """Redact `secret` (and its URL-decoded form) from every later message."""
    if not secret:
        return
    with _lock:
        for s in {secret, unquote(secret)}:
            if len(s) >= MIN_SECRET_LEN:
                _secrets.add(s)


def remember_url_secrets(url: str) -> None:
    """Remember the credentials a URL carries: user, password and secret query values."""
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:  # a malformed URL is refused by the config; nothing to learn here
        return
    remember_secret(user)
    remember_secret(password)
    if user is not None or password is not None:
        # What the HTTP client sends for them (Basic auth), should a server echo it back.
        pair = f"{unquote(user or '')}:{unquote(password or '')}".encode()
        remember_secret(base64.b64encode(pair).decode())
    for name, value in parse_qsl(parts.query, keep_blank_values=False):
        if _QUERY_RE.search(f"?{name}=x"):
            remember_secret(value)


def redact(text: str) -> str:
    """`text` without URL credentials, query secrets, key-shaped tokens or known secrets."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)  # longest first: no partial leftovers
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _USERINFO_RE.sub(rf"\g<1>{MASK}@", text)
    text = _QUERY_RE.sub(rf"\g<1>{MASK}", text)
    text = _KEYLIKE_RE.sub(f"sk-{MASK}", text)
    return _BEARER_RE.sub(rf"\g<1> {MASK}", text)


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


# The loggers that may write a request URL or an error body: the HTTP client's and the SDK's.
_LOGGERS = ("httpx", "httpx2", "openai", "openai._base_client", "coach", "coach.adapters.llm")
_FILTER = _RedactingFilter()


def install_log_filter() -> None:
    """Redact what the HTTP client and the SDK log (idempotent)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
