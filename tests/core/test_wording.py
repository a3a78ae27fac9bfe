"""One message, two screens (coach/core/wording.py): `either` marks a phrase, `worded` picks it."""

from __future__ import annotations

from coach.core.wording import BASE_URL, either, ending_words, worded


def test_each_ui_gets_its_own_phrase_and_the_rest_is_kept() -> None:
    url, key = either(cli="--base-url", app="the Base URL"), either(cli="-k", app="the key")
    text = f"Check {url} and {key}."
    assert worded(text, "cli") == "Check --base-url and -k."
    assert worded(text, "app") == "Check the Base URL and the key."


def test_text_without_a_marked_phrase_is_unchanged() -> None:
    assert worded("Cannot reach the model server.", "app") == "Cannot reach the model server."
    assert worded("", "cli") == ""


def test_an_empty_phrase_on_one_side_is_allowed() -> None:
    assert worded(f"a{either(cli='', app=' (Settings)')}.", "cli") == "a."
    assert worded(f"a{either(cli='', app=' (Settings)')}.", "app") == "a (Settings)."


def test_the_shared_phrases_name_a_variable_in_the_terminal_and_a_field_in_the_app() -> None:
    assert "OPENAI_BASE_URL" in worded(BASE_URL, "cli")
    assert "Settings page" in worded(BASE_URL, "app") and "OPENAI" not in worded(BASE_URL, "app")


def test_an_ending_in_words_and_a_branch_without_one() -> None:
    assert ending_words("felt_heard") == "felt heard"
    assert ending_words("not_heard") == "did not feel heard"
    assert ending_words(None) == ending_words("") == "not reached yet"
    assert ending_words("walked_out") == "reached the ending 'walked_out'"  # a newer coach's
