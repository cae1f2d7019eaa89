from portal.auth import account  # noqa: F401  (registers /account/password on bp)
from portal.auth.views import bp

__all__ = ["bp"]
