"""Bad input on every portal form and every API body and query: empty, missing, wrong types,
10 MB, NUL, invalid UTF-8, emoji and right-to-left text, SQL and HTML injection, duplicate
JSON keys, deep nesting. Always a clear 4xx (or 200 with an inline error), never a 500; a
refused request writes nothing, and whatever is accepted is shown escaped.

One app and database serve the module; refused requests must leave every table as it was
(the request log of failed API calls aside: recording them is its job).
"""

import json
import re

import pytest
from sqlalchemy import func, select

from portal.crm import service as crm
from portal.diagnostics.models import ApiRequestLog, ApiUsageCounter
from portal.extensions import db
from tests.api_helpers import (
    API,
    api_config,
    make_tenants,
    module_app,
    new_client,
    new_contact,
)
from tests.conftest import make_user, session_of

TEN_MB = "x" * (10 * 1024 * 1024)
HTML = '<script>alert(1)</script><img src=x onerror="alert(2)">'
ESCAPED_HTML = "&lt;script&gt;alert(1)&lt;/script&gt;"
SQL = "Robert'); DROP TABLE clients; --"
EMOJI = "Ärikas 😀🎉"
RTL = "\u202eשלום مرحبا\u202c"
TEXTS = {
    "empty": "",
    "blank": "   ",
    "nul": "bad\x00name",
    "emoji": EMOJI,
    "rtl": RTL,
    "sql": SQL,
    "html": HTML,
    "long": "y" * 5000,
}
# Diagnostics record failed API requests by design; everything else must stay as it was.
RECORDING = {ApiRequestLog.__tablename__, ApiUsageCounter.__tablename__}
SUPPORT_EMAIL = "support@uku.example"
PAGE = "/settings/apps/public-api"
HX = {"HX-Request": "true"}


class Seed:
    pass


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    config = api_config(tmp_path_factory.mktemp("bad-input"),
                        LOGIN_LIMIT_PER_ACCOUNT="100000 per minute",
                        LOGIN_LIMIT_PER_IP="100000 per minute")
    with module_app(config) as app:
        yield app


@pytest.fixture(scope="module")
def seed(app):
    s = Seed()
    t = s.tenants = make_tenants()
    s.support = make_user(None, SUPPORT_EMAIL, support=True)
    db.session.commit()
    s.client = new_client(t.firm, name="Acme")
    s.contact = new_contact(t.firm, s.client, name="Mari")
    s.group = crm.create_client_group(t.firm.id, "VIP")
    db.session.commit()
    return s


def counts() -> dict:
    """Rows per table (the diagnostics tables aside)."""
    db.session.expire_all()
    return {
        table.name: db.session.execute(select(func.count()).select_from(table)).scalar_one()
        for table in db.metadata.sorted_tables if table.name not in RECORDING
    }


def browser(app, user, *, fresh=True):
    """A test client logged in as `user` (without the slow password hash)."""
    client = app.test_client()
    with client.session_transaction() as session:
        session.update(session_of(user, fresh=fresh))
    return client


def refused(response, before: dict, *, statuses=range(400, 500)) -> None:
    """A clear 4xx, nothing written, and no traceback shown."""
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text
    assert counts() == before


def assert_escaped(text: str, value: str, *, shown: bool = True) -> None:
    """`value` (if it holds markup) never appears raw; where it is `shown`, it is escaped."""
    if "<" in value:
        assert value not in text and "<script>alert" not in text
        if shown:
            assert ESCAPED_HTML in text


def form_post(client, url, data, headers=None):
    return client.post(url, data=data, headers=headers or {})


def raw_form(client, url, body: bytes, headers=None):
    return client.post(url, data=body, content_type="application/x-www-form-urlencoded",
                       headers=headers or {})


# --- portal forms -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", TEXTS)
def test_login_form(app, seed, name):
    value = TEXTS[name]
    before = counts()
    for data in ({"email": value, "password": value}, {"email": value},
                 {"email": "admin@alpha.example", "password": value}):
        response = form_post(app.test_client(), "/login", data)
        refused(response, before)
        if response.status_code == 422:
            assert re.search(r'<p class="error" role="alert">[^<]+</p>', response.text)
            assert_escaped(response.text, value, shown=data.get("email") == value)


@pytest.mark.parametrize("name", TEXTS)
def test_key_name(app, seed, name):
    value = TEXTS[name]
    admin = browser(app, seed.tenants.admin)
    before = counts()
    response = form_post(admin, f"{PAGE}/keys/generate", {"name": value}, HX)
    if name in ("empty", "blank", "nul", "long", "rtl"):
        # rtl: its U+202E and U+202C could make a name show as another one.
        refused(response, before)
        return
    assert response.status_code == 200, response.text[:300]
    assert_escaped(response.text, value)
    draft_id = re.search(r'name="draft_id" value="([^"]+)"', response.text).group(1)
    assert form_post(admin, f"{PAGE}/keys/cancel", {"draft_id": draft_id}, HX).status_code == 200
    assert counts() == before


@pytest.mark.parametrize("field, value", [
    ("draft_id", ""), ("draft_id", "key_nope"), ("draft_id", SQL), ("draft_id", HTML),
    ("draft_id", "\x00"), ("draft_id", TEXTS["long"]),
])
def test_key_save_and_cancel_with_bad_draft_ids(app, seed, field, value):
    admin = browser(app, seed.tenants.admin)
    before = counts()
    refused(form_post(admin, f"{PAGE}/keys/save", {field: value}, HX), before)
    cancel = form_post(admin, f"{PAGE}/keys/cancel", {field: value}, HX)
    assert cancel.status_code in (200, 400) and counts() == before


@pytest.mark.parametrize("name", TEXTS)
def test_sudo_password_before_a_reveal(app, seed, name):
    key_id = seed.tenants.pair.key.id
    admin = browser(app, seed.tenants.admin, fresh=False)
    before = counts()
    response = form_post(admin, f"{PAGE}/keys/{key_id}/reveal", {"password": TEXTS[name]}, HX)
    refused(response, before)  # no reveal, so no audit event either
    assert seed.tenants.pair.secret not in response.text


@pytest.mark.parametrize("name", TEXTS)
def test_client_group_form(app, seed, name):
    value = TEXTS[name]
    admin = browser(app, seed.tenants.admin)
    before = counts()
    response = form_post(admin, "/settings/client-groups", {"name": value}, HX)
    if name in ("empty", "blank", "nul", "long"):
        refused(response, before)
        if response.status_code == 422:
            assert 'role="alert"' in response.text
        return
    assert response.status_code == 200, response.text[:300]
    assert_escaped(response.text, value)
    assert_escaped(admin.get("/settings/client-groups").text, value)


@pytest.mark.parametrize("name", TEXTS)
@pytest.mark.parametrize("field", ["name", "title", "type", "required"])
def test_client_field_form(app, seed, name, field):
    value = TEXTS[name]
    admin = browser(app, seed.tenants.admin)
    data = {"name": f"f_{field}_{name}", "title": f"Title {field} {name}", "type": "text",
            field: value}
    before = counts()
    response = form_post(admin, "/settings/client-fields", data, HX)
    accepted = (
        (field == "title" and name in ("emoji", "rtl", "sql", "html"))
        or field == "required"  # anything but "on" means "not required"
        or (field == "type" and name == "empty")  # no type chosen: text
    )
    if name == "nul" or not accepted:
        refused(response, before)
        assert_escaped(response.text, value, shown=False)
        return
    assert response.status_code == 200, response.text[:300]
    assert_escaped(response.text, value, shown=field == "title")


@pytest.mark.parametrize("name", TEXTS)
def test_change_password_form(app, seed, name):
    value = TEXTS[name]
    member = browser(app, seed.tenants.member)
    before_hash = seed.tenants.member.password_hash
    before = counts()
    for data in ({"current_password": value, "new_password": value, "confirm_password": value},
                 {"current_password": value}, {}):
        refused(form_post(member, "/account/password", data), before)
    db.session.expire_all()
    assert db.session.get(type(seed.tenants.member), seed.tenants.member.id).password_hash \
        == before_hash


@pytest.mark.parametrize("by", ["request", "key", "firm", "nonsense", ""])
@pytest.mark.parametrize("name", TEXTS)
def test_support_look_ups(app, seed, by, name):
    value = TEXTS[name]
    support = browser(app, seed.support)
    before = counts()
    response = support.post("/support", data={"by": by, "q": value})
    if name == "nul":
        refused(response, before)
        return
    assert response.status_code == 200, response.text[:300]
    assert counts() == before  # nothing found, so nothing audit-logged
    assert_escaped(response.text, value)


@pytest.mark.parametrize("name", TEXTS)
@pytest.mark.parametrize("param", ["key_id", "status", "reason", "request_id", "page"])
def test_request_log_filters(app, seed, name, param):
    value = TEXTS[name]
    admin = browser(app, seed.tenants.admin)
    before = counts()
    response = admin.get(f"{PAGE}/log", query_string={param: value})
    if name == "nul":
        refused(response, before)
        return
    assert response.status_code == 200, (param, response.status_code, response.text[:300])
    assert_escaped(response.text, value, shown=param == "request_id")


@pytest.mark.parametrize("value", ["²", "٣", "-1", "0", "99999999999999999999999999", "1e9",
                                   "4xx", "6xx", "007", " 401 "])
@pytest.mark.parametrize("param", ["status", "page"])
def test_request_log_numbers(app, seed, param, value):
    admin = browser(app, seed.tenants.admin)
    response = admin.get(f"{PAGE}/log", query_string={param: value})
    assert response.status_code == 200, (param, value, response.status_code)


@pytest.mark.parametrize("value", ["²", "-1", "0", "99999999999999999999999999", "x"])
def test_audit_log_page_numbers(app, seed, value):
    admin = browser(app, seed.tenants.admin)
    assert admin.get("/settings/audit-log", query_string={"page": value}).status_code == 200


@pytest.mark.parametrize("name", TEXTS)
@pytest.mark.parametrize("param", ["q", "after"])
def test_client_search_and_paging(app, seed, name, param):
    value = TEXTS[name]
    admin = browser(app, seed.tenants.admin)
    before = counts()
    response = admin.get("/clients", query_string={param: value})
    if name == "nul":
        refused(response, before)
        return
    assert response.status_code in (200, 400), response.text[:300]
    assert_escaped(response.text, value, shown=param == "q")


@pytest.mark.parametrize("url, data, who", [
    ("/login", {"email": "a@b.example", "password": TEN_MB}, None),
    (f"{PAGE}/keys/generate", {"name": TEN_MB}, "admin"),
    (f"{PAGE}/keys/save", {"draft_id": TEN_MB}, "admin"),
    (f"{PAGE}/keys/KEY/reveal", {"password": TEN_MB}, "admin"),
    ("/settings/client-groups", {"name": TEN_MB}, "admin"),
    ("/settings/client-fields", {"name": "big", "title": TEN_MB}, "admin"),
    ("/account/password", {"current_password": TEN_MB}, "member"),
])
def test_ten_megabyte_forms_are_too_large(app, seed, url, data, who):
    client = app.test_client()
    if who:
        client = browser(app, getattr(seed.tenants, who), fresh=False)
    before = counts()
    response = client.post(url.replace("KEY", seed.tenants.pair.key.id), data=data)
    refused(response, before, statuses=(413,))
    assert "What you sent is too large." in response.text


@pytest.mark.parametrize("url, who", [
    ("/login", None),
    (f"{PAGE}/keys/generate", "admin"),
    ("/settings/client-groups", "admin"),
    ("/settings/client-fields", "admin"),
    ("/account/password", "member"),
])
@pytest.mark.parametrize("body", [b"name=%FF%FE%FD&email=%C3%28&password=%80",
                                  b"name=\xff\xfe&title=\xc3\x28&email=\x80\x81",
                                  b"%%%%&&&===", b"\x00\x00"])
def test_forms_with_invalid_utf8_or_broken_encoding(app, seed, url, who, body):
    client = browser(app, getattr(seed.tenants, who)) if who else app.test_client()
    before = counts()
    response = raw_form(client, url, body, HX)
    # Undecodable bytes become U+FFFD: a name made of them is no worse than any other name.
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert counts() == before


@pytest.mark.parametrize("query", [b"q=%FF%FE", b"q=\xff", b"by=firm&q=%C3%28", b"q=%00",
                                   b"%%%"])
@pytest.mark.parametrize("url, who", [
    ("/support", "support"), ("/clients", "admin"), (f"{PAGE}/log", "admin"),
    ("/settings/audit-log", "admin"),
])
def test_query_strings_with_invalid_utf8(app, seed, url, who, query):
    user = seed.support if who == "support" else seed.tenants.admin
    # A WSGI server hands the raw query bytes over as latin-1 text.
    response = browser(app, user).get(url, environ_overrides={"QUERY_STRING":
                                                              query.decode("latin-1")})
    assert response.status_code in (200, 400), (url, query, response.status_code)


# --- portal object URLs -----------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["nope", SQL, HTML, EMOJI, "\x00", "%00", "y" * 5000,
                                    "..", "key_' OR 1=1 --"])
@pytest.mark.parametrize("template", [
    "GET /clients/{}", "GET /settings/client-groups/{}/delete",
    "POST /settings/client-fields/{}/delete", f"GET {PAGE}/keys/{{}}/secret",
    f"POST {PAGE}/keys/{{}}/reveal", f"POST {PAGE}/keys/{{}}/delete",
])
def test_portal_object_ids(app, seed, template, bad_id):
    method, url = template.split(" ")
    admin = browser(app, seed.tenants.admin)
    before = counts()
    response = admin.open(url.format(bad_id.replace("/", "%2F")), method=method)
    refused(response, before, statuses=(404,))


# --- the JSON API: bodies ---------------------------------------------------------------------

JSON = "application/json"
CLIENT = {"name": "Northwind", "client_initials": "NW", "address_country_code": "EE"}


def deep(levels: int, opener="[", closer="]", inner="1") -> str:
    return opener * levels + inner + closer * levels


def body_cases(valid: dict, text_field: str) -> list:
    """(label, raw body, content type, expected status) for a create endpoint's body."""
    def with_(value) -> str:
        return json.dumps({**valid, text_field: value}, ensure_ascii=False)

    return [
        ("no body, no type", b"", None, 415),
        ("form encoded", b"name=x", "application/x-www-form-urlencoded", 415),
        ("text/plain JSON", json.dumps(valid), "text/plain", 415),
        ("empty body", b"", JSON, 400),
        ("not JSON", b"{name: 'x'}", JSON, 400),
        ("truncated", json.dumps(valid)[:-1], JSON, 400),
        ("null", b"null", JSON, 400),
        ("array", json.dumps([valid]), JSON, 400),
        ("string", b'"hello"', JSON, 400),
        ("number", b"42", JSON, 400),
        ("empty object", b"{}", JSON, 422),
        ("missing field", json.dumps({k: v for k, v in valid.items() if k != text_field}),
         JSON, 422),
        ("unknown field", json.dumps({**valid, "id": "cli_mine", "firm_id": "firm_x"}), JSON,
         422),
        ("number for text", with_(123), JSON, 422),
        ("bool for text", with_(True), JSON, 422),
        ("null for text", with_(None), JSON, 422),
        ("list for text", with_(["a"]), JSON, 422),
        ("object for text", with_({"a": 1}), JSON, 422),
        ("empty text", with_(""), JSON, 422),
        ("blank text", with_("   "), JSON, 422),
        ("too long text", with_("y" * 5000), JSON, 422),
        ("NUL in text", with_("a\x00b"), JSON, 422),
        ("NUL in a key", json.dumps({**valid, "x\x00": 1}), JSON, 422),
        ("10 MB text", with_(TEN_MB), JSON, 413),
        ("invalid UTF-8", json.dumps(valid)[:-1].encode() + b', "x": "\xff\xfe"}', JSON, 400),
        ("latin-1 bytes", with_("Ärikas").encode("utf-8").replace("Ä".encode(), b"\xc4"),
         JSON, 400),
        ("lone surrogate", with_("x")[:-1] + ', "y": "\\ud800"}', JSON, 400),
        ("duplicate keys", json.dumps(valid)[:-1] + f', "{text_field}": "again"}}', JSON, 400),
        ("NaN", json.dumps(valid)[:-1] + ', "x": NaN}', JSON, 400),
        ("Infinity", json.dumps(valid)[:-1] + ', "x": -Infinity}', JSON, 400),
        ("huge exponent", with_(0)[:-2] + "1e400}", JSON, (400, 422)),
        ("5000-digit integer", with_(0)[:-2] + "9" * 5000 + "}", JSON, 400),
        ("nested 25 objects", json.dumps({**valid, text_field: 0})[:-2]
         + deep(25, '{"a":', "}") + "}", JSON, 400),
        ("nested 100000 arrays", json.dumps(valid)[:-1] + ', "x": ' + deep(100_000) + "}",
         JSON, 400),
        ("nested only", deep(100_000), JSON, 400),
        ("BOM first", b"\xef\xbb\xbf" + json.dumps(valid).encode(), JSON, 400),
        ("trailing garbage", json.dumps(valid) + "}", JSON, 400),
    ]


def api_post(app, headers, path, raw, content_type):
    kwargs = {"data": raw}
    if content_type:
        kwargs["content_type"] = content_type
    return app.test_client().post(API + path, headers=headers, **kwargs)


def assert_api_error(response, status) -> None:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.is_json
    error = response.json["error"]
    code = "UNSUPPORTED_MEDIA_TYPE" if response.status_code == 415 else "VALIDATION_ERROR"
    assert error["code"] == code and error["message"]
    assert error["request_id"] == response.headers["X-Request-Id"]


@pytest.mark.parametrize("label, raw, content_type, status",
                         body_cases(CLIENT, "name"), ids=lambda v: v if isinstance(v, str)
                         and len(v) < 40 else None)
def test_create_client_bodies(app, seed, label, raw, content_type, status):
    before = counts()
    response = api_post(app, seed.tenants.headers, "/clients", raw, content_type)
    assert_api_error(response, status)
    assert counts() == before


@pytest.fixture(scope="module")
def contact_cases(seed):
    """The same cases for contacts (built once: their body needs the seeded client's id)."""
    return body_cases({"client_id": seed.client.id, "name": "Anna",
                       "email": "anna@example.com"}, "name")


@pytest.mark.parametrize("index", range(len(body_cases(CLIENT, "name"))))
def test_create_contact_bodies(app, seed, contact_cases, index):
    label, raw, content_type, status = contact_cases[index]
    before = counts()
    response = api_post(app, seed.tenants.headers, "/contacts", raw, content_type)
    assert_api_error(response, status)
    assert counts() == before, label


@pytest.mark.parametrize("body, status", [
    ({"client_id": "cli_missing", "name": "A", "email": "a@example.com"}, 422),
    ({"client_id": None, "name": "A", "email": "a@example.com"}, 422),
    ({"client_id": 5, "name": "A", "email": "a@example.com"}, 422),
    ({"client_id": "CLIENT", "name": "A", "email": "not an e-mail"}, 422),
    ({"client_id": "CLIENT", "name": "A", "email": "a@example.com", "birthday": "2020-02-30"},
     422),
    ({"client_id": "CLIENT", "name": "A", "email": "a@example.com", "birthday": 20200101},
     422),
    ({"client_id": "CLIENT", "name": "A", "email": "a@example.com", "birthday": "9999-01-01"},
     422),
    ({"client_id": "CLIENT", "name": "A", "email": "a@example.com", "is_primary": "yes"}, 422),
    ({"client_id": "CLIENT", "name": "A", "email": "a@example.com", "is_primary": 1}, 422),
    ({"client_id": SQL, "name": "A", "email": "a@example.com"}, 422),
])
def test_create_contact_wrong_values(app, seed, body, status):
    if body.get("client_id") == "CLIENT":
        body = {**body, "client_id": seed.client.id}
    before = counts()
    response = api_post(app, seed.tenants.headers, "/contacts", json.dumps(body), JSON)
    assert_api_error(response, status)
    assert counts() == before


@pytest.mark.parametrize("patch", [
    {"client_initials": "TOOLONG"}, {"client_initials": "<b>"}, {"client_initials": 12},
    {"address_country_code": "XX"}, {"address_country_code": "ee "},
    {"address_country_code": ["EE"]}, {"type": "alien"}, {"status": "deleted"},
    {"email": "no-at-sign"}, {"fields": []}, {"fields": {"nope": 1}}, {"fields": "x"},
    {"group_ids": "grp_x"}, {"group_ids": [1]}, {"group_ids": ["grp_missing"]},
    {"group_ids": ["y" * 5000]}, {"fields": {f"k{i}": 1 for i in range(101)}},
])
def test_create_client_wrong_values(app, seed, patch):
    before = counts()
    response = api_post(app, seed.tenants.headers, "/clients", json.dumps({**CLIENT, **patch}),
                        JSON)
    assert_api_error(response, 422)
    assert counts() == before


@pytest.mark.parametrize("label, raw, content_type, status", [
    ("no body", b"", None, 415),
    ("empty object", b"{}", JSON, 422),
    ("numbers", b'{"api_key": 1, "api_secret": 2}', JSON, 422),
    ("nulls", b'{"api_key": null, "api_secret": null}', JSON, 422),
    ("duplicate keys", b'{"api_key": "a", "api_key": "b", "api_secret": "c"}', JSON, 400),
    ("invalid UTF-8", b'{"api_key": "\xff", "api_secret": "x"}', JSON, 400),
    ("10 MB", json.dumps({"api_key": TEN_MB, "api_secret": "x"}), JSON, 413),
    ("nested", '{"api_key": ' + deep(100_000) + ', "api_secret": "x"}', JSON, 400),
    ("NUL", json.dumps({"api_key": "a\x00", "api_secret": "b"}), JSON, 422),
])
def test_token_bodies(app, seed, label, raw, content_type, status):
    before = counts()
    response = api_post(app, {}, "/auth/token", raw, content_type)
    assert_api_error(response, status)
    assert counts() == before


@pytest.mark.parametrize("name", [name for name in TEXTS if name not in ("empty", "blank")])
def test_token_with_strange_credentials_is_401(app, seed, name):
    value = TEXTS[name]
    response = api_post(app, {}, "/auth/token",
                        json.dumps({"api_key": value, "api_secret": value}), JSON)
    assert response.status_code in (401, 422), response.text[:300]


# --- the JSON API: queries, paths and headers -------------------------------------------------


@pytest.mark.parametrize("query", [
    "limit=0", "limit=-1", "limit=101", "limit=abc", "limit=1e3", "limit=%C2%B2", "limit=",
    "limit=99999999999999999999999", "cursor=garbage", "cursor=", "cursor=%00",
    "cursor=" + "A" * 5000, "sort=evil", "sort=name;DROP TABLE clients", "q=", "q=%20%20",
    "q=" + "y" * 201, "q=a%00b", "created_since=yesterday", "created_since=2024-13-01",
    "created_since=99999-01-01", "updated_since=2024-01-01T25:00:00Z", "status=deleted",
    "unknown=1", "limit=1&limit=2", "%FF=1", "q=%FF%FE" + "y" * 300,
])
@pytest.mark.parametrize("path", ["/clients", "/contacts"])
def test_list_parameters(app, seed, path, query):
    if path == "/contacts" and query.startswith("status="):
        query = "status=active"  # contacts have no status filter at all
    response = app.test_client().get(f"{API}{path}?{query}", headers=seed.tenants.headers)
    assert_api_error(response, 400)


@pytest.mark.parametrize("value", [EMOJI, RTL, SQL, HTML, "%", "_", "\\", "'", "Acme"])
def test_list_search_with_strange_text(app, seed, value):
    response = app.test_client().get(f"{API}/clients", query_string={"q": value},
                                     headers=seed.tenants.headers)
    assert response.status_code == 200
    names = [row["name"] for row in response.json["data"]]
    assert all(value.lower() in name.lower() for name in names)


@pytest.mark.parametrize("bad_id", ["nope", SQL, HTML, EMOJI, RTL, "%00", "y" * 5000, "..",
                                    "%FF", "cli_' OR '1'='1"])
@pytest.mark.parametrize("resource", ["clients", "contacts"])
def test_api_object_ids(app, seed, resource, bad_id):
    response = app.test_client().get(f"{API}/{resource}/{bad_id}", headers=seed.tenants.headers)
    assert response.status_code == 404 and response.is_json
    assert response.json["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("headers", [
    {"Authorization": "Basic not-base64!!"},
    {"Authorization": "Basic " + "\u00ff\u00fe".encode("latin-1").decode("latin-1")},
    {"Authorization": "Basic /w=="},  # one 0xFF byte: not UTF-8
    {"Authorization": "Bearer " + "x" * 5000},
    {"Authorization": "Bearer " + HTML},
    {"Authorization": "Digest abc"},
    {"Authorization": ""},
    {"X-API-Key": SQL, "X-API-Secret": SQL},
    {"X-API-Key": "y" * 5000, "X-API-Secret": "y" * 5000},
    {"X-API-Key": "Ärikas", "X-API-Secret": "😀".encode().decode("latin-1")},
])
def test_garbage_credentials_are_401(app, seed, headers):
    response = app.test_client().get(f"{API}/ping", headers=headers)
    assert response.status_code == 401 and response.is_json
    # A hint names what is wrong with the format; it never echoes what was sent.
    assert response.json["error"]["code"] in ("MALFORMED_CREDENTIALS", "TOKEN_INVALID",
                                              "UNAUTHENTICATED")
    assert "<script" not in response.text and "DROP TABLE" not in response.text


@pytest.mark.parametrize("key", ["", " ", "y" * 256, "a\tb", "\x7f"])
def test_bad_idempotency_keys(app, seed, key):
    before = counts()
    response = app.test_client().post(f"{API}/clients", json=CLIENT,
                                      headers={**seed.tenants.headers, "Idempotency-Key": key})
    assert_api_error(response, 400)
    assert counts() == before


# --- what is accepted is stored as sent and shown escaped -------------------------------------


@pytest.mark.parametrize("name", ["emoji", "rtl", "sql", "html"])
def test_accepted_text_round_trips_and_is_escaped_in_the_portal(app, seed, name):
    value = TEXTS[name]
    headers = seed.tenants.headers
    api = app.test_client()
    created = api.post(f"{API}/clients", json={**CLIENT, "name": value, "vat_number": value[:64]},
                       headers=headers)
    assert created.status_code == 201, created.text
    client_id = created.json["data"]["id"]
    contact = api.post(f"{API}/contacts", headers=headers, json={
        "client_id": client_id, "name": value, "surname": value, "job_title": value,
        "email": "x@example.com"})
    assert contact.status_code == 201, contact.text
    fetched = api.get(f"{API}/clients/{client_id}", headers=headers).json["data"]
    assert fetched["name"] == value.strip()
    admin = browser(app, seed.tenants.admin)
    for url, query in (("/clients", {}), (f"/clients/{client_id}", {}),
                       ("/clients", {"q": value[:10]})):
        page = admin.get(url, query_string=query)
        assert page.status_code == 200
        assert_escaped(page.text, value)


@pytest.mark.parametrize("query", [b"q=\xff", b"limit=\xc3\x28", b"\xff=1"])
def test_api_query_strings_with_invalid_utf8(app, seed, query):
    response = app.test_client().get(f"{API}/clients", headers=seed.tenants.headers,
                                     environ_overrides={"QUERY_STRING": query.decode("latin-1")})
    assert response.status_code == 400 and response.is_json
    assert response.json["error"]["code"] == "VALIDATION_ERROR"
