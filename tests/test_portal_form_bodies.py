"""Every portal form, fed every body type with every type of value in every field, answers
a clear 4xx (or its own form error), never a 500.

Data-driven, so a new form is covered without editing this file: the endpoints are every
POST/PUT/PATCH/DELETE rule of the URL map outside /api/, and the fields are every name a
template's form can send plus every field of every FlaskForm.
"""

import io
import json
import re
import secrets
from pathlib import Path

import pytest
from flask_wtf import FlaskForm
from itsdangerous import URLSafeTimedSerializer
from wtforms.fields.core import UnboundField

from portal import create_app
from portal.crm import service as crm
from portal.extensions import db
from tests.conftest import IsolatedClient, make_user, session_of
from tests.helpers import generate_and_save

ROOT = Path(__file__).resolve().parent.parent
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
LONG = "x" * 20_000
# What each type becomes in a form field (form bodies carry text only) and in JSON.
VALUES = {
    "int": (["12345"], 12345),
    "list": (["a", "b"], ["a", "b"]),
    "dict": (['{"a": "b"}'], {"a": "b"}),
    "null": ([""], None),
    "bool": (["true"], True),
    "long string": ([LONG], LONG),
    "file": (None, None),
}
BODIES = ("form", "multipart", "json")


def _portal_writes(app) -> list:
    rules = [rule for rule in app.url_map.iter_rules()
             if rule.methods & WRITES and not rule.rule.startswith("/api/")]
    return sorted(((rule, method) for rule in rules for method in sorted(rule.methods & WRITES)),
                  key=lambda pair: (pair[0].rule, pair[1]))


def _form_classes(cls=FlaskForm):
    for sub in cls.__subclasses__():
        yield sub
        yield from _form_classes(sub)


def field_names() -> list[str]:
    """Every field a template's form can send, and every field of every FlaskForm."""
    names = set()
    for template in (ROOT / "templates").rglob("*.html"):
        names |= set(re.findall(r'\bname="([A-Za-z_][\w-]*)"', template.read_text()))
    for form in _form_classes():
        names |= {name for name, value in vars(form).items() if isinstance(value, UnboundField)}
    return sorted(names - {"csrf_token"})


def body(kind: str, value_type: str, fields: list[str]) -> dict | None:
    """Keyword arguments of client.open for one body; None where the type cannot be sent."""
    as_text, as_json = VALUES[value_type]
    if kind == "json":
        return None if value_type == "file" else {"json": dict.fromkeys(fields, as_json)}
    if value_type == "file":
        if kind == "form":
            return None
        data = {name: (io.BytesIO(b"%PDF-1.4 not a form value"), "x.pdf") for name in fields}
    else:
        data = {name: list(as_text) for name in fields}
    content_type = "multipart/form-data" if kind == "multipart" else None
    return {"data": data, **({"content_type": content_type} if content_type else {})}


CASES = [(kind, value_type) for kind in BODIES for value_type in VALUES]


@pytest.fixture
def csrf_app(app_config, world):
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    app.test_client_class = IsolatedClient
    return app


def _log_in(app, client, user) -> str:
    """A session for `user` with a CSRF token, as login and a form page would make them."""
    raw = secrets.token_hex(20)
    with client.session_transaction() as session:
        session.update(session_of(user, fresh=False), csrf_token=raw)
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def _objects(client, world) -> dict:
    """One of everything a write's URL can name, in the firm of the owner."""
    _log_in(client.application, client, world.owner)
    client.application.config["WTF_CSRF_ENABLED"] = False
    key, _ = generate_and_save(client, "Zapier")
    client.application.config["WTF_CSRF_ENABLED"] = True
    group = crm.create_client_group(world.firm.id, "VIP")
    field = crm.create_client_field(world.firm.id, "employees", "Employees", "number")
    db.session.commit()
    return {"key_id": key.id, "group_id": group.id, "field_id": field.id}


def test_the_fields_are_found():
    assert {"email", "password", "current_password", "name", "draft_id"} <= set(field_names())


def test_every_portal_form_answers_every_body_without_a_500(csrf_app, world):
    client = csrf_app.test_client()
    with csrf_app.app_context():
        ids = _objects(client, world)
        support = make_user(None, "support@uku.example", support=True)
        db.session.commit()
        fields, failures = field_names(), []
        for rule, method in _portal_writes(csrf_app):
            missing = set(rule.arguments) - set(ids)
            assert not missing, f"{rule.rule}: give the test an object for {missing}"
            path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: ids[m.group(1)], rule.rule)
            user = support if rule.endpoint.startswith("support.") else world.owner
            for kind, value_type in CASES:
                kwargs = body(kind, value_type, fields)
                if kwargs is None:
                    continue
                token = _log_in(csrf_app, client, user)
                response = client.open(path, method=method, headers={"X-CSRFToken": token},
                                       **kwargs)
                if response.status_code >= 500 or response.status_code == 400 and (
                        "expired" in response.text):
                    failures.append((method, rule.rule, kind, value_type, response.status_code))
        assert not failures, json.dumps(failures, indent=1)
