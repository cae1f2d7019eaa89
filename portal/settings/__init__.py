from portal.settings.views import bp

__all__ = ["bp"]
