"""Examples for the reference: every one is read by the pydantic model it illustrates (a request
as the API reads a body, a response as the API writes it), so an example that no longer fits
its model fails the build of the document, and with it every test."""

import json

from pydantic import BaseModel

from portal.error_codes import CATALOGUE, code_for_status, relative_doc_url
from portal.errors import API_MESSAGES, MESSAGES

CLIENT_ID = "cli_3xq7rz2m5kd1w8hn4vbt"
CONTACT_ID = "con_8fd2kq9w1zr6t3xm5pnc"
STAMP = "2026-11-30T09:15:00Z"

RAW = {
    "TokenRequest": {"api_key": "key_4mzq8r2t6w1y5c9v3b7n", "api_secret": "YOUR_API_SECRET"},
    "TokenResponse": {"access_token": "eyJrIjoia2V5XzRtenE4cjJ0Nnc...", "token_type": "Bearer",
                      "expires_in": 3600},
    "Ping": {"firm": "Demo Accounting", "key_name": "Accounting sync",
             "request_id": "req_5f0c2a7e9b1d4c3a8e6f2b10"},
    "ClientCreate": {"name": "Northwind Traders", "client_initials": "NWT",
                     "address_country_code": "EE", "email": "info@northwind.example",
                     "fields": {"employees": 12}},
    "ClientPatch": {"email": "accounts@northwind.example", "phone": None,
                    "status": "inactive"},
    "ClientOut": {
        "id": CLIENT_ID, "name": "Northwind Traders", "client_initials": "NWT",
        "address_country_code": "EE", "type": "company", "status": "active",
        "registration_code": "12345678", "vat_number": "EE123456789",
        "email": "info@northwind.example", "phone": "+372 5555 0100",
        "fields": {"employees": 12}, "group_ids": ["grp_2kd8w5q1zr7t3xm9pnc4"],
        "contacts": [CONTACT_ID], "created_at": STAMP, "updated_at": STAMP,
    },
    "ContactCreate": {"client_id": CLIENT_ID, "name": "Anna", "surname": "Tamm",
                      "email": "anna@northwind.example", "is_primary": True},
    "ContactPatch": {"job_title": "Chief Financial Officer", "mobile_phone": "+372 5555 0101"},
    "ContactOut": {
        "id": CONTACT_ID, "client_id": CLIENT_ID, "name": "Anna", "surname": "Tamm",
        "email": "anna@northwind.example", "mobile_phone": None, "work_phone": None,
        "job_title": "Accountant", "birthday": "1985-04-12", "is_primary": True,
        "ext_contact_id": None, "created_at": STAMP, "updated_at": STAMP,
    },
    "MemberOut": {"id": "usr_7hq2m9w4zr1t6xk3pnd5", "name": "Mari Maasikas",
                  "email": "mari@demo-accounting.example", "role": "admin",
                  "status": "active"},
    "ClientGroupOut": {"id": "grp_2kd8w5q1zr7t3xm9pnc4", "name": "VIP", "created_at": STAMP},
    "ClientFieldOut": {"id": "fld_9wq3k7m2zr5t1xh8pnd6", "name": "employees",
                       "title": "Employees", "type": "number", "required": False,
                       "created_at": STAMP},
}
LIST_META = {"limit": 25, "has_more": True, "next_cursor": "eyJ2IjoiMjAyNi0xMS0zMFQwOToxNSJ9"}


def example_of(model: type[BaseModel]) -> dict | None:
    """The model's example, as the API reads or writes it (None when there is none)."""
    raw = RAW.get(model.__name__)
    if raw is None:
        return None
    if model.model_config.get("extra") == "forbid":  # an input: read as parse_body does
        model.model_validate_json(json.dumps(raw), strict=True)
        return raw
    return model.model_validate(raw).model_dump(mode="json")


def error_example(status: str) -> dict:
    """An error body as json_error writes it, for this status."""
    code = code_for_status(int(status), default="VALIDATION_ERROR")
    assert code in CATALOGUE
    error = {"code": code, "message": API_MESSAGES.get(int(status), MESSAGES.get(int(status),
                                                                             "See details.")),
             "request_id": "req_5f0c2a7e9b1d4c3a8e6f2b10",
             "doc_url": relative_doc_url(code)}
    if code == "VALIDATION_ERROR":
        error["details"] = [{"field": "address_country_code",
                             "message": "Must be an ISO 3166-1 alpha-2 code, such as EE."}]
    return {"error": error}
