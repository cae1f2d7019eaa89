"""For bench/run.py: an admin and a saved key per seeded firm, the Public API activated, and a
cursor 90% of the way into each firm's clients. Prints one JSON line."""

import json
import sys
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal import create_app  # noqa: E402
from portal.accounts.models import Firm  # noqa: E402
from portal.accounts.service import create_user  # noqa: E402
from portal.api.pagination import encode_cursor  # noqa: E402
from portal.crm.models import Client  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.public_api import service  # noqa: E402


def prepare(label: str, name: str) -> dict:
    firm = db.session.execute(select(Firm).filter_by(name=name)).scalar_one()
    admin = create_user(f"bench-{label}@bench.example", "bench-password", firm_name=name,
                        role="admin")
    pair = service.generate_key_pair(firm, "Benchmark", admin)
    service.save_key(pair.key, admin)
    service.set_app_active(firm, True, admin)
    total = db.session.execute(
        select(func.count(Client.id)).where(Client.firm_id == firm.id)
    ).scalar_one()
    row = db.session.execute(
        select(Client.created_at, Client.id).where(Client.firm_id == firm.id)
        .order_by(Client.created_at, Client.id).offset(int(total * 0.9)).limit(1)
    ).one()
    cursor = encode_cursor("created_at", row.created_at, row.id)
    return {"key": pair.key.api_key, "secret": pair.secret, "deep_cursor": cursor}


if __name__ == "__main__":
    with create_app().app_context():
        firms = {"small": prepare("small", "Small Firm"), "large": prepare("large", "Large Firm")}
        db.session.commit()
    print(json.dumps(firms))
