"""Settings and Apps: the firm's apps (Public API for admins) and its team."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from portal.auth.access import firm_user_required

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.get("")
@firm_user_required
def index():
    """List the firm's apps with their status; the Public API card only for admins."""
    firm = current_user.firm
    apps = []
    if current_user.is_admin:
        apps.append(
            {
                "name": "Public API",
                "description": "Query data, build integrations, and create clients and "
                "contacts with API keys.",
                "active": firm.api_app_active,
                "endpoint": "public_api.index",
            }
        )
    return render_template("settings/index.html", firm=firm, apps=apps, members=firm.users)


@bp.get("/apps")
@firm_user_required
def apps():
    """The address above each app's own (/settings/apps/public-api) is the page listing them."""
    return redirect(url_for("settings.index"))
