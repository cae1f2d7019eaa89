"""The CRM's pydantic schemas: the one source of input validation and of the API reference."""

from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from portal.crm.values import (
    ClientStatusName,
    ClientTypeName,
    CountryCode,
    Email,
    FieldMachineName,
    FieldName,
    FieldTypeName,
    FieldValue,
    Initials,
    IsoDate,
    ObjectId,
    OptionalEmail,
    OptionalText64,
    OptionalText200,
    Text100,
    Text200,
    UtcDateTime,
    not_in_future,
)

# Input: unknown fields and wrong JSON types are refused rather than guessed at.
INPUT = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class ClientCreate(BaseModel):
    """A new client, as POST /clients takes it."""

    model_config = INPUT

    name: Text200
    client_initials: Initials
    address_country_code: CountryCode
    type: ClientTypeName = "company"
    status: ClientStatusName = "active"
    registration_code: OptionalText64 = None
    vat_number: OptionalText64 = None
    email: OptionalEmail = None
    phone: OptionalText64 = None
    fields: dict[FieldName, FieldValue] = Field(
        default_factory=dict, max_length=100,
        description="Values of the firm's custom client fields, keyed by field name.",
    )
    group_ids: list[ObjectId] = Field(default_factory=list, max_length=100)


class ContactCreate(BaseModel):
    """A new contact person of one of the firm's clients."""

    model_config = INPUT

    client_id: ObjectId
    name: Text200
    surname: OptionalText200 = None
    email: Email
    mobile_phone: OptionalText64 = None
    work_phone: OptionalText64 = None
    job_title: OptionalText200 = None
    birthday: Annotated[IsoDate | None, AfterValidator(not_in_future)] = None
    is_primary: bool = False
    ext_contact_id: OptionalText200 = None


def _merge_patch_of(model: type[BaseModel], doc: str) -> type[BaseModel]:
    """A JSON merge patch (RFC 7396) of `model`: each field optional and validated as `model`
    validates it; a field left out is unchanged, null clears a field that may be null."""
    fields = {
        name: (Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation,
               Field(default=None, description=info.description,
                     json_schema_extra=lambda schema: schema.pop("default", None)))
        for name, info in model.model_fields.items()
    }
    return create_model(model.__name__.replace("Create", "Patch"), __config__=INPUT,
                        __doc__=doc, **fields)


ClientPatch = _merge_patch_of(ClientCreate, "Changes to a client, as PATCH /clients/{id} takes "
                              "them: fields merge key by key (null removes one), group_ids "
                              "replaces the client's groups.")
ContactPatch = _merge_patch_of(ContactCreate, "Changes to a contact, as PATCH /contacts/{id} "
                               "takes them.")


class ClientGroupCreate(BaseModel):
    """A client group, as the portal's form adds it."""

    model_config = INPUT

    name: Text100


class ClientFieldCreate(BaseModel):
    """A custom client field definition."""

    model_config = INPUT

    name: FieldMachineName
    title: Text100
    type: FieldTypeName = "text"
    required: bool = False


class ClientOut(BaseModel):
    """A client as the API shows it."""

    id: str
    name: str
    client_initials: str
    # Open for output: a code added later must not break a generated client.
    address_country_code: str = Field(
        pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code; the codes taken "
        "are listed in CountryCode (ClientCreate), and more may be added.")
    type: ClientTypeName
    status: ClientStatusName
    registration_code: str | None
    vat_number: str | None
    email: str | None
    phone: str | None
    fields: dict[str, FieldValue]
    group_ids: list[str]
    contacts: list[str] = Field(description="Ids of the client's contacts, oldest first.")
    created_at: UtcDateTime
    updated_at: UtcDateTime


class ContactOut(BaseModel):
    """A contact as the API shows it."""

    id: str
    client_id: str
    name: str
    surname: str | None
    email: str
    mobile_phone: str | None
    work_phone: str | None
    job_title: str | None
    birthday: date | None
    is_primary: bool
    ext_contact_id: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class MemberOut(BaseModel):
    """A user of the firm; never any password data."""

    id: str
    name: str
    email: str
    role: Literal["owner", "admin", "member"]
    status: Literal["active", "inactive"]


class ClientGroupOut(BaseModel):
    id: str
    name: str
    created_at: UtcDateTime


class ClientFieldOut(BaseModel):
    id: str
    name: str
    title: str
    type: FieldTypeName
    required: bool
    created_at: UtcDateTime


_FRIENDLY = {
    "missing": "This field is required.",
    "extra_forbidden": "Unknown field.",
    "string_too_short": "This field cannot be empty.",
}


def validation_details(error: ValidationError) -> list[dict]:
    """Pydantic's errors as [{"field": "fields.employees", "message": ...}]."""
    details = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "body"
        details.append({"field": field, "message": _FRIENDLY.get(item["type"], item["msg"])})
    return details
