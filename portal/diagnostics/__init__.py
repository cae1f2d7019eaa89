"""API diagnostics: the request log, usage counts and charts, and why a request failed."""

from flask import Flask

from portal.diagnostics import recorder
from portal.diagnostics.cli import prune_logs_command
from portal.diagnostics.views import bp

__all__ = ["bp", "register"]


def register(app: Flask) -> None:
    """The admin's pages, the recorder on every /api/ request, and `flask prune-logs`."""
    app.register_blueprint(bp)
    recorder.register(app)
    app.cli.add_command(prune_logs_command)
