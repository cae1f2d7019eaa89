"""Helpers shared by the CRM test modules: counting rows, making clients, contacts and seeds."""

import json

from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.crm import service
from portal.crm.models import Client
from portal.crm.schemas import ClientCreate, ContactCreate
from portal.extensions import db

CLIENT = {"name": "Northwind Traders", "client_initials": "nwt", "address_country_code": "EE"}


def count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar()


def actions() -> list[str]:
    return db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()


def make_client(firm, **overrides) -> Client:
    """A committed client of the firm, made through the service like the API makes them."""
    client = service.create_client(firm.id, ClientCreate(**{**CLIENT, **overrides}))
    db.session.commit()
    return client


def contact_payload(client_id: str, **overrides) -> ContactCreate:
    data = {"client_id": client_id, "name": "Mari", "email": "mari@example.com", **overrides}
    return ContactCreate.model_validate_json(json.dumps(data), strict=True)


def seed_objects(world) -> dict:
    """One client, group and field in each of the two firms; their ids by name."""
    ids = {}
    for prefix, firm in (("", world.firm), ("other_", world.other_firm)):
        group = service.create_client_group(firm.id, "Annual report")
        field = service.create_client_field(firm.id, "employees", "Employees", "number")
        client = service.create_client(
            firm.id,
            ClientCreate(name=f"{firm.name} Client", client_initials="AC",
                         address_country_code="EE", group_ids=[group.id],
                         fields={"employees": 7}),
        )
        ids.update({f"{prefix}client": client.id, f"{prefix}group": group.id,
                    f"{prefix}field": field.id})
    db.session.commit()
    return ids
