"""No API response carries an internal id: every id a GET route of the URL map shows (in its
body, or inside a list's cursor) is an opaque public id, never a user's primary key (what a
portal session names) nor an integer row id."""

import base64
import json
import re

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.crm.models import IdempotencyRecord
from portal.diagnostics.models import ApiRequestLog
from portal.extensions import db
from tests.api_helpers import API, make_tenants, new_client, new_contact
from tests.conftest import make_user

OPAQUE_ID = re.compile(r"^[a-z]+_[a-z2-7]{20}$")


@pytest.fixture
def tenants(app, client):
    tenants = make_tenants()
    make_user(tenants.firm, "owner@alpha.example", "owner")
    northwind = new_client(tenants.firm, name="Northwind")
    new_client(tenants.firm, name="Contoso")
    new_contact(tenants.firm, northwind)
    new_contact(tenants.firm, northwind, name="Jaan", email="jaan@example.com")
    client.get(f"{API}/clients", headers={"X-API-Key": "nope", "X-API-Secret": "nope"})
    db.session.commit()
    return tenants


def _api_get_routes(app) -> list[str]:
    """Every GET route of the API; a route with an id in its path is read for a row it lists."""
    return sorted(rule.rule for rule in app.url_map.iter_rules()
                  if rule.rule.startswith(API) and "GET" in rule.methods)


def _ids_in(value, name=""):
    """(field name, value) of every id-like field: id, *_id, *_ids, contacts."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _ids_in(item, key)
    elif isinstance(value, list):
        for item in value:
            yield from _ids_in(item, name)
    elif name == "id" or name.endswith(("_id", "_ids")) or name == "contacts":
        yield name, value


def _cursor_parts(cursor: str) -> list:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def _read_everything(client, app, headers) -> list[str]:
    """Each GET route's answer; a list also one row a page (so every row is in a cursor), and
    a route with an id read with ids of the list it belongs to."""
    bodies, listed = [], {}
    for rule in _api_get_routes(app):
        if "<" in rule:
            continue
        response = client.get(rule, headers=headers)
        assert response.status_code == 200, rule
        bodies.append(response.get_data(as_text=True))
        if not _is_list(response):
            continue
        listed[rule] = [item["id"] for item in response.json["data"]]
        cursor = client.get(rule, headers=headers, query_string={"limit": 1}).json["meta"][
            "next_cursor"]
        while cursor:
            page = client.get(rule, headers=headers, query_string={"limit": 1, "cursor": cursor})
            bodies += [json.dumps(_cursor_parts(cursor)), page.get_data(as_text=True)]
            cursor = page.json["meta"]["next_cursor"]
    for rule in _api_get_routes(app):
        for object_id in listed.get(rule.partition("/<")[0], [])[:2] if "<" in rule else []:
            path = re.sub(r"<[^>]+>", object_id, rule)
            bodies.append(client.get(path, headers=headers).get_data(as_text=True))
    return bodies


def _is_list(response) -> bool:
    document = response.json
    return isinstance(document, dict) and "next_cursor" in (document.get("meta") or {})


def test_no_api_response_carries_an_internal_id(app, client, tenants):
    bodies = _read_everything(client, app, tenants.headers)
    user_ids = set(db.session.execute(select(User.id)).scalars())
    for body in bodies:
        for user_id in user_ids:
            assert user_id not in body
        try:
            document = json.loads(body)
        except ValueError:
            continue
        if "openapi" in document:
            continue  # the reference: its links name fields, not rows
        for name, value in _ids_in(document):
            values = value if isinstance(value, list) else [value]
            for item in values:
                if item is None or name == "request_id":
                    continue
                assert isinstance(item, str) and OPAQUE_ID.match(item), (name, item)
    assert any("mem_" in body for body in bodies), "the members list was read"
    # The tables with integer keys had rows to leak.
    for model in (AuditEvent, ApiRequestLog):
        assert db.session.execute(select(model.id)).first() is not None
    assert IdempotencyRecord.__table__.c.id.type.python_type is int
