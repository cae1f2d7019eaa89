"""Key controls in Chromium: an admin edits a key's settings and rolls it, by visible labels."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_EMAIL
from tests.browser.test_journey import generate_and_save, key_row, open_public_api

pytestmark = pytest.mark.browser


def test_admin_restricts_and_rolls_a_key(live_server, page, page_errors, log_in):
    log_in(page, live_server, ADMIN_EMAIL)
    open_public_api(page)
    old_key, _ = generate_and_save(page, "Bookkeeping sync")
    page.get_by_role("link", name="Done").click()

    row = key_row(page, "Bookkeeping sync")
    expect(row).to_contain_text("Read & write")
    row.get_by_role("link", name="Settings of key Bookkeeping sync").click()
    # The generate form has a Scope field too: pick the one in this key's settings.
    settings = page.get_by_role("cell", name=re.compile(r"^Settings of .Bookkeeping sync"))
    settings.get_by_label("Scope").select_option(label="Read only (GET)")
    allowlist = page.get_by_label(re.compile(r"^IP allow-list"))
    allowlist.fill("203.0.113.7\nnot-an-ip")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert")).to_contain_text("“not-an-ip” is not an IP address")
    allowlist.fill("203.0.113.7, 2001:db8::/32")
    page.get_by_role("button", name="Save settings").click()
    expect(key_row(page, "Bookkeeping sync")).to_contain_text("Read only")
    expect(key_row(page, "Bookkeeping sync")).to_contain_text("2 IP ranges")

    key_row(page, "Bookkeeping sync").get_by_role("link", name="Roll key Bookkeeping sync").click()
    dialog = page.get_by_role("dialog", name="Roll API key “Bookkeeping sync”?")
    dialog.get_by_label("The old key keeps working for").select_option(label="1 hour")
    dialog.get_by_role("button", name="Roll key").click()
    panel = page.get_by_role("region", name="The key “Bookkeeping sync” was rolled")
    expect(panel).to_be_visible()
    new_key = panel.get_by_label("New API key", exact=True).inner_text().strip()
    assert new_key != old_key
    expect(page.get_by_role("row").filter(has_text=old_key)).to_contain_text(
        "replaced — works until")
    expect(page.get_by_role("row").filter(has_text=new_key)).to_contain_text("new")
    assert page_errors == []


def test_the_key_list_fits_its_card_with_every_column_in_view(live_server, page, page_errors,
                                                               log_in):
    """At 1280 pixels (the suite's viewport) the list shows each key's status and actions
    without scrolling sideways, with a secret revealed and a rolled key's badges."""
    log_in(page, live_server, ADMIN_EMAIL)
    open_public_api(page)
    generate_and_save(page, "Quarterly VAT export to the bookkeeping system")
    page.get_by_role("link", name="Done").click()
    row = key_row(page, "Quarterly VAT export to the bookkeeping system")
    row.get_by_role("link", name=re.compile("^Roll key")).click()
    page.get_by_role("dialog").get_by_role("button", name="Roll key").click()
    expect(page.get_by_role("row").filter(has_text="replaced — works until")).to_be_visible()
    page.reload()
    page.get_by_role("row").filter(has_text="replaced — works until").get_by_role(
        "button", name="Reveal").click()
    expect(page.get_by_role("button", name="Hide").or_(
        page.get_by_role("link", name="Hide"))).to_be_visible()

    table = page.locator("#key-table")
    assert table.evaluate("t => t.scrollWidth <= t.clientWidth"), "the key list scrolls sideways"
    right_edge = table.evaluate("t => t.getBoundingClientRect().right")
    for delete in page.get_by_role("link", name=re.compile("^Delete key")).all():
        assert delete.evaluate("d => d.getBoundingClientRect().right") <= right_edge
    assert page_errors == []


def admin_on_a_phone(live_server, new_context, log_in):
    """A 390-pixel touch screen, logged in as the admin, on the Public API page."""
    phone = new_context(has_touch=True, is_mobile=True)
    phone.set_default_timeout(10_000)
    page = phone.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, ADMIN_EMAIL)
    open_public_api(page)
    return page


def opacity(locator) -> float:
    return float(locator.evaluate("element => getComputedStyle(element).opacity"))


def test_on_a_touch_screen_the_copy_and_delete_controls_are_shown(live_server, new_context,
                                                                   log_in):
    """A phone cannot hover: the controls the desktop shows on hover are always there, and a
    tap on the delete icon opens the dialog."""
    page = admin_on_a_phone(live_server, new_context, log_in)
    generate_and_save(page, "Phone sync")
    panel = page.get_by_role("region", name="Your new API key is saved")
    copies = panel.get_by_role("button", name=re.compile("^Copy"))
    assert copies.count() >= 2
    assert all(opacity(copies.nth(n)) == 1 for n in range(copies.count()))
    page.get_by_role("link", name="Done").click()

    delete = key_row(page, "Phone sync").get_by_role("link", name=re.compile("^Delete"))
    assert opacity(delete) == 1
    delete.tap()
    expect(page.get_by_role("dialog")).to_contain_text("Phone sync")


def test_on_a_phone_no_page_scrolls_sideways(live_server, new_context, log_in):
    """At 390 pixels a wide table scrolls inside its card; the page itself never does."""
    page = admin_on_a_phone(live_server, new_context, log_in)
    generate_and_save(page, "A key with a rather long name for a phone")
    # Key and secret stay on one line each (a chip that shortens), never wrapped mid-string.
    chips = page.locator("code.chip")
    assert chips.count() >= 2
    assert all(chip.evaluate("c => c.getClientRects().length === 1 && c.offsetHeight < 32")
               for chip in chips.all())
    page.get_by_role("link", name="Done").click()
    # Each key is a card: nothing of it, its status and actions included, is out of view.
    table = page.locator("#key-table")
    assert table.evaluate("t => t.scrollWidth <= t.clientWidth")
    row = key_row(page, "A key with a rather long name")
    for part in (row.get_by_text("Active"), row.get_by_role("link", name=re.compile("^Delete"))):
        assert part.evaluate("e => e.getBoundingClientRect().right") <= 390
    for path in ("/settings", "/settings/apps/public-api", "/settings/apps/public-api/log",
                 "/clients", "/audit", "/docs/api"):
        page.goto(live_server.url(path))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
