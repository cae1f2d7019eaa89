"""Firms (tenants) and their users."""
