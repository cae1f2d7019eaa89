"""Every portal page, at 1280×800 and 390×844: axe-core finds no serious or critical violation,
nothing scrolls sideways on the phone, and times show in the person's own time zone."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from portal.extensions import db
from tests.browser.conftest import ADMIN_EMAIL
from tests.browser.test_diagnostics_journey import call_ping
from tests.browser.test_journey import generate_and_save, open_public_api
from tests.conftest import make_user

pytestmark = pytest.mark.browser

SUPPORT_EMAIL = "support@uku.example"
ADMIN_PAGES = (
    "/settings", "/settings/apps/public-api", "/settings/apps/public-api/log", "/clients",
    "/settings/client-groups", "/settings/client-fields", "/settings/audit-log",
    "/account/password", "/docs/api", "/docs/api/errors", "/docs/api/changelog",
)
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}


def problems(page: Page, axe: Axe, width: int) -> list[str]:
    """Serious and critical axe violations on the page, and sideways scrolling on a phone."""
    found = [
        f"{page.url}: {violation['id']} ({violation['impact']}) "
        f"{[node['target'] for node in violation['nodes']][:3]}"
        for violation in axe.run(page).response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        found.append(f"{page.url}: scrolls sideways ({scroll_width} px wide)")
    return found


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_page_passes_axe_and_fits(live_server, new_context, log_in, viewport):
    width, height = VIEWPORTS[viewport]
    # Tallinn is UTC+2 in December: a time shown must differ from the UTC one by two hours.
    context = new_context(timezone_id="Europe/Tallinn", has_touch=viewport == "phone")
    context.set_default_timeout(10_000)
    page, axe, found = context.new_page(), Axe(), []
    page.set_viewport_size({"width": width, "height": height})
    with live_server.app.app_context():
        make_user(None, SUPPORT_EMAIL, support=True)
        db.session.commit()

    page.goto(live_server.url("/login"))
    found += problems(page, axe, width)
    log_in(page, live_server, ADMIN_EMAIL)
    open_public_api(page)
    page.get_by_role("button", name="Activate").click()
    api_key, secret = generate_and_save(page, "Xero sync")
    found += problems(page, axe, width)  # the saved panel with its key and secret
    call_ping(live_server.base, api_key, "x" * len(secret))  # a row in the log, a banner

    for path in ADMIN_PAGES:
        page.goto(live_server.url(path))
        found += problems(page, axe, width)

    page.goto(live_server.url("/settings/apps/public-api"))
    created = page.locator(".key-row time").first
    utc = created.get_attribute("datetime")
    assert created.get_attribute("title").startswith(utc[:16].replace("T", " "))
    assert created.get_attribute("title").endswith(" UTC")
    local_hour, utc_hour = int(created.inner_text()[11:13]), int(utc[11:13])
    assert local_hour == (utc_hour + 2) % 24

    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server, SUPPORT_EMAIL)
    found += problems(page, axe, width)  # the support console
    assert not found, "\n".join(found)
