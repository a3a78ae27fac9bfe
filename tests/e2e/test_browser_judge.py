"""The "How good is this judge?" page in a real browser: the built-in judge's card with its
table and chart, and a model judge's run cancelled mid-way."""

from __future__ import annotations

import pytest

from coach.bench.simulated_server import DEFAULT_MODEL, FakeOpenAIServer, Trickle
from coach.evaluation.datasets import ENV
from tests.e2e.test_browser import shot, wait_idle

pytestmark = pytest.mark.e2e


@pytest.fixture
def no_data(monkeypatch):
    """The app starts without dataset variables (CI may set them) or a model."""
    for var in (*ENV.values(), "OPENAI_BASE_URL", "COACH_PARTNER_MODEL", "COACH_JUDGE_MODEL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def trickling_model(no_data, monkeypatch):
    """A model server that never finishes an answer: only Cancel ends the card's run."""
    with FakeOpenAIServer(handler=lambda req: Trickle(interval=0.3)) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("COACH_PARTNER_MODEL", DEFAULT_MODEL)
        monkeypatch.setenv("COACH_TIMEOUT", "600")
        monkeypatch.setenv("COACH_TIME_BUDGET", "600")
        yield srv


def open_judge_page(page, app_url) -> None:
    # Bounds, not timings: a cold start on a busy two-core machine can take most of a minute.
    page.set_default_timeout(120_000)
    page.goto(app_url)
    page.get_by_role("heading", name="Practice a conversation").wait_for()
    page.get_by_role("link", name="Judge report card").first.click()
    page.get_by_role("heading", name="How good is this judge?").wait_for()
    wait_idle(page)


def test_built_in_judge_card_with_table_and_chart(no_data, app_url, page):
    open_judge_page(page, app_url)
    page.get_by_role("button", name="Run the report card").click()
    page.get_by_role("heading", name="Report card: built-in rules", exact=False).wait_for(
        timeout=240_000)
    page.locator("[data-testid='stDataFrame']").first.wait_for()
    page.locator("[data-testid='stVegaLiteChart']").first.wait_for()
    assert page.get_by_text("For a full run").count() == 1
    shot(page, "judge-1-card")


def test_a_model_judge_run_can_be_cancelled(trickling_model, app_url, page):
    open_judge_page(page, app_url)
    page.get_by_role("button", name="Run the report card").click()
    page.get_by_text("Rating Gold set", exact=False).first.wait_for()
    assert trickling_model.chat_requests  # the model is being asked
    shot(page, "judge-2-running")
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("Cancelled.", exact=False).wait_for()
    page.get_by_role("button", name="Run the report card").wait_for()
    assert page.get_by_text("Rating Gold set", exact=False).count() == 0
    assert page.get_by_role("heading", name="Report card:", exact=False).count() == 0
    shot(page, "judge-3-cancelled")
