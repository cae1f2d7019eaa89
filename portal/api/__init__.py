from portal.api import reference_data, resources  # noqa: F401  (register their routes on bp)
from portal.api.views import bp

__all__ = ["bp"]
