"""Clients, contacts, client groups and custom client fields."""
