from portal.docs.views import bp

__all__ = ["bp"]
