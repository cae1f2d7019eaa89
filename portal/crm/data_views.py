"""Settings pages for the firm's client groups and custom client fields (htmx + no-JS)."""

from flask import flash, redirect, request, url_for
from flask_login import current_user

from portal.auth.access import admin_required, get_in_firm_or_404
from portal.crm import service
from portal.crm.errors import CrmValidationError
from portal.crm.models import ClientField, ClientGroup, FieldType
from portal.crm.views import bp
from portal.extensions import db
from portal.htmx import render, wants_fragment

GROUPS_PAGE = "crm/client_groups.html"
GROUPS = "crm/_groups.html"
FIELDS_PAGE = "crm/client_fields.html"
FIELDS = "crm/_fields.html"
CONFIRM = "crm/_confirm_delete.html"


def groups_context(**extra) -> dict:
    """Everything the client groups page shows; each fragment picks what it needs."""
    firm_id = current_user.firm_id
    context = {
        "groups": service.list_client_groups(firm_id),
        "counts": service.group_client_counts(firm_id),
        "errors": {}, "form": {}, "message": None, "confirm": None,
    }
    return context | extra


def fields_context(**extra) -> dict:
    """Everything the client fields page shows."""
    context = {
        "fields": service.list_client_fields(current_user.firm_id),
        "field_types": [t.value for t in FieldType],
        "errors": {}, "form": {}, "message": None, "confirm": None,
    }
    return context | extra


def _finish(message: str, fragment: str, page: str, endpoint: str, context):
    """After a write: the refreshed component for htmx, a redirect with a flash without JS."""
    if wants_fragment():
        return render(fragment, page, **context(message=message))
    flash(message, "success")
    return redirect(url_for(endpoint))


def _groups_done(message: str):
    return _finish(message, GROUPS, GROUPS_PAGE, "crm.client_groups", groups_context)


def _fields_done(message: str):
    return _finish(message, FIELDS, FIELDS_PAGE, "crm.client_fields", fields_context)


@bp.get("/settings/client-groups")
@admin_required
def client_groups():
    """The firm's client groups with an add form."""
    return render(GROUPS, GROUPS_PAGE, **groups_context())


@bp.post("/settings/client-groups")
@admin_required
def add_client_group():
    """Add a group; errors are shown next to the name."""
    name = request.form.get("name", "")
    try:
        group = service.create_client_group(current_user.firm_id, name, actor=current_user)
    except CrmValidationError as error:
        context = groups_context(errors=error.messages(), form={"name": name[:200]})
        return render(GROUPS, GROUPS_PAGE, 422, **context)
    db.session.commit()
    return _groups_done(f"Client group “{group.name}” added.")


@bp.get("/settings/client-groups/<group_id>/delete")
@admin_required
def confirm_delete_group(group_id: str):
    """The confirmation dialog (a page of its own without JavaScript)."""
    group = get_in_firm_or_404(ClientGroup, group_id)
    confirm = {
        "title": f"Delete client group “{group.name}”?",
        "text": "Its clients stay; they are only removed from this group.",
        "button": "Delete group",
        "post_url": url_for("crm.delete_group", group_id=group.id),
        "delete_url": url_for("crm.delete_group", group_id=group.id, _method="DELETE"),
        "target": "#client-groups",
        "cancel_url": url_for("crm.client_groups"),
    }
    return render(CONFIRM, GROUPS_PAGE, **groups_context(confirm=confirm))


@bp.route("/settings/client-groups/<group_id>", methods=["DELETE"])
@bp.post("/settings/client-groups/<group_id>/delete")
@admin_required
def delete_group(group_id: str):
    """Delete a group (plain form post)."""
    group = get_in_firm_or_404(ClientGroup, group_id)
    name = group.name
    service.delete_client_group(group, actor=current_user)
    db.session.commit()
    return _groups_done(f"Client group “{name}” deleted.")



@bp.get("/settings/client-fields")
@admin_required
def client_fields():
    """The firm's custom client fields with an add form."""
    return render(FIELDS, FIELDS_PAGE, **fields_context())


@bp.post("/settings/client-fields")
@admin_required
def add_client_field():
    """Add a custom field; errors are shown next to each input."""
    form = {key: request.form.get(key, "") for key in ("name", "title", "type")}
    form["required"] = request.form.get("required") == "on"
    try:
        field = service.create_client_field(
            current_user.firm_id, form["name"], form["title"], form["type"] or "text",
            form["required"], actor=current_user,
        )
    except CrmValidationError as error:
        form.update({key: form[key][:200] for key in ("name", "title", "type")})
        context = fields_context(errors=error.messages(), form=form)
        return render(FIELDS, FIELDS_PAGE, 422, **context)
    db.session.commit()
    return _fields_done(f"Client field “{field.title}” added.")


@bp.get("/settings/client-fields/<field_id>/delete")
@admin_required
def confirm_delete_field(field_id: str):
    """The confirmation dialog for deleting a custom field."""
    field = get_in_firm_or_404(ClientField, field_id)
    confirm = {
        "title": f"Delete client field “{field.title}”?",
        "text": "Every client's value of this field is deleted too. This cannot be undone.",
        "button": "Delete field",
        "post_url": url_for("crm.delete_field", field_id=field.id),
        "delete_url": url_for("crm.delete_field", field_id=field.id, _method="DELETE"),
        "target": "#client-fields",
        "cancel_url": url_for("crm.client_fields"),
    }
    return render(CONFIRM, FIELDS_PAGE, **fields_context(confirm=confirm))


@bp.route("/settings/client-fields/<field_id>", methods=["DELETE"])
@bp.post("/settings/client-fields/<field_id>/delete")
@admin_required
def delete_field(field_id: str):
    """Delete a custom field and its values."""
    field = get_in_firm_or_404(ClientField, field_id)
    title = field.title
    service.delete_client_field(field, actor=current_user)
    db.session.commit()
    return _fields_done(f"Client field “{title}” deleted.")
