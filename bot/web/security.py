"""Who is reading the web view, and the answers' security headers.

A reader is either a person signed in with Slack (a signed session cookie) or an API client holding the
read-only bearer token (``INCIDENT_WEB_API_TOKEN``, ``Authorization: Bearer <token>``, compared in constant
time). The session cookie is signed and timed with itsdangerous (HMAC-SHA1 over the payload with a key
derived from ``INCIDENT_WEB_SESSION_SECRET``), ``Secure``, ``HttpOnly``, ``SameSite=Lax``, and expires after
``SESSION_HOURS``; it carries the Slack user id, the name, the workspace and the CSRF token that every form
changing state (sign-out) must send back.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SESSION_COOKIE = "incidentbot_session"
SIGN_IN_COOKIE = "incidentbot_sign_in"
SESSION_HOURS = 12
"""How long a sign-in lasts, in hours."""
SIGN_IN_MINUTES = 10
SIGN_INS_PENDING = 5
"""How many sign-ins one browser may have under way at once (tabs), each for SIGN_IN_MINUTES."""
"""How long a sign-in may take between leaving for Slack and coming back, in minutes."""

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
"""On every answer of the application while the web view is on (OWASP Secure Headers): no inline script
may run, no other site may frame a page, and no URL leaves in a Referer to another site."""


@dataclass(frozen=True)
class Viewer:
    """Who reads: ``user_id`` the Slack user id of a signed-in person (None for the bearer token, which
    sees what somebody outside every private incident sees), ``name`` for the header, ``csrf`` the session's
    CSRF token ("" for the bearer token, which cannot post forms)."""

    user_id: str | None
    name: str
    csrf: str = ""

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None


TOKEN_VIEWER = Viewer(None, "API token")


class Sessions:
    """Signed cookies: the session, and the short-lived sign-in state (``state``, ``nonce``, where to go)."""

    def __init__(self, secret: str, secure: bool = True) -> None:
        self._session = URLSafeTimedSerializer(secret, salt="incidentbot-web-session")
        self._sign_in = URLSafeTimedSerializer(secret, salt="incidentbot-web-sign-in")
        self.secure = secure

    def new_session(self, user_id: str, name: str, team_id: str) -> str:
        """A session cookie value for a person just signed in, with a fresh CSRF token."""
        return self._session.dumps({"u": user_id, "n": name, "t": team_id, "c": secrets.token_urlsafe(24)})

    def viewer(self, cookie: str | None, team_id: str) -> Viewer | None:
        """The signed-in person of session cookie ``cookie``, or None when it is missing, tampered with,
        older than SESSION_HOURS, or from another workspace than ``team_id``."""
        if not cookie:
            return None
        try:
            data: Any = self._session.loads(cookie, max_age=SESSION_HOURS * 3600)
        except (BadSignature, SignatureExpired, UnicodeError, ValueError):  # a cookie that is not even text
            return None
        if not isinstance(data, dict) or data.get("t") != team_id or not isinstance(data.get("u"), str):
            return None
        return Viewer(str(data["u"]), str(data.get("n") or data["u"]), str(data.get("c") or ""))

    def new_sign_in(self, state: str, nonce: str, next_path: str, cookie: str | None = None) -> str:
        """The sign-in cookie holding this sign-in (``state``, ``nonce``, the page to return to) after the ones
        still pending in ``cookie``, at most SIGN_INS_PENDING: several tabs signing in at once (a session ended
        with pages open) each come back to their own page."""
        pending = [p for p in self._pending(cookie) if p["s"] != state][-(SIGN_INS_PENDING - 1) :]
        return self._sign_in.dumps([*pending, {"s": state, "n": nonce, "p": next_path, "t": int(time.time())}])

    def sign_in(self, cookie: str | None, state: str) -> dict[str, str] | None:
        """The pending sign-in of ``cookie`` whose state is ``state`` (``s`` state, ``n`` nonce, ``p`` path), None
        if there is none, or the cookie is missing, tampered with, or the sign-in older than SIGN_IN_MINUTES."""
        found = [p for p in self._pending(cookie) if same(state, p["s"])]
        return {k: found[0][k] for k in ("s", "n", "p")} if found else None

    def without_sign_in(self, cookie: str | None, state: str) -> str | None:
        """``cookie`` without the sign-in ``state`` (spent), or None when no other is pending."""
        rest = [p for p in self._pending(cookie) if p["s"] != state]
        return self._sign_in.dumps(rest) if rest else None

    def _pending(self, cookie: str | None) -> list[dict[str, Any]]:
        if not cookie:
            return []
        try:
            data: Any = self._sign_in.loads(cookie, max_age=SIGN_IN_MINUTES * 60)
        except (BadSignature, SignatureExpired, UnicodeError, ValueError):
            return []
        if not isinstance(data, list):
            return []
        oldest = time.time() - SIGN_IN_MINUTES * 60
        return [
            p
            for p in data
            if isinstance(p, dict)
            and all(isinstance(p.get(k), str) for k in ("s", "n", "p"))
            and isinstance(p.get("t"), int)
            and p["t"] >= oldest
        ]

    def set_cookie(self, response: web.StreamResponse, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/", secure=self.secure, httponly=True, samesite="Lax")

    def clear_cookie(self, response: web.StreamResponse, name: str) -> None:
        response.del_cookie(name, path="/", secure=self.secure, httponly=True, samesite="Lax")


def bearer_matches(header: str | None, token: str) -> bool | None:
    """None when ``header`` (the Authorization header) holds no bearer token; else whether it is ``token``
    (compared in constant time; an empty configured token matches nothing)."""
    if not header:
        return None
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    # surrogateescape: a header that is not UTF-8 (aiohttp keeps its bytes as lone surrogates) is a wrong token,
    # not a crash.
    given_bytes = given.strip().encode("utf-8", "surrogateescape")
    return bool(token) and hmac.compare_digest(given_bytes, token.encode("utf-8", "surrogateescape"))


def same(given: str, expected: str) -> bool:
    """Constant-time equality of two texts (CSRF tokens, OAuth state); empty never matches."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def safe_next(path: str | None) -> str:
    """Where to go after sign-in: a path on this site only (``/incidents/INC-7``), never another host
    (``//evil.example``, ``https://...``, a backslash trick); ``/`` otherwise."""
    if (
        not path
        or not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or any(ord(c) < 0x20 for c in path)
    ):
        return "/"
    return path
