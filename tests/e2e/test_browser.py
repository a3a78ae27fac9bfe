"""The whole app in a real browser: practice, branch, compare, review, settings."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.e2e

REPLIES = [
    "Oh no, that sounds humiliating. No wonder you're furious.",
    "<script>alert(1)</script> You should talk to HR tomorrow, [see this](http://x).",
    "What was the hardest part of it for you?",
]


def wait_idle(page) -> None:
    """Wait until Streamlit has finished the current run."""
    page.wait_for_timeout(150)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="detached", timeout=20_000)


def shot(page, name: str) -> None:
    wait_idle(page)
    page.screenshot(path=str(page.shots / f"{name}.png"), full_page=True)


def goto_page(page, title: str, heading: str) -> None:
    page.get_by_role("link", name=title).first.click()
    page.get_by_role("heading", name=heading).first.wait_for()
    wait_idle(page)


def test_practice_branch_compare_review(app_url, page):
    timings = {}
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    t0 = time.perf_counter()
    page.goto(app_url)
    page.get_by_role("heading", name="Practice a conversation").wait_for()
    timings["load"] = time.perf_counter() - t0
    assert page.get_by_text("Offline mode").first.is_visible()
    shot(page, "1-scenarios")

    page.get_by_role("button", name="Start").first.click()
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for()
    for n, reply in enumerate(REPLIES, start=1):
        box.fill(reply)
        box.press("Enter")
        page.get_by_text(f"You (reply {n}):").wait_for()
        wait_idle(page)
    # ratings beside each reply (the last one is drawn once the partner's streamed line
    # ends, which can be after the status widget first goes idle); the script tag and link
    # are shown as text
    page.get_by_text("/100").nth(len(REPLIES) - 1).wait_for()
    assert page.get_by_text("/100").count() >= 3
    assert page.get_by_text("<script>alert(1)</script>", exact=False).count() >= 1
    assert page.locator("a[href='http://x']").count() == 0
    assert not dialogs
    shot(page, "2-practice-rated")

    # branch from reply 2 with the better reply
    page.get_by_role("button", name="Try this instead").nth(1).click()
    page.get_by_role("button", name="Send this reply").click()
    page.get_by_text("You are in Branch 2").wait_for()
    shot(page, "3-practice-branched")

    # finish branch 2: the end of the scenario leads to the debrief
    end = page.get_by_text("The conversation has reached its end")
    for _ in range(8):
        if end.count():
            break
        box.fill("It makes sense that you feel that way. What would help most right now?")
        box.press("Enter")
        wait_idle(page)
    end.wait_for()
    page.get_by_role("heading", name="Debrief").wait_for()
    assert page.get_by_text("What they needed").count() == 1
    page.get_by_role("heading", name="Debrief").scroll_into_view_if_needed()
    shot(page, "3b-debrief")

    t0 = time.perf_counter()
    goto_page(page, "Replay", "Replay a conversation")
    timings["to_replay"] = time.perf_counter() - t0
    page.get_by_role("tab", name="Compare two branches").click()
    page.get_by_text("Branch 2: average score").wait_for()
    assert page.get_by_text("the same in both branches").count() >= 1
    shot(page, "4-replay-compare")
    page.get_by_role("tab", name="Branches", exact=True).click()
    shot(page, "5-replay-branches")

    t0 = time.perf_counter()
    goto_page(page, "Review", "Review")
    timings["to_review"] = time.perf_counter() - t0
    page.get_by_role("heading", name="Your progress").wait_for()
    page.locator("[data-testid='stVegaLiteChart']").first.wait_for()
    shot(page, "6-review")

    goto_page(page, "Settings", "Settings")
    shot(page, "7-settings")

    # Printed for the record (pytest -s); never asserted: wall time depends on the machine.
    print("timings (s):", {k: round(v, 2) for k, v in timings.items()})
