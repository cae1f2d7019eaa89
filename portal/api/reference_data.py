"""Read-only reporting lists: members, client groups, client fields."""

from sqlalchemy import select

from portal.accounts.models import User
from portal.api.list_query import ListQuery, Status
from portal.api.listing import list_resource
from portal.api.spec import documented, list_params
from portal.api.views import bp
from portal.crm import service as crm
from portal.crm.models import ClientField, ClientGroup
from portal.crm.schemas import ClientFieldOut, ClientGroupOut, MemberOut


class MemberListQuery(ListQuery):
    status: Status = None


@bp.get("/members")
@documented(summary="List the firm's users", response=MemberOut, many=True,
            params=list_params(MemberListQuery), errors=("400", "401"))
def list_members():
    """The firm's users: id, name, e-mail, role, status (never password data)."""
    return list_resource(
        select(User), User, crm.member_to_out, MemberListQuery,
        status_filter=lambda status: User.is_active_member.is_(status == "active"),
    )


@bp.get("/client-groups")
@documented(summary="List client groups", response=ClientGroupOut, many=True,
            params=list_params(ListQuery), errors=("400", "401"))
def list_client_groups():
    """The firm's client groups."""
    return list_resource(select(ClientGroup), ClientGroup, crm.client_group_to_out)


@bp.get("/client-fields")
@documented(summary="List custom client field definitions", response=ClientFieldOut,
            many=True, params=list_params(ListQuery), errors=("400", "401"))
def list_client_fields():
    """The firm's custom client fields: id, name, title, type, required."""
    return list_resource(select(ClientField), ClientField, crm.client_field_to_out)
