"""Browser tests: the real app on a live server, driven through Debian Chromium by Playwright."""

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import BrowserContext, Page
from werkzeug.serving import make_server

from portal import create_app
from portal.accounts.models import Firm
from portal.extensions import db
from tests.conftest import PASSWORD, make_user

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root in CI
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENS = "/tmp/screens"  # noqa: S108  (a copy of each screenshot, for people to look at)

ADMIN_EMAIL = "admin@alpha.example"
MEMBER_EMAIL = "member@alpha.example"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium, never a browser downloaded by `playwright install`."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url() -> None:
    """Each test has a server of its own (see live_server); pytest-playwright's own base_url
    fixture is an instance-method session fixture, which pytest 9 warns about (an error here)."""
    return None


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A desktop-sized window that may use the clipboard (Copy buttons)."""
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 800},
        "permissions": ["clipboard-read", "clipboard-write"],
    }


@dataclass
class LiveServer:
    """The portal served over HTTP on 127.0.0.1 from a thread, with a seeded firm."""

    app: object
    base: str
    shutdown: Callable[[], None] = field(repr=False)

    def url(self, path: str = "/") -> str:
        return self.base + path


def _seed(app) -> None:
    """One firm with an owner, an admin and a member (all with tests.conftest.PASSWORD)."""
    with app.app_context():
        db.create_all()
        firm = Firm(name="Alpha Accounting")
        db.session.add(firm)
        db.session.flush()
        make_user(firm, "owner@alpha.example", "owner")
        make_user(firm, ADMIN_EMAIL, "admin")
        make_user(firm, MEMBER_EMAIL, "member")
        db.session.commit()


@pytest.fixture
def start_server(app_config, tmp_path) -> Iterator[Callable[..., LiveServer]]:
    """Start the real app (CSRF on, as in production) with extra config; stopped after the test."""
    servers: list[LiveServer] = []

    def start(**config) -> LiveServer:
        app = create_app(
            {
                **app_config,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / f'live{len(servers)}.sqlite3'}",
                "WTF_CSRF_ENABLED": True,
                **config,
            }
        )
        _seed(app)
        # The server thread pushes no app context of its own: each request gets one from Flask.
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()

        def shutdown() -> None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            with app.app_context():
                db.engine.dispose()

        live = LiveServer(app=app, base=f"http://127.0.0.1:{server.server_port}", shutdown=shutdown)
        servers.append(live)
        return live

    yield start
    for live in servers:
        live.shutdown()


@pytest.fixture
def live_server(start_server) -> LiveServer:
    return start_server()


@pytest.fixture
def context(new_context) -> BrowserContext:
    """pytest-playwright's context, failing in 10 s rather than 30 s when something is missing."""
    browser_context = new_context()
    browser_context.set_default_timeout(10_000)
    return browser_context


@pytest.fixture
def page_errors(page: Page) -> Iterator[list[str]]:
    """JavaScript errors and console errors (CSP violations, htmx errors) seen by the page."""
    errors: list[str] = []

    def on_console(message) -> None:
        # Chromium logs every 4xx; a 422 is the expected answer carrying an inline error.
        if message.type == "error" and "status of 422" not in message.text:
            errors.append(f"console: {message.text}")

    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on("console", on_console)
    return errors


@pytest.fixture
def shoot(tmp_path) -> Callable[..., None]:
    """Save a full-page screenshot under the test's tmp dir and a copy under /tmp/screens/."""

    def take(page: Page, name: str, full_page: bool = True) -> None:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        os.makedirs(SCREENS, exist_ok=True)
        shutil.copy(path, os.path.join(SCREENS, path.name))

    return take


@pytest.fixture
def log_in() -> Callable[[Page, LiveServer, str], None]:
    """Log in through the form, as a person does."""

    def log_in_as(page: Page, live: LiveServer, email: str, password: str = PASSWORD) -> None:
        page.goto(live.url("/login"))
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("navigation", name="Main menu").wait_for()

    return log_in_as
