"""Clients and contacts: list, read, create (scoped to the calling key's firm)."""

from flask import abort, current_app, g, url_for
from pydantic import Field
from sqlalchemy import select

from portal.api.body import BodyError, accepted_parts, parse_body
from portal.api.etags import with_etag
from portal.api.idempotency import run_create
from portal.api.list_query import NO_NUL_TEXT, Status, TimedListQuery, text
from portal.api.listing import list_resource, page_query
from portal.api.pagination import page_of
from portal.api.responses import data_response, stored_list_response
from portal.api.spec import RESPONSE_ID, Link, documented, list_params
from portal.api.views import bp
from portal.crm import service as crm
from portal.crm.models import Client, Contact
from portal.crm.schemas import ClientCreate, ClientOut, ContactCreate, ContactOut
from portal.extensions import db

CREATE_ERRORS = ("400", "401", "409", "413", "415", "422")


class ClientListQuery(TimedListQuery):
    status: Status = None


# A page of clients needs its stored JSON, and the sort values and id its cursor is made of.
CLIENT_PAGE_COLUMNS = (Client.id, Client.name, Client.created_at, Client.updated_at,
                       Client.api_json)


class ContactListQuery(TimedListQuery):
    equality_filters = ("client_id",)

    client_id: text(min_length=1, max_length=64, pattern=NO_NUL_TEXT) = Field(
        None, description="Only the contacts of this client.")


# Links: what an answer's ids lead to. A client (created or read) to its contacts; a created
# object to its own read; a contact to its client.
CLIENT_FOLLOW_UPS = (
    Link("ListContacts", "list_contacts", "List this client's contacts.",
         {"client_id": RESPONSE_ID}),
    Link("CreateContact", "create_contact", "Add a contact to this client.",
         body={"client_id": RESPONSE_ID}),
)
READ_NEW_CLIENT = Link("GetClient", "get_client", "Read the new client.",
                       {"client_id": RESPONSE_ID})
READ_NEW_CONTACT = Link("GetContact", "get_contact", "Read the new contact.",
                        {"contact_id": RESPONSE_ID})
UPDATE_CLIENT = Link("UpdateClient", "update_client", "Change the client, as read.",
                     {"client_id": RESPONSE_ID, "header.If-Match": "$response.header.ETag"})
UPDATE_CONTACT = Link("UpdateContact", "update_contact", "Change the contact, as read.",
                      {"contact_id": RESPONSE_ID, "header.If-Match": "$response.header.ETag"})
READ_CONTACTS_CLIENT = Link("GetClient", "get_client", "Read the contact's client.",
                            {"client_id": "$response.body#/data/client_id"})


@bp.get("/clients")
@documented(summary="List clients", response=ClientOut, many=True,
            params=list_params(ClientListQuery), errors=("400", "401"))
def list_clients():
    """The firm's clients, one keyset page at a time, as each client's JSON was stored
    (CLIENT_LIST_STORED_JSON off: serialized from the rows, for the benchmark to compare)."""
    if not current_app.config["CLIENT_LIST_STORED_JSON"]:
        return list_resource(select(Client), Client, crm.client_to_out, ClientListQuery,
                             page_to_out=crm.clients_to_out)
    params, query = page_query(select(*CLIENT_PAGE_COLUMNS), Client, ClientListQuery)
    rows, cursor = page_of(db.session.execute(query).all(), Client, params)
    return stored_list_response(crm.stored_clients_json(rows), params.limit, cursor)


@bp.get("/clients/<client_id>")
@documented(summary="Get a client", response=ClientOut, errors=("401", "404"), etag=True,
            links=(*CLIENT_FOLLOW_UPS, UPDATE_CLIENT))
def get_client(client_id: str):
    """One client of the firm; another firm's id is a 404 like a missing one."""
    return with_etag(data_response(
        crm.client_to_out(_found(crm.get_client(g.firm_id, client_id)))))


@bp.post("/clients")
@documented(summary="Create a client", request=ClientCreate, response=ClientOut, status=201,
            errors=CREATE_ERRORS, etag=True, links=(READ_NEW_CLIENT, *CLIENT_FOLLOW_UPS))
def create_client():
    """Create a client; safe to retry with an Idempotency-Key."""
    payload = _parse_with_firm_rules(ClientCreate, crm.client_rule_problems,
                                     ("fields", "group_ids"))
    return with_etag(run_create(lambda: _created(
        crm.stored_client_out(crm.create_client(g.firm_id, payload)), "api.get_client",
        "client_id",
    )))


@bp.get("/contacts")
@documented(summary="List contacts", response=ContactOut, many=True,
            params=list_params(ContactListQuery), errors=("400", "401"))
def list_contacts():
    """The firm's contacts, optionally of one client."""
    return list_resource(select(Contact), Contact, crm.contact_to_out, ContactListQuery)


@bp.get("/contacts/<contact_id>")
@documented(summary="Get a contact", response=ContactOut, errors=("401", "404"), etag=True,
            links=(READ_CONTACTS_CLIENT, UPDATE_CONTACT))
def get_contact(contact_id: str):
    """One contact of the firm."""
    return with_etag(data_response(
        crm.contact_to_out(_found(crm.get_contact(g.firm_id, contact_id)))))


@bp.post("/contacts")
@documented(summary="Create a contact", request=ContactCreate, response=ContactOut, status=201,
            errors=CREATE_ERRORS, etag=True, links=(READ_NEW_CONTACT, READ_CONTACTS_CLIENT))
def create_contact():
    """Create a contact of one of the firm's clients."""
    payload = _parse_with_firm_rules(ContactCreate, crm.contact_rule_problems,
                                     ("client_id", "is_primary"))
    return with_etag(run_create(lambda: _created(
        crm.contact_to_out(crm.create_contact(g.firm_id, payload)), "api.get_contact",
        "contact_id",
    )))


def _parse_with_firm_rules(model, rule_problems, parts: tuple[str, ...]):
    """The body as `model`; when the schema refuses it, the firm's own rules are checked too,
    on the `parts` the schema accepts on their own, so one answer lists every problem: not the
    schema's first, and the firm's custom fields only once the caller has fixed those."""
    try:
        return parse_body(model)
    except BodyError as error:
        if error.body is not None:
            error.details += rule_problems(g.firm_id, accepted_parts(model, error.body, parts))
        raise


def _found(obj):
    if obj is None:
        abort(404)
    return obj


def _created(data: dict, endpoint: str, id_arg: str):
    location = url_for(endpoint, **{id_arg: data["id"]})
    return data_response(data, 201, {"Location": location})
