"""Clients, contacts, client groups and custom client fields."""

from portal.crm import data_views  # noqa: F401  (registers the settings routes on bp)
from portal.crm.views import bp

__all__ = ["bp"]
