"""ETags of single objects: what If-Match on an update is checked against."""

import hashlib
import json


def etag_of(data: dict) -> str:
    """The version of an object as the API shows it: any visible change gives a new one."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def with_etag(response):
    """Give a single object's successful answer (a replay too) its ETag."""
    if 200 <= response.status_code < 300:
        response.set_etag(etag_of(response.get_json()["data"]))
    return response
