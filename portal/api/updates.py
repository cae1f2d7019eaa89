"""PATCH /clients/{id} and /contacts/{id}: JSON merge patches guarded by If-Match, so two
systems syncing at once cannot overwrite each other's changes unseen."""

from flask import abort, g, request
from sqlalchemy import select

from portal.api.body import parse_body
from portal.api.etags import etag_of, with_etag
from portal.api.idempotency import run_create
from portal.api.responses import data_response
from portal.api.spec import IDEMPOTENCY_PARAM, documented
from portal.api.views import bp
from portal.crm import service as crm
from portal.crm.models import Client, Contact
from portal.crm.schemas import ClientOut, ClientPatch, ContactOut, ContactPatch
from portal.crm.updates import patch_client, patch_contact
from portal.errors import json_error
from portal.extensions import db

PATCH_ERRORS = ("400", "401", "404", "409", "412", "413", "415", "422", "428")
IF_MATCH_PARAM = {
    "name": "If-Match", "in": "header", "required": True,
    "schema": {"type": "string", "minLength": 1},
    "description": "The ETag of the object as you last read it (from its GET, create or "
                   "update). A stale one answers 412; leaving it out answers 428. `*` takes "
                   "whatever version is current, overwriting changes you have not seen.",
}
PARAMS = [IF_MATCH_PARAM, IDEMPOTENCY_PARAM]


@bp.patch("/clients/<client_id>")
@documented(summary="Update a client", request=ClientPatch, response=ClientOut, etag=True,
            errors=PATCH_ERRORS, params=PARAMS)
def update_client(client_id: str):
    """Change some of a client's fields (a JSON merge patch of the fields create takes,
    checked the same way). Send If-Match with the client's ETag; safe to retry with an
    Idempotency-Key. A patch that changes nothing leaves updated_at alone."""
    return _patch(Client, client_id, ClientPatch, patch_client, crm.client_to_out)


@bp.patch("/contacts/<contact_id>")
@documented(summary="Update a contact", request=ContactPatch, response=ContactOut, etag=True,
            errors=PATCH_ERRORS, params=PARAMS)
def update_contact(contact_id: str):
    """Change some of a contact's fields, as for a client; moving it to another client (or
    making it primary) follows the rules of create."""
    return _patch(Contact, contact_id, ContactPatch, patch_contact, crm.contact_to_out)


def _patch(model, object_id: str, schema, apply, to_out):
    if not request.if_match:
        return json_error(428, "PRECONDITION_REQUIRED", "Send If-Match with the ETag from the "
                          "object's GET, so a change made since you read it is not overwritten.")
    patch = parse_body(schema)

    def update():
        obj = _locked(model, object_id)
        if not request.if_match.contains(etag_of(to_out(obj))):
            return json_error(412, "PRECONDITION_FAILED", "The object changed since you read "
                              "it: GET it again, reapply your change and send its new ETag.")
        apply(g.firm_id, obj, patch, f"API key '{g.api_key.name}'")
        return with_etag(data_response(to_out(obj)))

    return with_etag(run_create(update))


def _locked(model, object_id: str):
    """The firm's object, its row locked until the commit (PostgreSQL; SQLite has one writer)."""
    query = select(model).where(model.firm_id == g.firm_id, model.id == object_id)
    obj = db.session.execute(query.with_for_update()).scalar_one_or_none()
    if obj is None:
        abort(404)
    return obj
