"""The admin's Request log tab and Public API page: filters, pages, banner, who sees what."""

import re
from datetime import timedelta

import pytest

from portal.diagnostics.models import ApiRequestLog
from portal.extensions import db
from portal.ids import utcnow
from tests.api_helpers import basic, make_pair
from tests.diagnostics_helpers import LOG, PAGE, PING, log_rows, row_with, text_of, wrong
from tests.helpers import HX


@pytest.fixture
def pair(world):
    return make_pair(world.firm, world.admin, name="Software Name")


def add_rows(key, count: int, reason="NOT_FOUND", status=404, age=timedelta(0)):
    """Log rows written straight to the table (the recorder is tested elsewhere)."""
    now = utcnow() - age
    for n in range(count):
        db.session.add(ApiRequestLog(
            created_at=now - timedelta(seconds=n), request_id=f"req_{reason.lower()}_{n:04d}",
            firm_id=key.firm_id, key_id=key.id, method="GET", path="/api/v1/clients/x",
            status=status, reason=reason, duration_ms=1.5,
        ))
    db.session.commit()


def test_the_public_api_page_links_the_request_log_tab(client, auth, world):
    auth.login("admin@alpha.example")
    page = client.get(PAGE).text
    assert f'href="{LOG}"' in page and "Request log" in page
    log = client.get(LOG)
    assert log.status_code == 200
    assert f'<a href="{LOG}" aria-current="page">Request log</a>' in log.text


def test_newest_first_and_paginated(client, auth, pair):
    add_rows(pair.key, 30)
    auth.login("admin@alpha.example")
    first = log_rows(client.get(LOG).text)
    assert len(first) == 25 and "req_not_found_0000" in first[0]
    second = client.get(LOG, query_string={"page": 2}).text
    assert len(log_rows(second)) == 5 and "req_not_found_0029" in log_rows(second)[-1]
    assert "Page 2 of 2" in second


@pytest.mark.parametrize("params, expected", [
    ({"reason": "WRONG_SECRET"}, {"req_wrong_secret_0000"}),
    ({"status": "401"}, {"req_wrong_secret_0000"}),
    ({"status": "5xx"}, {"req_server_error_0000"}),
    ({"request_id": "server_error"}, {"req_server_error_0000"}),
    ({"request_id": "req_not_found_0001"}, {"req_not_found_0001"}),
])
def test_filters(client, auth, pair, params, expected):
    add_rows(pair.key, 2)
    add_rows(pair.key, 1, "WRONG_SECRET", 401)
    add_rows(pair.key, 1, "SERVER_ERROR", 500)
    auth.login("admin@alpha.example")
    rows = log_rows(client.get(LOG, query_string=params).text)
    assert {re.search(r"req_\w+", row).group() for row in rows} == expected


def test_filter_by_key(client, auth, world, pair):
    other = make_pair(world.firm, world.admin, name="Other Tool")
    add_rows(pair.key, 1)
    add_rows(other.key, 1, "WRONG_SECRET", 401)
    auth.login("admin@alpha.example")
    rows = log_rows(client.get(LOG, query_string={"key_id": other.key.id}).text)
    assert len(rows) == 1 and "Other Tool" in rows[0]


def test_htmx_gets_the_results_fragment_and_the_page_links_keep_the_filter(client, auth, pair):
    add_rows(pair.key, 30)
    auth.login("admin@alpha.example")
    response = client.get(LOG, query_string={"reason": "NOT_FOUND"}, headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert response.text.lstrip().startswith('<div id="log-results"')
    assert "HX-Request" in response.headers["Vary"]
    assert f"{LOG}?reason=NOT_FOUND&amp;page=2" in response.text


def test_the_filter_form_works_without_javascript(client, auth, pair):
    auth.login("admin@alpha.example")
    page = client.get(LOG).text
    assert f'<form class="filters" method="get" action="{LOG}"' in page
    for name in ("key_id", "status", "reason", "request_id"):
        assert f'name="{name}"' in page


def test_an_empty_log_says_so(client, auth, pair):
    auth.login("admin@alpha.example")
    assert "No failed requests with your keys in the last 90 days." in client.get(LOG).text
    assert "No failed requests match this filter." in client.get(
        LOG, query_string={"reason": "NOT_FOUND"}).text


def test_members_see_none_of_it(client, auth, pair):
    client.get(PING, headers=basic(pair.key.api_key, wrong(pair.secret)))
    auth.login("member@alpha.example")
    assert client.get(LOG).status_code == 403
    assert client.get(LOG, headers=HX).status_code == 403
    assert "Request log" not in client.get("/settings").text


def test_anonymous_visitors_are_sent_to_login(client, pair):
    response = client.get(LOG)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_admin_never_sees_another_firms_requests(client, auth, pair):
    response = client.get(PING, headers=basic(pair.key.api_key, wrong(pair.secret)))
    request_id = response.headers["X-Request-Id"]
    auth.login("admin@beta.example")
    for params in ({}, {"key_id": pair.key.id}, {"request_id": request_id}):
        page = client.get(LOG, query_string=params).text
        assert row_with(page, request_id) is None and log_rows(page) == []
    page = client.get(PAGE).text
    assert pair.key.id not in page and "failed in the last hour" not in page


def test_banner_names_the_key_and_reason_of_the_last_hours_failures(client, auth, pair):
    for _ in range(2):
        client.get(PING, headers=basic(pair.key.api_key, wrong(pair.secret)))
    auth.login("admin@alpha.example")
    page = text_of(client.get(PAGE).text)
    assert "API requests failed in the last hour" in page
    # One line per key, in plain words rather than reason codes.
    assert "Software Name : 2 failed requests in the last hour, mostly wrong secret" in page
    assert "WRONG_SECRET" not in page.split("Usage")[0]


def test_banner_warns_of_credentials_sent_over_plain_http(client, auth, pair):
    """Their secret travelled unencrypted: the admin should roll the key."""
    add_rows(pair.key, 1, "HTTPS_REQUIRED", 403)
    auth.login("admin@alpha.example")
    page = text_of(client.get(PAGE).text)
    assert ("Software Name : 1 failed request in the last hour, credentials sent over plain "
            "HTTP") in page


def test_a_dismissed_banner_comes_back_only_with_new_failures(client, auth, pair):
    client.get(PING, headers=basic(pair.key.api_key, wrong(pair.secret)))
    auth.login("admin@alpha.example")
    assert "failed in the last hour" in client.get(PAGE).text
    response = client.post(f"{PAGE}/alerts/dismiss", headers=HX)
    assert response.status_code == 200 and response.text == ""
    assert "failed in the last hour" not in client.get(PAGE).text
    client.get(PING, headers=basic(pair.key.api_key, wrong(pair.secret)))
    page = text_of(client.get(PAGE).text)
    assert "Software Name : 1 failed request in the last hour, wrong secret" in page


def test_no_banner_for_older_failures_or_lookups_of_missing_things(client, auth, pair):
    add_rows(pair.key, 1, "WRONG_SECRET", 401, age=timedelta(hours=2))
    add_rows(pair.key, 3, "NOT_FOUND", 404)
    auth.login("admin@alpha.example")
    assert "failed in the last hour" not in client.get(PAGE).text


def test_a_deleted_keys_failures_stay_in_the_log(client, auth, world, pair):
    auth.login("admin@alpha.example")
    client.post(f"{PAGE}/keys/{pair.key.id}/delete")
    response = client.get(PING, headers=basic(pair.key.api_key, pair.secret))
    row = row_with(client.get(LOG).text, response.headers["X-Request-Id"])
    assert "KEY_DELETED" in row and "Deleted" in row and "This key was deleted on" in row
    assert "(deleted)" in client.get(LOG).text  # the key filter still offers it


def test_a_refused_fields_and_our_messages_are_logged_and_shown(client, auth, pair):
    """Which field a 422 refused, in our words: never the value sent, nor a secret-like key."""
    secret_like = "k" * 44
    body = {"name": "", "client_initials": "NW", "address_country_code": "EE",
            "email": "private-value@example.com", secret_like: "x"}
    response = client.post("/api/v1/clients", json=body, headers=basic(
        pair.key.api_key, pair.secret))
    assert response.status_code == 422
    row = db.session.execute(db.select(ApiRequestLog)).scalar_one()
    fields = [item["field"] for item in row.details]
    assert "name" in fields and "[redacted]" in fields and secret_like not in str(row.details)
    auth.login("admin@alpha.example")
    shown = row_with(client.get(LOG).text, response.json["error"]["request_id"])
    message = next(item["message"] for item in response.json["error"]["details"]
                   if item["field"] == "name")
    assert f"name : {message}" in " ".join(shown.split())
    assert "private-value" not in str(row.details) and secret_like not in shown
