from portal.public_api import control_views, key_views  # noqa: F401  (register routes on bp)
from portal.public_api.views import bp

__all__ = ["bp"]
