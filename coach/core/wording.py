"""Say what to do in the words of the screen that shows it.

A message about a setting is written once, where the fault is found (config, the model
client), but it is read in two places: a terminal, where settings are flags and variables
(`--base-url`, OPENAI_API_KEY), and the app, where they are fields on the Settings page.
`either(cli=..., app=...)` marks a phrase that differs; `worded(text, ui)` is the one
function that picks the phrase for a UI. A CoachError keeps its marked text, and its
`str()` is the terminal's wording (the CLI prints errors as they are).
"""

from __future__ import annotations

import re
from typing import Literal

UI = Literal["cli", "app"]

_OPEN, _SEP, _CLOSE = "\u27e6", "\u2016", "\u27e7"  # ⟦cli‖app⟧, characters no message uses
_MARKED = re.compile(f"{_OPEN}([^{_OPEN}{_CLOSE}]*){_SEP}([^{_OPEN}{_CLOSE}]*){_CLOSE}")


def either(*, cli: str, app: str) -> str:
    """A phrase with a terminal's and the app's wording; `worded` picks one."""
    return f"{_OPEN}{cli}{_SEP}{app}{_CLOSE}"


def worded(text: str, ui: UI) -> str:
    """`text` with every marked phrase in the wording of `ui`."""
    return _MARKED.sub(lambda m: m[1] if ui == "cli" else m[2], text)


OFFLINE_HINT = either(
    cli="Offline practice still works: unset COACH_PARTNER_MODEL/COACH_JUDGE_MODEL, or "
    "add --offline.",
    app="Offline practice still works: choose Offline on the Settings page.",
)
BASE_URL = either(cli="OPENAI_BASE_URL (or --base-url)", app="the Base URL on the Settings page")
MODEL_NAMES = either(
    cli="COACH_PARTNER_MODEL / COACH_JUDGE_MODEL (or --partner-model / --judge-model)",
    app="the model names on the Settings page",
)


# The words every view uses for the parts of a conversation: the CLI, the app, the exports
# and the README. What the user writes is a "reply" (numbered from 1, never a "turn" on
# screen), a version of the conversation is a "branch", and a branch that has not ended
# shows NO_ENDING. The stored rows keep their own names (turns, idx, ending): these are
# only the words shown.
ENDINGS = {"felt_heard": "felt heard", "not_heard": "did not feel heard"}
NO_ENDING = "not reached yet"


def ending_words(ending: str | None) -> str:
    """An ending in words: NO_ENDING when there is none yet; one stored by a newer coach
    is shown as it was stored."""
    if not ending:
        return NO_ENDING
    return ENDINGS.get(ending, f"reached the ending '{ending}'")
