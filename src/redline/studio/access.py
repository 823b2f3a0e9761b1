"""Access to the studio: an optional bearer token on every request, a session cookie, CSRF tokens on writes,
and headers that keep pages from loading or running anything that is not the studio's own."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from urllib.parse import urlencode

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

SESSION_COOKIE, TOKEN_COOKIE = "rl_session", "rl_token"
TOKEN_ENV = "REDLINE_STUDIO_TOKEN"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def needs_token(host: str, forced: bool) -> bool:
    """A token is required when asked for, or when the studio listens beyond this machine."""
    return forced or not is_loopback(host)


class Access:
    """The secrets of one studio process: the access token (None = open on loopback) and the CSRF key."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self.key = secrets.token_bytes(32)

    def csrf(self, session: str) -> str:
        return hmac.new(self.key, session.encode(), hashlib.sha256).hexdigest()[:40]

    def csrf_ok(self, session: str, value: str | None) -> bool:
        return bool(session and value) and hmac.compare_digest(self.csrf(session), value or "")

    def token_ok(self, value: str | None) -> bool:
        return self.token is None or (bool(value) and hmac.compare_digest(self.token, value or ""))


def _cookie(response: Response, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", path="/")


class AccessMiddleware(BaseHTTPMiddleware):
    """Token check (cookie, `Authorization: Bearer`, or `?token=` once, which sets the cookie), session cookie,
    security headers."""

    def __init__(self, app, access: Access) -> None:  # noqa: ANN001 - an ASGI app
        super().__init__(app)
        self.access = access

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        access = self.access
        if access.token is not None:
            bearer = request.headers.get("authorization", "")
            given = request.cookies.get(TOKEN_COOKIE) or (bearer[7:] if bearer.lower().startswith("bearer ") else "")
            query = request.query_params.get("token")
            if query is not None and access.token_ok(query):
                rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
                response: Response = RedirectResponse(request.url.path + (f"?{rest}" if rest else ""), 303)
                _cookie(response, TOKEN_COOKIE, query)
                return self._headers(response)
            if not access.token_ok(given):
                return self._headers(PlainTextResponse("studio token required", status_code=401))
        session = request.cookies.get(SESSION_COOKIE, "")
        fresh = len(session) < 20
        if fresh:
            session = secrets.token_urlsafe(24)
        request.state.session = session
        request.state.csrf = access.csrf(session)
        response = await call_next(request)
        if fresh:
            _cookie(response, SESSION_COOKIE, session)
        return self._headers(response)

    @staticmethod
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response
