"""Small helpers shared by test modules."""

import re

from sqlalchemy import select

from portal.extensions import db
from portal.public_api.models import ApiKey

HX = {"HX-Request": "true"}


def generate_and_save(client, name: str = "Software Name") -> tuple[ApiKey, str]:
    """Walk Generate + Save through the portal as the logged-in admin; returns key and secret."""
    response = client.post("/settings/apps/public-api/keys/generate", data={"name": name},
                           headers=HX)
    assert response.status_code == 200, response.text
    draft_id = re.search(r'name="draft_id" value="([^"]+)"', response.text).group(1)
    response = client.post("/settings/apps/public-api/keys/save", data={"draft_id": draft_id},
                           headers=HX)
    assert response.status_code == 200, response.text
    secret = re.search(r'id="saved-api-secret">([A-Za-z0-9]+)<', response.text).group(1)
    key = db.session.execute(select(ApiKey).filter_by(id=draft_id)).scalar_one()
    return key, secret
