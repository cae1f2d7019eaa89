"""The help article's journey in Chromium: what an admin and a member do, by visible labels."""

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import ADMIN_EMAIL, MEMBER_EMAIL
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

ALNUM = re.compile(r"^[A-Za-z0-9]+$")


def app_status(page: Page) -> Locator:
    """The Public API app's status badge in the page header."""
    return page.locator("#app-status").get_by_text(re.compile(r"^(Active|Inactive)$"))


def key_row(page: Page, name: str) -> Locator:
    """A key's row in the API keys table (the one with an API secret column)."""
    table = page.get_by_role("table").filter(
        has=page.get_by_role("columnheader", name="API secret")
    )
    return table.get_by_role("row").filter(has_text=name)


def flash(page: Page, text: str) -> Locator:
    """The message shown after a plain form post and redirect."""
    return page.get_by_role("status").filter(has_text=text)


def open_public_api(page: Page) -> None:
    """Main menu → Settings and Apps → the Public API card."""
    page.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="Settings and Apps"
    ).click()
    page.get_by_role("link", name=re.compile(r"^Public API")).click()
    expect(page.get_by_role("heading", name="Public API", level=1)).to_be_visible()


def generate_and_save(page: Page, name: str, js: bool = True) -> tuple[str, str]:
    """Type a key name, Generate New API Key, Save; returns the API key and secret shown."""
    page.get_by_label("Key name").fill(name)
    page.get_by_role("button", name="Generate New API Key").click()
    expect(page.get_by_role("heading", name="New API key")).to_be_visible()
    if js:  # focus follows each swap to the next action, and the result is announced
        expect(page.get_by_role("button", name="Save")).to_be_focused()
    page.get_by_role("button", name="Save").click()
    panel = page.get_by_role("region", name="Your new API key is saved")
    expect(panel).to_be_visible()
    if js:
        expect(panel.get_by_role("button", name="Copy API secret")).to_be_focused()
        expect(page.locator("#announcer")).to_have_text(f"Key “{name}” saved")
        expect(page.locator("#toasts")).to_contain_text(f"Key “{name}” saved")
    expect(panel).to_contain_text(name)
    api_key = panel.get_by_label("API key", exact=True).inner_text().strip()
    secret = panel.get_by_label("API secret", exact=True).inner_text().strip()
    assert ALNUM.match(api_key) and len(api_key) >= 24
    assert ALNUM.match(secret) and len(secret) >= 40
    return api_key, secret


def copy_value(page: Page, scope: Locator, value: str, label: str) -> None:
    """The copy button is shown before any hover; clicked, it says Copied and the clipboard
    holds the whole value."""
    button = scope.get_by_role("button", name=label)
    page.mouse.move(0, 0)
    expect(button).to_be_visible()
    expect(button).to_have_css("opacity", "1")
    scope.get_by_text(value, exact=True).hover()
    button.click()
    expect(button).to_contain_text("Copied")
    expect(page.locator("#announcer")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == value


def test_admin_walks_the_whole_article(live_server, page, page_errors, log_in, shoot):
    page.goto(live_server.url("/login"))
    expect(page.get_by_role("heading", name="Log in to Uku")).to_be_visible()
    shoot(page, "01-login")
    log_in(page, live_server, ADMIN_EMAIL)

    # Settings and Apps lists the Public API, Inactive at first.
    page.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="Settings and Apps"
    ).click()
    card = page.get_by_role("listitem").filter(has_text="Public API")
    expect(card).to_contain_text("Inactive")
    shoot(page, "02-settings-and-apps")
    card.get_by_role("link", name=re.compile(r"^Public API")).click()
    expect(app_status(page)).to_have_text("Inactive")
    shoot(page, "03-public-api-inactive")

    # Activate without a full page reload: a marker set on the page survives.
    page.evaluate("window.__marker = 1")
    page.get_by_role("button", name="Activate").click()
    expect(app_status(page)).to_have_text("Active")
    expect(page.get_by_role("button", name="Deactivate")).to_be_focused()
    assert page.evaluate("window.__marker") == 1

    # Generate and save: name, key and secret shown in full, each with a copy button.
    api_key, secret = generate_and_save(page, "Software Name")
    panel = page.get_by_role("region", name="Your new API key is saved")
    copy_value(page, panel, api_key, "Copy API key")
    copy_value(page, panel, secret, "Copy API secret")
    shoot(page, "04-generated-and-saved")
    assert page.evaluate("window.__marker") == 1

    # A later visit lists the key with its secret masked; Reveal shows the same secret.
    page.reload()
    row = key_row(page, "Software Name")
    expect(row).to_contain_text(api_key)
    expect(row).to_contain_text("Active")
    expect(row).not_to_contain_text(secret)
    expect(row.get_by_label("Secret hidden")).to_be_visible()
    shoot(page, "05-key-list")
    page.set_viewport_size({"width": 390, "height": 844})
    shoot(page, "05-key-list-narrow")
    page.set_viewport_size({"width": 1280, "height": 800})
    row.get_by_role("button", name="Reveal").click()
    expect(row.get_by_text(secret, exact=True)).to_be_visible()
    expect(row.get_by_role("button", name="Copy API secret")).to_be_focused()
    shoot(page, "06-key-revealed")

    # The delete icon is shown without hovering (touch, keyboard); confirm in the dialog: the
    # row goes, no reload.
    page.evaluate("window.__marker = 2")
    dialog = page.get_by_role("dialog", name="Delete API key “Software Name”?")
    delete_icon = row.get_by_role("link", name="Delete key Software Name")
    page.mouse.move(0, 0)
    expect(delete_icon).to_be_visible()
    expect(delete_icon).to_have_css("opacity", "1")
    delete_icon.click()
    dialog.get_by_role("link", name="Cancel").click()  # Cancel closes it and keeps the key
    expect(dialog).to_have_count(0)
    expect(row).to_be_visible()
    row.hover()
    row.get_by_role("link", name="Delete key Software Name").click()
    expect(dialog).to_be_visible()
    shoot(page, "07-delete-dialog", full_page=False)  # the backdrop covers the viewport
    dialog.get_by_role("button", name="Delete key").click()
    expect(dialog).to_have_count(0)
    expect(key_row(page, "Software Name")).to_have_count(0)
    expect(page.get_by_text("No API keys yet")).to_be_visible()
    expect(page.locator("#announcer")).to_have_text("The key “Software Name” was deleted.")
    expect(page.get_by_label("Key name")).to_be_focused()  # no row left to land on
    assert page.evaluate("window.__marker") == 2

    # Deactivate: the key shows Inactive; reactivate: the same key is Active again.
    second_key, _ = generate_and_save(page, "Reporting Tool")
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_label("Key name")).to_be_visible()
    row = key_row(page, "Reporting Tool")
    expect(row).to_contain_text("Active")
    # The usage section follows the keys without a reload: the deleted key's is gone.
    usage = page.locator("#key-usage")
    expect(usage.get_by_role("heading", name="Reporting Tool")).to_be_visible()
    expect(usage.get_by_role("heading", name="Software Name")).to_have_count(0)
    # Deactivating stops every integration: it asks first, and Cancel changes nothing.
    page.get_by_role("button", name="Deactivate").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("The API key “Reporting Tool” becomes inactive")
    shoot(page, "07-deactivate-confirm")
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(app_status(page)).to_have_text("Active")
    page.get_by_role("button", name="Deactivate").click()
    page.get_by_role("dialog").get_by_role("button", name="Deactivate").click()
    expect(app_status(page)).to_have_text("Inactive")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(row).to_contain_text("Inactive")
    page.get_by_role("button", name="Activate").click()
    expect(app_status(page)).to_have_text("Active")
    expect(row).to_contain_text(second_key)
    expect(row.get_by_text("Active", exact=True)).to_be_visible()
    assert page.evaluate("window.__marker") == 2
    assert page_errors == []


def test_key_name_errors_are_shown_inline(live_server, page, page_errors, log_in, shoot):
    log_in(page, live_server, ADMIN_EMAIL)
    open_public_api(page)
    page.get_by_role("button", name="Generate New API Key").click()
    expect(page.get_by_role("alert")).to_have_text(re.compile("Enter a name for the key"))
    expect(page.get_by_label("Key name")).to_have_attribute("aria-invalid", "true")
    shoot(page, "08-empty-name-error")

    generate_and_save(page, "Software Name")
    page.get_by_role("link", name="Done").click()
    page.get_by_label("Key name").fill("Software Name")
    page.get_by_role("button", name="Generate New API Key").click()
    expect(page.get_by_role("alert")).to_have_text(
        "A key named “Software Name” already exists. Choose another name."
    )
    expect(page.get_by_label("Key name")).to_have_value("Software Name")
    assert page_errors == []


def test_reveal_after_15_minutes_asks_for_the_password(
    start_server, page, page_errors, log_in, shoot
):
    # SUDO_MAX_AGE_SECONDS=0: every login counts as older than the 15 minutes.
    live = start_server(SUDO_MAX_AGE_SECONDS=0)
    log_in(page, live, ADMIN_EMAIL)
    open_public_api(page)
    _, secret = generate_and_save(page, "Software Name")
    page.reload()
    row = key_row(page, "Software Name")
    row.get_by_role("button", name="Reveal").click()

    password = row.get_by_label("Confirm your password to reveal the secret")
    password.fill("not my password")
    row.get_by_role("button", name="Confirm").click()
    expect(row.get_by_role("alert")).to_have_text("That password is not right.")
    expect(row).not_to_contain_text(secret)
    shoot(page, "09-reveal-password")

    password.fill(PASSWORD)
    row.get_by_role("button", name="Confirm").click()
    expect(row.get_by_text(secret, exact=True)).to_be_visible()
    assert page_errors == []


def test_member_cannot_see_the_public_api(live_server, page, log_in, shoot):
    log_in(page, live_server, MEMBER_EMAIL)
    page.get_by_role("navigation", name="Main menu").get_by_role(
        "link", name="Settings and Apps"
    ).click()
    expect(page.get_by_role("heading", name="Settings and Apps")).to_be_visible()
    expect(page.get_by_text("Public API")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("Public API"))).to_have_count(0)
    shoot(page, "10-member-settings")

    page.goto(live_server.url("/settings/apps/public-api"))
    expect(page.get_by_text("You do not have permission")).to_be_visible()
    shoot(page, "11-member-403")


def test_the_journey_works_without_javascript(live_server, new_context, log_in, shoot):
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, live_server, ADMIN_EMAIL)
    open_public_api(page)
    page.get_by_role("button", name="Activate").click()
    expect(flash(page, "The Public API is now Active.")).to_be_visible()
    expect(app_status(page)).to_have_text("Active")

    api_key, secret = generate_and_save(page, "Software Name", js=False)
    shoot(page, "12-nojs-saved")
    # Save redirected to the page (a GET): reloading sends nothing again and hides the secret.
    assert page.url == live_server.url("/settings/apps/public-api#generate")
    expect(page.get_by_text(secret)).to_be_in_viewport()
    page.reload()
    expect(page.get_by_text(secret)).to_have_count(0)
    row = key_row(page, "Software Name")
    expect(row).to_contain_text(api_key)
    expect(row).not_to_contain_text(secret)

    row.get_by_role("link", name="Delete key Software Name").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete key").click()
    expect(flash(page, "The key “Software Name” was deleted.")).to_be_visible()
    expect(key_row(page, "Software Name")).to_have_count(0)
