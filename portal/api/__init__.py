from portal.api import paths, reference_data, resources, updates  # noqa: F401  (register on bp)
from portal.api.views import bp

__all__ = ["bp"]
