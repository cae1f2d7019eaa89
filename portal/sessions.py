"""Portal sessions in signed cookies; the JSON API gets none at all."""

from flask.sessions import SecureCookieSessionInterface

from portal.errors import API_PREFIX


class PortalSessionInterface(SecureCookieSessionInterface):
    """API requests never read or write the portal's session cookie: a portal login can't
    authenticate an API call, and the API's hot path skips the cookie's signature check."""

    def open_session(self, app, request):
        if request.path.startswith(API_PREFIX):
            return None  # Flask then uses a read-only null session
        return super().open_session(app, request)
