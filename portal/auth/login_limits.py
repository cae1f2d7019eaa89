"""How fast the login form may be guessed at, without letting guessers lock the owner out.

Failed logins count per (account, client IP) and per client IP; both refuse only the client
that failed. Failures on one account from every client together never refuse anyone: past
LOGIN_ACCOUNT_SLOWDOWN_AFTER they shrink each client's allowance for that account to
LOGIN_LIMIT_PER_ACCOUNT_UNDER_ATTACK, so guessing from many addresses is slowed while a client
that has not failed is still let in with the right password.
"""

from flask import current_app, request
from flask_limiter.util import get_remote_address
from limits import parse

from portal.extensions import limiter

ACCOUNT_SCOPE = "login-account"


def submitted_email() -> str:
    """The e-mail the login form checks (portal forms read form fields only: security.py)."""
    return (request.form.get("email") or "").strip().lower()[:254]


def _account_failures():
    return parse(current_app.config["LOGIN_ACCOUNT_SLOWDOWN_AFTER"])


def account_under_attack(email: str) -> bool:
    """Failures on this account, from every client together, are past the slowdown mark."""
    return not limiter.limiter.test(_account_failures(), ACCOUNT_SCOPE, email)


def record_failure(email: str) -> None:
    limiter.limiter.hit(_account_failures(), ACCOUNT_SCOPE, email)


def per_client_limit() -> str:
    config = current_app.config
    if account_under_attack(submitted_email()):
        return config["LOGIN_LIMIT_PER_ACCOUNT_UNDER_ATTACK"]
    return config["LOGIN_LIMIT_PER_ACCOUNT"]


def account_and_client() -> str:
    return f"login:{submitted_email()}:{get_remote_address()}"


def failed_login(response) -> bool:
    # Only failed attempts use up an allowance.
    return response.status_code != 302


def limit_login(view):
    """The login view's limits: per client IP, and per account from that client."""
    per_ip = limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"],
                           deduct_when=failed_login)
    per_client = limiter.limit(per_client_limit, methods=["POST"], key_func=account_and_client,
                               deduct_when=failed_login)
    return per_ip(per_client(view))
