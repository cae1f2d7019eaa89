from portal.health.views import bp

__all__ = ["bp"]
