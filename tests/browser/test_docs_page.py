"""The API docs page in Chromium, on a desktop and a phone: nothing scrolls sideways, every
scrolling code block takes keyboard focus, the language tabs follow the ARIA tabs pattern, the
menu is a disclosure on phones, and axe-core finds nothing serious."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from portal.accounts.models import Firm, User
from portal.extensions import db
from tests.api_helpers import make_pair
from tests.browser.conftest import ADMIN_EMAIL
from tests.browser.test_accessibility import problems

pytestmark = pytest.mark.browser

SCREENS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def _admin_with_key(live) -> str:
    with live.app.app_context():
        firm = db.session.query(Firm).one()
        admin = db.session.query(User).filter_by(email=ADMIN_EMAIL).one()
        return make_pair(firm, admin, name="Bookkeeping sync").key.api_key


@pytest.mark.parametrize("screen", SCREENS)
def test_the_docs_page_fits_and_works_by_keyboard(screen, live_server, page: Page, page_errors,
                                                  log_in, shoot):
    api_key = _admin_with_key(live_server)
    page.set_viewport_size(SCREENS[screen])
    log_in(page, live_server, ADMIN_EMAIL)
    page.goto(live_server.url("/docs/api"))
    expect(page.get_by_role("navigation", name="API Integration")
           .get_by_role("link", name="Documentation")).to_have_attribute("aria-current", "page")
    shoot(page, f"docs-{screen}", full_page=False)

    _every_overflowing_block_is_focusable(page)
    _tabs_switch_by_keyboard(page, api_key)
    _menu_fits_the_screen(page, screen)
    shoot(page, f"docs-{screen}-full")

    # axe-core's serious and critical findings, and sideways scrolling, after using the page.
    assert problems(page, Axe(), SCREENS[screen]["width"]) == []
    assert page_errors == []


def _every_overflowing_block_is_focusable(page: Page) -> None:
    """Each code block that scrolls (long curl lines) is reachable by Tab and named."""
    unreachable = page.evaluate("""() => [...document.querySelectorAll('pre')]
        .filter(pre => pre.offsetParent && pre.scrollWidth > pre.clientWidth)
        .filter(pre => pre.tabIndex !== 0 || !pre.getAttribute('aria-label'))
        .map(pre => pre.textContent.slice(0, 40))""")
    assert unreachable == []
    # On both screens at least the create-client call is wider than its box.
    assert page.evaluate("""() => { const pre = document.querySelector('#create_client pre');
        return pre.scrollWidth > pre.clientWidth; }""")


def _tabs_switch_by_keyboard(page: Page, api_key: str) -> None:
    """Arrow keys move between languages; every example on the page follows; the signed-in
    admin's key is in the code, the secret is a placeholder."""
    examples = page.get_by_role("tablist", name="Create a client: language")
    curl = examples.get_by_role("tab", name="curl")
    expect(curl).to_have_attribute("aria-selected", "true")
    curl.focus()
    page.keyboard.press("ArrowRight")
    python = examples.get_by_role("tab", name="Python")
    expect(python).to_be_focused()
    expect(python).to_have_attribute("aria-selected", "true")
    panel = page.locator("#create_client-python")
    expect(panel).to_have_role("tabpanel")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text(f"auth=('{api_key}', 'YOUR_API_SECRET')")
    expect(page.locator("#create_client-curl")).to_be_hidden()
    expect(page.locator("#ping-python")).to_be_visible()  # every set switched
    page.keyboard.press("End")
    expect(examples.get_by_role("tab", name="JavaScript")).to_be_focused()
    page.keyboard.press("ArrowRight")  # wraps round
    expect(curl).to_be_focused()
    page.keyboard.press("Tab")  # from the tab list into its panel's content
    expect(page.locator("#create_client-curl .copy, #create_client-curl pre").first).to_be_focused()


def _menu_fits_the_screen(page: Page, screen: str) -> None:
    menu = page.get_by_role("navigation", name="API reference")
    link = menu.get_by_role("link", name="Create a client")
    if screen == "desktop":
        expect(link).to_be_visible()
        page.evaluate("document.getElementById('create_client').scrollIntoView()")
        expect(link).to_be_in_viewport()  # sticky beside the page
        expect(link).to_have_attribute("aria-current", "location")  # the section being read
        return
    expect(link).to_be_hidden()  # a closed disclosure at the top
    menu.get_by_text("On this page").click()
    link.click()
    expect(link).to_be_hidden()
    expect(page.locator("#create_client")).to_be_in_viewport()


def test_without_javascript_every_language_shows_and_nothing_scrolls_sideways(live_server,
                                                                             browser, shoot):
    context = browser.new_context(java_script_enabled=False, viewport=SCREENS["phone"])
    page = context.new_page()
    page.goto(live_server.url("/docs/api"))
    for language in ("curl", "python", "javascript"):
        expect(page.locator(f"#ping-{language} pre")).to_be_visible()
    expect(page.locator("#ping-curl")).to_contain_text("curl -u YOUR_API_KEY:YOUR_API_SECRET")
    expect(page.get_by_role("tablist")).to_have_count(0)  # tabs need the script: all shown
    assert page.evaluate("document.documentElement.scrollWidth") <= SCREENS["phone"]["width"]
    shoot(page, "docs-phone-no-javascript", full_page=False)
    menu = page.get_by_role("navigation", name="API reference")
    expect(menu.get_by_role("link", name="Create a client")).to_be_hidden()  # quick start first
    menu.get_by_text("On this page").click()  # <details> opens without a script
    expect(menu.get_by_role("link", name="Create a client")).to_be_visible()
    context.close()
