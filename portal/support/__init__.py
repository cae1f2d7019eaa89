from portal.support.views import bp

__all__ = ["bp"]
