"""Settings pages for the firm's client groups and custom client fields (htmx + no-JS).

Both pages are one flow: a list with an add form, a confirmation dialog, and delete. A
`DataList` says what differs (templates, what the list shows, the words); the flow is written
once.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask import flash, redirect, request, url_for
from flask_login import current_user

from portal.auth.access import admin_required, get_in_firm_or_404
from portal.crm import service
from portal.crm.errors import CrmValidationError
from portal.crm.models import ClientField, ClientGroup, FieldType
from portal.crm.views import bp
from portal.extensions import db
from portal.htmx import render, wants_fragment


@dataclass(frozen=True)
class DataList:
    """One settings page of the firm's data: its templates, its contents and its words."""

    endpoint: str  # the page, e.g. "crm.client_groups"
    page: str
    fragment: str
    target: str  # the fragment's id, which the delete dialog swaps
    contents: Callable[[str], dict]  # what the list shows, for a firm id

    def render(self, status: int = 200, fragment: str | None = None, **extra):
        """The list (or `fragment`) for htmx, else the page: with errors, the form, a message
        or a dialog."""
        context = {"errors": {}, "form": {}, "message": None, "confirm": None}
        context |= self.contents(current_user.firm_id) | extra
        return render(fragment or self.fragment, self.page, status, **context)

    def done(self, message: str):
        """After a write: the refreshed list for htmx, a redirect with a flash without JS."""
        if wants_fragment():
            return self.render(message=message)
        flash(message, "success")
        return redirect(url_for(self.endpoint))

    def confirm_delete(self, title: str, text: str, button: str, endpoint: str, **ids):
        """The confirmation dialog (a page of its own without JavaScript)."""
        confirm = {"title": title, "text": text, "button": button,
                   "post_url": url_for(endpoint, **ids),
                   "delete_url": url_for(endpoint, _method="DELETE", **ids),
                   "target": self.target, "cancel_url": url_for(self.endpoint)}
        return self.render(confirm=confirm, fragment="crm/_confirm_delete.html")


GROUPS = DataList(
    "crm.client_groups", "crm/client_groups.html", "crm/_groups.html", "#client-groups",
    lambda firm_id: {"groups": service.list_client_groups(firm_id),
                     "counts": service.group_client_counts(firm_id)},
)
FIELDS = DataList(
    "crm.client_fields", "crm/client_fields.html", "crm/_fields.html", "#client-fields",
    lambda firm_id: {"fields": service.list_client_fields(firm_id),
                     "field_types": [t.value for t in FieldType]},
)


@bp.get("/settings/client-groups")
@admin_required
def client_groups():
    """The firm's client groups with an add form."""
    return GROUPS.render()


@bp.post("/settings/client-groups")
@admin_required
def add_client_group():
    """Add a group; errors are shown next to the name."""
    name = request.form.get("name", "")
    try:
        group = service.create_client_group(current_user.firm_id, name, actor=current_user)
    except CrmValidationError as error:
        return GROUPS.render(422, errors=error.messages(), form={"name": name[:200]})
    db.session.commit()
    return GROUPS.done(f"Client group “{group.name}” added.")


@bp.get("/settings/client-groups/<group_id>/delete")
@admin_required
def confirm_delete_group(group_id: str):
    """The confirmation dialog for deleting a group."""
    group = get_in_firm_or_404(ClientGroup, group_id)
    return GROUPS.confirm_delete(
        f"Delete client group “{group.name}”?",
        "Its clients stay; they are only removed from this group.", "Delete group",
        "crm.delete_group", group_id=group.id)


@bp.route("/settings/client-groups/<group_id>", methods=["DELETE"])
@bp.post("/settings/client-groups/<group_id>/delete")
@admin_required
def delete_group(group_id: str):
    """Delete a group (its clients stay)."""
    group = get_in_firm_or_404(ClientGroup, group_id)
    name = group.name
    service.delete_client_group(group, actor=current_user)
    db.session.commit()
    return GROUPS.done(f"Client group “{name}” deleted.")


@bp.get("/settings/client-fields")
@admin_required
def client_fields():
    """The firm's custom client fields with an add form."""
    return FIELDS.render()


@bp.post("/settings/client-fields")
@admin_required
def add_client_field():
    """Add a custom field; errors are shown next to each input."""
    form = {key: request.form.get(key, "")[:200] for key in ("name", "title", "type")}
    form["required"] = request.form.get("required") == "on"
    try:
        field = service.create_client_field(
            current_user.firm_id, request.form.get("name", ""), request.form.get("title", ""),
            request.form.get("type") or "text", form["required"], actor=current_user,
        )
    except CrmValidationError as error:
        return FIELDS.render(422, errors=error.messages(), form=form)
    db.session.commit()
    return FIELDS.done(f"Client field “{field.title}” added.")


@bp.get("/settings/client-fields/<field_id>/delete")
@admin_required
def confirm_delete_field(field_id: str):
    """The confirmation dialog for deleting a custom field."""
    field = get_in_firm_or_404(ClientField, field_id)
    return FIELDS.confirm_delete(
        f"Delete client field “{field.title}”?",
        "Every client's value of this field is deleted too. This cannot be undone.",
        "Delete field", "crm.delete_field", field_id=field.id)


@bp.route("/settings/client-fields/<field_id>", methods=["DELETE"])
@bp.post("/settings/client-fields/<field_id>/delete")
@admin_required
def delete_field(field_id: str):
    """Delete a custom field and its values."""
    field = get_in_firm_or_404(ClientField, field_id)
    title = field.title
    service.delete_client_field(field, actor=current_user)
    db.session.commit()
    return FIELDS.done(f"Client field “{title}” deleted.")
