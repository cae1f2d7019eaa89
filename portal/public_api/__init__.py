from portal.public_api import key_views  # noqa: F401  (registers the key routes on bp)
from portal.public_api.views import bp

__all__ = ["bp"]
