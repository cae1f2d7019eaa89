"""Portal sessions are revocable: a cookie names a server-side session, which logout ends,
so every copy of the cookie stops working; a new password ends every other session."""

from datetime import timedelta

from sqlalchemy import func, select

from portal.accounts.models import UserSession
from portal.extensions import db
from tests.conftest import PASSWORD, IsolatedClient

PAGE = "/settings"
NEW_PASSWORD = "a brand new passphrase"


def logged_in(app, email="admin@alpha.example"):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def copy_of(app, client):
    """Another client holding the same session cookie (a stolen or copied cookie)."""
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    return copy


def sessions_of(user) -> int:
    query = select(func.count()).where(UserSession.user_id == user.id)
    return db.session.execute(query).scalar_one()


def test_a_cookie_copied_before_logout_stops_working_after_it(app, world):
    app.test_client_class = IsolatedClient
    browser = logged_in(app)
    thief = copy_of(app, browser)
    assert thief.get(PAGE).status_code == 200
    assert browser.post("/logout").status_code == 302
    response = thief.get(PAGE)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert sessions_of(world.admin) == 0


def test_logout_ends_only_its_own_session(app, world):
    app.test_client_class = IsolatedClient
    laptop, phone = logged_in(app), logged_in(app)
    assert sessions_of(world.admin) == 2
    laptop.post("/logout")
    assert phone.get(PAGE).status_code == 200
    assert laptop.get(PAGE).status_code == 302


def test_a_new_password_ends_every_other_session_and_keeps_this_one(app, world):
    app.test_client_class = IsolatedClient
    here, elsewhere = logged_in(app), logged_in(app)
    copied = copy_of(app, elsewhere)
    response = here.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert here.get(PAGE).status_code == 200
    assert elsewhere.get(PAGE).status_code == 302 and copied.get(PAGE).status_code == 302
    assert sessions_of(world.admin) == 1


def test_a_session_older_than_a_cookie_may_live_is_refused_and_dropped(app, world):
    app.test_client_class = IsolatedClient
    old = logged_in(app)
    lifetime = app.permanent_session_lifetime
    db.session.execute(UserSession.__table__.update().values(
        created_at=UserSession.created_at - lifetime - timedelta(minutes=1)))
    db.session.commit()
    assert old.get(PAGE).status_code == 302
    logged_in(app)  # logging in again drops the expired row
    assert sessions_of(world.admin) == 1
