"""Fixing a 401 in Chromium: the integration is refused, the admin opens the request log, reads
why, fixes the integration, and the next call answers 200; the usage chart shows both."""

import base64
import json
import re
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ADMIN_EMAIL
from tests.browser.test_journey import generate_and_save, open_public_api

pytestmark = pytest.mark.browser


def call_ping(base: str, api_key: str, secret: str) -> tuple[int, dict]:
    """What the integration does: GET /api/v1/ping with HTTP Basic."""
    token = base64.b64encode(f"{api_key}:{secret}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310  (the live server on loopback)
        f"{base}/api/v1/ping", headers={"Authorization": f"Basic {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (loopback)
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_admin_reads_why_a_request_failed_and_fixes_it(live_server, page: Page, page_errors,
                                                        log_in, shoot):
    log_in(page, live_server, ADMIN_EMAIL)
    open_public_api(page)
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_role("button", name="Deactivate")).to_be_visible()
    api_key, secret = generate_and_save(page, "Software Name")

    # The integration was set up with a mistyped secret.
    typo = ("x" if secret[0] != "x" else "y") + secret[1:]
    status, body = call_ping(live_server.base, api_key, typo)
    assert status == 401
    request_id = body["error"]["request_id"]

    # The Public API page warns, naming the key and the reason.
    page.reload()
    banner = page.get_by_role("status").filter(has_text="API requests failed in the last hour")
    expect(banner).to_contain_text("Software Name")
    expect(banner).to_contain_text("wrong secret")
    shoot(page, "diagnostics-banner")

    # The Request log tab shows the request by its id and says what to do.
    page.get_by_role("navigation", name="API Integration").get_by_role(
        "link", name="Request log").click()
    expect(page.get_by_role("heading", name="Request log", level=1)).to_be_visible()
    page.get_by_label("Request id").fill(request_id)
    page.get_by_label("Request id").press("Enter")
    expect(page).to_have_url(re.compile(f"request_id={request_id}"))
    row = page.get_by_role("row").filter(has_text=request_id)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("401")
    expect(row).to_contain_text("The API secret did not match key 'Software Name'. Copy the "
                                "secret again from Settings and Apps.")
    shoot(page, "diagnostics-log")

    # Filtering by reason works with htmx (no reload) and keeps the URL shareable.
    page.get_by_role("link", name="Clear the filter").click()
    expect(page).to_have_url(re.compile(r"/log$"))
    page.wait_for_load_state()  # htmx is deferred: it binds the filters once the page has loaded
    page.get_by_label("Reason").select_option("KEY_DELETED")
    expect(page.get_by_text("No failed requests match this filter.")).to_be_visible()
    expect(page).to_have_url(re.compile("reason=KEY_DELETED"))

    # The admin copies the secret again into the integration: the next call succeeds.
    status, body = call_ping(live_server.base, api_key, secret)
    assert status == 200 and body["data"]["key_name"] == "Software Name"

    page.get_by_role("navigation", name="API Integration").get_by_role(
        "link", name="Settings").click()
    usage = page.get_by_role("article", name="Software Name")
    expect(usage).to_contain_text("Requests, last 24 h")
    expect(usage.locator(".usage-24h")).to_have_text("2")
    chart = usage.get_by_role("img", name=re.compile("Requests per day with key Software Name"))
    expect(chart).to_be_visible()
    expect(usage.locator(".chart-ok")).to_have_count(2)  # today's bar and the legend swatch
    expect(usage.locator(".chart-failed")).to_have_count(2)
    _chart_is_full_width_with_a_labelled_readable_axis(usage)
    shoot(page, "diagnostics-usage")
    assert page_errors == []


def _chart_is_full_width_with_a_labelled_readable_axis(usage):
    """The plot spans the usage card, has a titled y-axis, and no label is under 12 px."""
    card_width = usage.bounding_box()["width"]
    assert usage.locator("svg.chart").bounding_box()["width"] >= 0.85 * card_width
    expect(usage.locator(".chart-y-title")).to_have_text("Requests per day")
    expect(usage.locator(".chart-y span").first).to_have_text("2")  # busiest day: 1 + 1
    labels = usage.locator(".chart-y span, .chart-x span, .chart-legend span, .chart-y-title")
    sizes = labels.evaluate_all("els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert sizes and min(sizes) >= 12, sizes
