"""User-facing errors.

Every error a person can cause or fix (a broken scenario file, an empty reply, a model
server that is down) is a `CoachError` whose message says what went wrong and what to do.
The CLI and the app print the message; they never show a traceback for these.
"""

from __future__ import annotations

import threading

from coach.core.redact import redact
from coach.core.wording import UI, worded

# Set when the person pressed Ctrl-C. Libraries sometimes catch the KeyboardInterrupt and
# raise something else (pydantic wraps one that lands while it builds a validator, and the
# openai client turns that into a connection error), so code that maps errors checks this
# rather than the exception's type.
INTERRUPTED = threading.Event()


class CoachError(Exception):
    """Base class: the message is written for the person using the coach.

    `str(e)` is the message as a terminal shows it; `e.for_ui("app")` as the app does
    (see coach.core.wording: a setting is a variable in one, a field in the other).
    """

    def __init__(self, message: str = "") -> None:
        self.template = message
        super().__init__(worded(message, "cli"))

    def for_ui(self, ui: UI) -> str:
        """The message in the words of `ui` ("cli" or "app")."""
        return worded(self.template, ui)


class ScenarioError(CoachError):
    """A scenario file is missing, unreadable or does not match the schema."""


class ReplyError(CoachError):
    """The user's reply cannot be used (empty, too long)."""


class ConfigError(CoachError):
    """The model configuration is incomplete or contradictory.

    The message names settings, and may quote a URL: it is redacted (`coach.core.redact`).
    """

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class StoreError(CoachError):
    """A session, branch or turn that was asked for does not exist."""


class ConflictError(StoreError):
    """Two windows wrote the same turn at once; the second write was refused."""


class ReplyKeptError(StoreError):
    """Storing a turn's result failed (a full disk...) after the reply itself was saved.

    Attributes:
        branch: the branch whose reply is stored and waiting for a retry.
    """

    def __init__(self, message: str, *, branch: int | None = None) -> None:
        super().__init__(message)
        self.branch = branch


class ModelError(CoachError):
    """A model call failed in a way the user should hear about.

    Attributes:
        retryable: True when trying the same turn again later may succeed
            (timeouts, rate limits, a server that is starting up).
    """

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        # Every model error passes here: the one place secrets are taken out of it
        # (URL credentials, query secrets, the configured key, key-shaped tokens).
        super().__init__(redact(message))
        self.retryable = retryable
        # Set by the engine: the branch whose reply is stored and waiting for a retry.
        self.branch: int | None = None
