"""Start `coach app` on a free port with a temporary database, and a Debian chromium.

Without /usr/bin/chromium or the `playwright` package these tests skip with a clear
message, unless COACH_REQUIRE_BROWSER=1 (as `.ci/run` sets): then they fail.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("COACH_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "e2e"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no browser at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[e2e]')"
    return None


# Module scope: Playwright's sync API keeps an event loop running in this thread while it
# is open, which would break later tests that start their own loop.
@pytest.fixture(scope="module")
def browser():
    why = _missing()
    if why:
        if os.environ.get("COACH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required (COACH_REQUIRE_BROWSER=1) but {why}")
        pytest.skip(f"browser tests skipped: {why}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test, so fixtures can tell a failed test at teardown."""
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


def _failed(request) -> bool:
    rep = getattr(request.node, "rep_call", None)
    return rep is not None and rep.failed


@pytest.fixture
def app_url(request, tmp_path, browser):
    port = _free_port()
    env = dict(os.environ)
    env.update(COACH_HOME=str(tmp_path / "home"), COACH_DB=str(tmp_path / "coach.db"))
    env.pop("COACH_SCENARIOS", None)
    log = open(tmp_path / "app.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "coach", "app", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopping it stops streamlit too
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not _healthy(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGTERM) if proc.poll() is None else None
            pytest.fail("the app did not start:\n" + (tmp_path / "app.log").read_text())
        time.sleep(0.2)
    yield url
    if _failed(request):  # what the app said is most of what explains a browser failure
        sys.stderr.write("\n--- app log ---\n" + (tmp_path / "app.log").read_text(
            errors="replace")[-6000:])
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


@pytest.fixture
def page(request, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(20_000)
    pg.shots = SHOTS  # where the tests save screenshots
    yield pg
    if _failed(request):  # what the browser showed when it failed
        pg.screenshot(path=str(SHOTS / f"FAILED-{request.node.name}.png"), full_page=True)
        sys.stderr.write(f"\nscreenshot: {SHOTS / f'FAILED-{request.node.name}.png'}\n")
    ctx.close()
