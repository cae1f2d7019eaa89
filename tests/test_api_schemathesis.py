"""Schemathesis against /api/v1/openapi.json with every check it has (`--checks all`),
authenticated as a firm with data:

- stateless: every operation, drawn examples plus the coverage phase's boundary, missing-
  parameter and wrong-method cases;
- stateful: the document's links (create a client, then read it, list and add its contacts, read
  the new contact and its client), with a second firm as the peer that must never see the
  first's objects.

Deterministic (derandomized; no example database in the work tree).
"""

import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import CHECKS, ignored_auth, load_all_checks, positive_data_acceptance
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.stateful import run_state_machine_as_test

from portal import create_app
from portal.api.spec import IDEMPOTENCY_KEY_TEXT
from portal.crm import service as crm
from portal.extensions import db
from tests.api_helpers import api_config, make_tenants, module_app, new_client, new_contact

# Stateless: drawn examples per operation (the coverage phase adds its own deterministic cases).
EXAMPLES = 50
# Stateful: scenarios, each a chain of up to STEPS calls that starts with a create or a list.
SCENARIOS = 80
STEPS = 8
# The checks that look past one response: ignored_auth probes without and with bad credentials,
# the others compare a step with the ones before it. The API has no DELETE, so use_after_free
# has nothing to catch, yet it runs.
STATEFUL_CHECKS = {"use_after_free", "ensure_resource_availability", "ignored_auth",
                   "object_level_authorization"}


def schemathesis_config(**auth) -> SchemathesisConfig:
    """`--checks all`, and only the links the document declares (none inferred by schemathesis:
    the stateful test is there to prove the document's own links work)."""
    config = SchemathesisConfig.from_dict(
        {"phases": {"stateful": {"inference": {"algorithms": []}}}, "auth": auth}
    )
    config.projects.default.checks.update(included_check_names=["all"])
    return config


@dataclass
class Traffic:
    """Every request the app answered, by method, status and caller: what the tests sent."""

    callers: dict = field(default_factory=dict)  # Authorization header: firm name
    calls: Counter = field(default_factory=Counter)

    def middleware(self, wsgi_app):
        def counted(environ, start_response):
            caller = self.callers.get(environ.get("HTTP_AUTHORIZATION"), "someone else")

            def start(status, headers, exc_info=None):
                self.calls[environ["REQUEST_METHOD"], int(status.split()[0]), caller] += 1
                return start_response(status, headers, exc_info)

            return wsgi_app(environ, start)

        return counted

    def total(self, caller: str | None = None) -> int:
        return sum(n for (_, _, who), n in self.calls.items() if caller in (None, who))


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    return Traffic()


@pytest.fixture(scope="module")
def app(tmp_path_factory, traffic):
    # Diagnostics off: it writes a row per failed request, and most of these requests fail
    # on purpose (tests/test_diagnostics*.py cover it).
    config = api_config(tmp_path_factory.mktemp("schemathesis"), DIAGNOSTICS_ENABLED=False)
    with module_app(config) as app:
        app.wsgi_app = traffic.middleware(app.wsgi_app)
        yield app


@pytest.fixture(scope="module")
def tenants(app, traffic):
    """Two firms with some of everything; schemathesis works as the first."""
    tenants = make_tenants()
    for firm in (tenants.firm, tenants.other_firm):
        group = crm.create_client_group(firm.id, "VIP")
        crm.create_client_group(firm.id, "Monthly")
        for name, kind in (("employees", "number"), ("vip", "boolean"), ("year_end", "date"),
                           ("notes", "text")):
            crm.create_client_field(firm.id, name, name.title(), kind)
        db.session.commit()
        for i in range(3):
            client = new_client(firm, name=f"{firm.name} client {i}", group_ids=[group.id],
                                fields={"employees": i, "vip": bool(i % 2)})
            new_contact(firm, client, name=f"Contact {i}", is_primary=True)
    traffic.callers = {tenants.headers["Authorization"]: "firm",
                       tenants.other_headers["Authorization"]: "other_firm"}
    return tenants


@pytest.fixture(scope="module")
def auth_headers(tenants):
    return tenants.headers


@pytest.fixture(scope="module")
def real_cursor(app, auth_headers):
    """A next_cursor the server issued for a list and sort (None when there is none)."""
    cursors: dict = {}

    def real_cursor(path: str, sort) -> str | None:
        if (path, sort) not in cursors:
            response = app.test_client().get(f"/api/v1{path}", headers=auth_headers,
                                             query_string={"limit": 1, "sort": sort})
            ok = response.status_code == 200
            cursors[path, sort] = response.json["meta"]["next_cursor"] if ok else None
        return cursors[path, sort]

    return real_cursor


# --- what the test changes in a drawn case, and in the checks --------------------------------


def use_server_state(case, real_cursor) -> None:
    """Make the drawn values that stand for server state real, before the case is sent."""
    query = case.query
    if (query and isinstance(query.get("cursor"), str) and query["cursor"]
            and isinstance(query.get("sort", ""), str)):
        # A cursor is opaque: one the schema allows is valid only if the server issued it, for
        # the same sort (whatever the filters). Positive cases get a real one; an empty
        # (invalid) one stays as drawn.
        cursor = real_cursor(case.path, query.get("sort", "created_at"))
        if cursor is not None:
            query["cursor"] = cursor
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and len(key) <= 255 and re.fullmatch(IDEMPOTENCY_KEY_TEXT, key):
        # A key names one create, and drawn keys repeat ("0", "a"): a later create with another
        # body would be a 409 conflict and never reach the body's validation. A valid key gets
        # a suffix that makes it this case's own (and keeps it valid); an invalid one stays.
        # tests/test_api_create.py covers replays and conflicts.
        case.headers["Idempotency-Key"] = f"{key[:240]}~{next(KEY_SUFFIXES)}"


KEY_SUFFIXES = itertools.count()
# A create's 422 that names only these is about the firm's data or today's date, which no
# static document can state: the firm's custom field names and types, its group and client
# ids, one primary contact per client, no birthday after today.
FIRM_DATA_FIELD = re.compile(r"fields\..+|group_ids\.\d+|client_id|is_primary|birthday",
                             re.DOTALL)  # a field name may hold a line break


def firm_data_acceptance(ctx, response, case):
    """positive_data_acceptance, but a schema-valid create or update may be refused for firm
    data, and an update for an If-Match that is no ETag the server gave (server state too)."""
    if response.status_code == 412 and case.method == "PATCH":
        return None
    if response.status_code == 422 and case.method in ("POST", "PATCH"):
        details = response.json()["error"]["details"]
        if details and all(FIRM_DATA_FIELD.fullmatch(item["field"]) for item in details):
            return None
    return positive_data_acceptance(ctx, response, case)


def check_changes(case, auth_confirmed: set) -> dict:
    """excluded_checks and additional_checks for one case: every check runs, these adjusted."""
    excluded, added = [], []
    if case.method in ("POST", "PATCH") and case.path != "/auth/token":
        # Not dropped: replaced by the same check that lets firm-data 422s through.
        excluded.append(positive_data_acceptance)
        added.append(firm_data_acceptance)
    if case.operation.label in auth_confirmed:
        # As schemathesis' own runner does: enforcement is a property of the operation, so
        # one confirmation (probes without and with bad credentials) is enough.
        excluded.append(ignored_auth)
    return {"excluded_checks": excluded, "additional_checks": added}


def confirm_auth(auth_confirmed: set, case, response) -> None:
    """ignored_auth has probed this operation (it does on a 2xx answer)."""
    if 200 <= response.status_code < 300:
        auth_confirmed.add(case.operation.label)


# --- stateless: every operation --------------------------------------------------------------

AUTH_CONFIRMED: set[str] = set()

# The reference as served, read at collection time from an app without a database (the
# document needs none). schemathesis.pytest.from_fixture() would defer this to a fixture, but
# it sets pytest's private node._nodeid, which pytest 9 no longer has.
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", create_app(api_config(None)), config=schemathesis_config()
)


def test_every_check_is_enabled():
    load_all_checks()
    names = set(CHECKS.get_all_names())
    assert STATEFUL_CHECKS <= names
    for result in schema.get_all_operations():
        config = schema.config.checks_config_for(operation=result.ok(), phase=None)
        assert {name for name in names if config.get_by_name(name=name).enabled} == names


@schema.parametrize()
# EXAMPLES drawn examples per operation, derandomized (the same ones every run: a suite that
# fails only sometimes is no use) and no example database written into the work tree.
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
def test_api_conforms_to_its_reference(case, app, auth_headers, real_cursor):
    use_server_state(case, real_cursor)
    # Sent to the module's app, whose database holds the firm's data.
    response = case.call_and_validate(app=app, headers=auth_headers,
                                      **check_changes(case, AUTH_CONFIRMED))
    confirm_auth(AUTH_CONFIRMED, case, response)


# --- stateful: the document's links ----------------------------------------------------------

CREATED_ID = "$response.body#/data/id"
# (source operation, status, link name): (target operationId, parameters, requestBody)
EXPECTED_LINKS = {
    ("post /clients", "201", "GetClient"): ("get_client", {"client_id": CREATED_ID}, None),
    ("post /clients", "201", "ListContacts"): ("list_contacts", {"client_id": CREATED_ID}, None),
    ("post /clients", "201", "CreateContact"): ("create_contact", None, {"client_id": CREATED_ID}),
    ("get /clients/{client_id}", "200", "ListContacts"):
        ("list_contacts", {"client_id": CREATED_ID}, None),
    ("get /clients/{client_id}", "200", "CreateContact"):
        ("create_contact", None, {"client_id": CREATED_ID}),
    ("post /contacts", "201", "GetContact"): ("get_contact", {"contact_id": CREATED_ID}, None),
    ("post /contacts", "201", "GetClient"):
        ("get_client", {"client_id": "$response.body#/data/client_id"}, None),
    ("get /contacts/{contact_id}", "200", "GetClient"):
        ("get_client", {"client_id": "$response.body#/data/client_id"}, None),
    ("get /clients/{client_id}", "200", "UpdateClient"):
        ("update_client", {"client_id": CREATED_ID, "header.If-Match": "$response.header.ETag"},
         None),
    ("get /contacts/{contact_id}", "200", "UpdateContact"):
        ("update_contact", {"contact_id": CREATED_ID, "header.If-Match": "$response.header.ETag"},
         None),
}


def test_the_served_document_links_creates_to_reads(app):
    document = app.test_client().get("/api/v1/openapi.json").json
    links = {
        (f"{method} {path}", status, name): (link["operationId"], link.get("parameters"),
                                             link.get("requestBody"))
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        for status, response in operation["responses"].items()
        for name, link in response.get("links", {}).items()
    }
    assert links == EXPECTED_LINKS


@pytest.fixture(scope="module")
def peer_auth(tenants, tmp_path_factory) -> dict:
    """[auth.wfc]: the firm's key, and the other firm's as the peer that must never see the
    firm's objects (object_level_authorization replays the firm's reads with it)."""
    document = {"auth": [
        {"name": "firm", "fixedHeaders": _header_list(tenants.headers)},
        {"name": "other_firm", "fixedHeaders": _header_list(tenants.other_headers)},
    ]}
    path = tmp_path_factory.mktemp("wfc") / "auth.json"
    path.write_text(json.dumps(document))
    return {"wfc": {"path": str(path), "user": "firm", "peers": ["firm", "other_firm"]}}


def _header_list(headers: dict) -> list[dict]:
    return [{"name": name, "value": value} for name, value in headers.items()]


@dataclass
class Step:
    """One call the state machine made, and what it answered."""

    operation: str
    path_parameters: dict
    query: dict
    body: object
    status: int
    data: object


def run_workflow(app, auth: dict, real_cursor) -> list[Step]:
    """Run the state machine built from the served document against the app; every step's
    checks raise on a failure. The steps, not counting the checks' own probes."""
    stateful = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app,
                                              config=schemathesis_config(**auth))
    steps: list[Step] = []
    auth_confirmed: set[str] = set()

    class Workflow(stateful.as_state_machine()):
        def before_call(self, case):
            use_server_state(case, real_cursor)

        def after_call(self, response, case):
            super().after_call(response, case)
            body = response.json()
            steps.append(Step(case.operation.label, dict(case.path_parameters or {}),
                              dict(case.query or {}), case.body, response.status_code,
                              body.get("data") if isinstance(body, dict) else None))

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # As the base class does, with the stateless test's adjustments.
            case.validate_response(response, transport_kwargs=kwargs or None,
                                   recorder=self.recorder,
                                   **check_changes(case, auth_confirmed))
            confirm_auth(auth_confirmed, case, response)

    run_state_machine_as_test(Workflow, settings=settings(
        max_examples=SCENARIOS, stateful_step_count=STEPS, deadline=None, derandomize=True,
        database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck),
    ))
    return steps


def test_links_with_all_checks(app, peer_auth, real_cursor, traffic):
    steps = run_workflow(app, peer_auth, real_cursor)
    assert len(steps) >= SCENARIOS

    def answered(operation: str, status: int) -> list[Step]:
        return [step for step in steps if step.operation == operation and step.status == status]

    clients = {step.data["id"] for step in answered("POST /clients", 201)}
    contacts = answered("POST /contacts", 201)
    # Each link was followed: a later call used an id an earlier answer carried, and succeeded.
    assert {step.path_parameters["client_id"]
            for step in answered("GET /clients/{client_id}", 200)} & clients
    assert {step.query.get("client_id") for step in answered("GET /contacts", 200)} & clients
    assert {step.body["client_id"] for step in contacts} & clients
    assert {step.path_parameters["contact_id"]
            for step in answered("GET /contacts/{contact_id}", 200)} & {
        step.data["id"] for step in contacts}
    # A read's ETag led to an update that was applied.
    assert answered("PATCH /clients/{client_id}", 200) + answered(
        "PATCH /contacts/{contact_id}", 200)
    # object_level_authorization replayed the firm's reads with the other firm's key.
    assert traffic.total("other_firm") > 0
