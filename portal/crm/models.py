"""The CRM data an integration reads and creates: clients, contacts, groups, custom fields."""

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.ids import new_id, utcnow


class ClientType(enum.StrEnum):
    COMPANY = "company"
    PRIVATE_PERSON = "private_person"


class ClientStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class FieldType(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"


client_group_members = Table(
    "client_group_members",
    db.metadata,
    Column("client_id", ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", ForeignKey("client_groups.id", ondelete="CASCADE"), primary_key=True),
)


class ClientGroup(db.Model):
    __tablename__ = "client_groups"
    __table_args__ = (UniqueConstraint("firm_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("grp"))
    firm_id: Mapped[str] = mapped_column(ForeignKey("firms.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClientField(db.Model):
    __tablename__ = "client_fields"
    __table_args__ = (UniqueConstraint("firm_id", "name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("fld"))
    firm_id: Mapped[str] = mapped_column(ForeignKey("firms.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16), default=FieldType.TEXT)
    required: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Client(db.Model):
    __tablename__ = "clients"
    # Every list filter and sort is (firm, column, id): keyset pages cost the same anywhere.
    __table_args__ = (
        Index("ix_clients_firm_created", "firm_id", "created_at", "id"),
        Index("ix_clients_firm_updated", "firm_id", "updated_at", "id"),
        Index("ix_clients_firm_name", "firm_id", "name", "id"),
        Index("ix_clients_firm_status_created", "firm_id", "status", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("cli"))
    firm_id: Mapped[str] = mapped_column(ForeignKey("firms.id"))
    name: Mapped[str] = mapped_column(String(200))
    client_initials: Mapped[str] = mapped_column(String(4))
    address_country_code: Mapped[str] = mapped_column(String(2))
    type: Mapped[str] = mapped_column(String(16), default=ClientType.COMPANY)
    status: Mapped[str] = mapped_column(String(16), default=ClientStatus.ACTIVE)
    registration_code: Mapped[str | None] = mapped_column(String(64))
    vat_number: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(64))
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by every write that changes what the client shows, with its stored JSON beside it.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # clients_to_out(client) as stored by store_client_json, for lists to read as it is.
    api_json: Mapped[str | None] = mapped_column(db.Text, deferred=True)

    groups: Mapped[list[ClientGroup]] = relationship(
        secondary=client_group_members, order_by=[ClientGroup.name, ClientGroup.id]
    )
    contacts: Mapped[list["Contact"]] = relationship(
        back_populates="client", order_by="[Contact.created_at, Contact.id]"
    )


class Contact(db.Model):
    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_firm_created", "firm_id", "created_at", "id"),
        Index("ix_contacts_firm_updated", "firm_id", "updated_at", "id"),
        Index("ix_contacts_firm_name", "firm_id", "name", "id"),
        Index("ix_contacts_client_created", "client_id", "created_at", "id"),
        # At most one primary contact per client, even under concurrent creates.
        Index(
            "uq_contacts_one_primary",
            "client_id",
            unique=True,
            sqlite_where=text("is_primary"),
            postgresql_where=text("is_primary"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("con"))
    firm_id: Mapped[str] = mapped_column(ForeignKey("firms.id"))
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    name: Mapped[str] = mapped_column(String(200))
    surname: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    mobile_phone: Mapped[str | None] = mapped_column(String(64))
    work_phone: Mapped[str | None] = mapped_column(String(64))
    job_title: Mapped[str | None] = mapped_column(String(200))
    birthday: Mapped[date | None]
    is_primary: Mapped[bool] = mapped_column(default=False)
    ext_contact_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    client: Mapped[Client] = relationship(back_populates="contacts")


class IdempotencyRecord(db.Model):
    """The first response to a create with an Idempotency-Key, replayed for 24 hours."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("firm_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[str] = mapped_column(ForeignKey("firms.id"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(db.Text)
    location: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
