"""Clients and their contacts, for the firm's admins: what integrations created, visible."""

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from portal.auth.access import admin_required, get_in_firm_or_404
from portal.crm import service
from portal.crm.countries import country_name
from portal.crm.models import Client
from portal.htmx import render

bp = Blueprint("crm", __name__)

SEARCH_MAX = 200


@bp.get("/clients")
@admin_required
def clients():
    """The firm's clients, newest first, searchable by name, a page at a time."""
    q = request.args.get("q", "").strip()[:SEARCH_MAX]
    after = request.args.get("after") or None
    page, next_after = service.client_page(
        current_user.firm_id, q or None, after, current_app.config["PAGE_SIZE"]
    )
    return render(
        "crm/_client_list.html", "crm/clients.html",
        clients=page, q=q, next_after=next_after, paged=after is not None,
    )


@bp.get("/clients/<client_id>")
@admin_required
def client_detail(client_id: str):
    """One client: details, groups, custom field values and contacts."""
    client = get_in_firm_or_404(Client, client_id)
    return render_template(
        "crm/client.html",
        client=client,
        country=country_name(client.address_country_code),
        custom_fields=service.list_client_fields(current_user.firm_id),
    )
