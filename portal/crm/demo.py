"""Demo CRM data for the demo firm, so the portal and the API have something to show."""

from datetime import date

from portal.accounts.service import get_or_create_firm
from portal.crm.models import Client, ClientField, ClientGroup, Contact
from portal.crm.serializers import store_client_json
from portal.extensions import db

DEMO_CLIENTS = [
    ("Northwind Traders", "NWT", "EE", "company", "info@northwind.example"),
    ("Baltic Bakery OÜ", "BB", "EE", "company", "hello@balticbakery.example"),
    ("Maria Tamm", "MT", "EE", "private_person", "maria.tamm@example.com"),
    ("Fjord Logistics AS", "FL", "NO", "company", "post@fjord.example"),
]


def seed_demo_data(firm_name: str) -> None:
    """Groups, custom fields, and a few clients with a primary contact each."""
    firm = get_or_create_firm(firm_name)
    monthly = ClientGroup(firm_id=firm.id, name="Monthly bookkeeping")
    annual = ClientGroup(firm_id=firm.id, name="Annual report")
    db.session.add_all([monthly, annual])
    db.session.add_all(
        [
            ClientField(firm_id=firm.id, name="fiscal_year_end", title="Fiscal year end",
                        type="date"),
            ClientField(firm_id=firm.id, name="employees", title="Employees", type="number"),
        ]
    )
    clients = []
    for index, (name, initials, country, kind, email) in enumerate(DEMO_CLIENTS):
        client = Client(
            firm_id=firm.id, name=name, client_initials=initials, address_country_code=country,
            type=kind, email=email, fields={"employees": 3 + index * 4},
            groups=[monthly] if index % 2 == 0 else [annual],
        )
        db.session.add(client)
        db.session.flush()
        clients.append(client)
        first = name.split()[0]
        db.session.add(
            Contact(
                firm_id=firm.id, client_id=client.id, name=first, surname="Contact",
                email=f"{first.lower()}@contact.example", is_primary=True,
                job_title="Director", birthday=date(1980 + index, 5, 17),
            )
        )
    store_client_json(clients)
