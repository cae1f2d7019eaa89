from portal.audit.views import bp

__all__ = ["bp"]
