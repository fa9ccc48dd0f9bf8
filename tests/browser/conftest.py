"""Browser tests: Playwright drives Debian's Chromium against a live server of the test app.

* The live server is werkzeug's ``make_server`` in a thread of the test process, on a free
  port of 127.0.0.1, serving the session's ``app`` (so the test database, reset after each
  test). It is shut down and joined (bounded) at the end of each test.
* Chromium is ``/usr/bin/chromium`` (installed by ``python3 dev.py test``; never
  ``playwright install``), headless, with a fresh user-data-dir per test.
* :class:`BrowserCheck` takes a screenshot of every page it checks into
  ``test-artifacts/browser/<test>/`` and runs axe-core (bundled by axe-playwright-python) on
  it; any violation fails the test and is printed.
* Exports run in a real Celery worker subprocess (``tests/tasks/worker_process.py``) started
  by the test that needs it: the live server enqueues exactly as in production.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
SERVER_START_TIMEOUT = 15.0
ACTION_TIMEOUT_MS = 20_000


@pytest.fixture
def live_server(app):
    """The test app served on a free local port for the duration of one test."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):  # one line per request would drown the test output
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                              name="live-server")
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"{base_url}/connexion", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"live server not answering on {base_url} after {SERVER_START_TIMEOUT:g} s")
            time.sleep(0.05)
        yield base_url
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def playwright_driver():
    if not CHROMIUM.exists():
        pytest.fail("Chromium est absent (/usr/bin/chromium) : lancez « python3 dev.py test », qui l'installe, "
                    "ou « apt-get install chromium » en root. / Chromium is missing: run `python3 dev.py test` "
                    "(it installs it) or `apt-get install chromium` as root.", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


def _launch(driver, profile: Path, **options):
    context = driver.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, accept_downloads=True,
        locale="fr-FR", timezone_id="Europe/Paris", viewport={"width": 1280, "height": 900}, **options)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
    return context


@pytest.fixture
def browser_context(playwright_driver, tmp_path):
    """A fresh Chromium (new profile folder) with JavaScript on."""
    context = _launch(playwright_driver, tmp_path / "chromium-profile")
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def browser_context_without_js(playwright_driver, tmp_path):
    """A fresh Chromium with JavaScript disabled: the essential paths must work without it."""
    context = _launch(playwright_driver, tmp_path / "chromium-profile-nojs", java_script_enabled=False)
    try:
        yield context
    finally:
        context.close()


class BrowserCheck:
    """Screenshots and axe-core on every page a test looks at."""

    def __init__(self, page, base_url: str, folder: Path, *, axe: bool = True):
        self.page = page
        self.base_url = base_url
        self.folder = folder
        self.count = 0
        self.checked: list[str] = []
        self.axe = None
        if axe:
            from axe_playwright_python.sync_playwright import Axe

            self.axe = Axe()

    def goto(self, path: str, name: str | None = None):
        response = self.page.goto(f"{self.base_url}{path}")
        assert response is not None and response.status < 400, f"GET {path} → {response and response.status}"
        if name:
            self.check(name)
        return response

    def check(self, name: str, *, full_page: bool = True) -> None:
        """Screenshot the page, then run axe-core on it: any violation fails the test."""
        self.count += 1
        plain = unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{slug}.png"), full_page=full_page)
        self.checked.append(f"{name}: {self.page.url}")
        if self.axe is None:
            return
        results = self.axe.run(self.page)
        violations = results.response["violations"]
        if violations:
            lines = [f"axe-core : {len(violations)} violation(s) sur « {name} » ({self.page.url})"]
            for violation in violations:
                lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
                for node in violation["nodes"][:5]:
                    lines.append(f"    {node['target']}: {node.get('failureSummary', '').splitlines()[-1:]}")
            report = "\n".join(lines)
            print(report)
            pytest.fail(report, pytrace=False)


@pytest.fixture
def artifacts_folder(request) -> Path:
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    if folder.exists():
        for old in folder.glob("*.png"):
            old.unlink()
    return folder


def log_in(b: BrowserCheck, email: str, password: str, name: str | None = None) -> None:
    """Log in through the form and land on the dashboard (checked as ``tableau de bord <name>`` if named)."""
    b.goto("/connexion")
    b.page.get_by_label("Adresse électronique").fill(email)
    b.page.get_by_label("Mot de passe").fill(password)
    b.page.get_by_role("button", name="Se connecter").click()
    b.page.wait_for_url(re.compile(r"/tableau-de-bord$"))
    if name:
        b.check(f"tableau de bord {name}")
