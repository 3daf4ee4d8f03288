"""A fake "Sign in with Slack" (OpenID Connect) provider on 127.0.0.1:0, answering as Slack documents it.

Sources: Slack's "Sign in with Slack" guide (api.slack.com/authentication/sign-in-with-slack), the method
references of ``openid.connect.token`` and ``openid.connect.userInfo`` (api.slack.com/methods/..., now
docs.slack.dev/reference/methods/...), the token errors of ``oauth.v2.access``'s reference (the same
exchange), RFC 6749 for the code's lifetime and the authorize errors, and OpenID Connect Core 1.0 (openid.net/specs/
openid-connect-core-1_0.html) and Discovery 1.0 for what Slack leaves to the standard. The paths are
Slack's own (issuer ``https://slack.com`` becomes this server's base URL):

* ``GET /.well-known/openid-configuration``: the discovery document (OIDC Discovery 1.0 §3).
* ``GET /openid/connect/authorize`` (``response_type=code``, ``scope`` with ``openid``, ``client_id``,
  ``redirect_uri``, ``state``, ``nonce``): approves at once for the person chosen with `sign_in_as`
  and answers 302 to ``redirect_uri?code=...&state=...``. An unknown ``client_id`` or a
  ``redirect_uri`` outside ``redirect_uris`` gets a 400 page and no redirect (RFC 6749 §4.1.2.1: never
  redirect to an unverified URI); another ``response_type`` redirects with
  ``error=unsupported_response_type``, a scope without ``openid`` with ``error=invalid_scope``, and
  after `deny_next` with ``error=access_denied`` (the person pressed Cancel); ``state`` comes back.
* ``POST /api/openid.connect.token`` (form or JSON: ``client_id``, ``client_secret``, ``code``,
  ``redirect_uri``, ``grant_type``; or the client in HTTP Basic auth): HTTP 200
  ``{"ok": true, "access_token": "xoxp-...", "token_type": "Bearer", "id_token": "<JWT>"}``, else HTTP
  200 ``{"ok": false, "error": E}`` as the Web API answers, E one of ``invalid_client_id`` (unknown
  client), ``bad_client_secret``, ``invalid_grant_type`` (only ``authorization_code`` is served here:
  the fake issues no refresh tokens), ``invalid_code`` (missing, unknown, already used, older than
  `CODE_LIFETIME_SECONDS`, or issued to another client), ``bad_redirect_uri`` (not the
  ``redirect_uri`` given to authorize, when one was given there). A code works once, on success.
* ``GET|POST /api/openid.connect.userInfo`` with ``Authorization: Bearer <access_token>`` (or a
  ``token`` parameter): ``{"ok": true, "sub", "https://slack.com/user_id", "https://slack.com/team_id",
  "email", "email_verified", "date_email_verified", "name", "given_name", "family_name", "locale",
  "https://slack.com/team_name", "https://slack.com/team_domain"}``; ``{"ok": false, "error":
  "not_authed"}`` without a token, ``"invalid_auth"`` for an unknown one.
* ``GET /openid/connect/keys``: the JWKS, one RS256 key (``kty``, ``kid``, ``alg``, ``use``, ``n``,
  ``e``) made with ``cryptography`` when the fake starts.

The id_token is an RS256 JWT (header ``kid``) with the claims of Slack's documented example: ``iss``,
``sub`` (the Slack user id), ``aud`` (the client id), ``iat``, ``exp`` (``iat`` +
`ID_TOKEN_LIFETIME_SECONDS`), ``auth_time``, ``nonce`` (when authorize had one), ``at_hash`` (OIDC Core
§3.1.3.6: base64url of the left half of the access token's SHA-256), ``https://slack.com/team_id``,
``https://slack.com/user_id``, ``email``, ``email_verified``, ``date_email_verified``, ``locale``,
``name``, ``given_name``, ``family_name``. Slack's ``user_image_*``/``team_image_*`` URLs are left
out (they would point beyond 127.0.0.1). Tests of a relying party's checks bend the next tokens with
``id_token_overrides`` (a claim set to a value, or removed with None) and ``sign_with_foreign_key``.

Every request is recorded in ``requests`` (`RecordedRequest`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CODE_LIFETIME_SECONDS = 600
"""Ten minutes: the maximum RFC 6749 §4.1.2 recommends for an authorization code, and the lifetime Slack's
OAuth guide gives its temporary code (that page was not at hand to re-read when this was written)."""
ID_TOKEN_LIFETIME_SECONDS = 300
"""``exp`` - ``iat`` in Slack's documented id_token example (1626874955 - 1626874655)."""
DEFAULT_CLIENT_ID = "2141029472.691202649728"  # the example client id of Slack's method reference
DEFAULT_TEAM_ID = "T0TEST"  # the workspace the signed Slack requests of tests/support/signing.py come from


@dataclass(frozen=True)
class SlackIdentity:
    """Who the fake signs in: a Slack user (``U...``) of a workspace (``T...``)."""

    user_id: str
    name: str
    email: str
    team_id: str
    team_name: str = "Acme"
    team_domain: str = "acme"
    locale: str = "en-US"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received: the path without the query, its query and body parameters."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class _Grant:
    code: str
    client_id: str
    redirect_uri: str | None  # as sent to authorize (None when it was left out)
    nonce: str | None
    identity: SlackIdentity
    issued_at: float
    used: bool = False


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlackOpenID:
    """Sign in with Slack on 127.0.0.1 (see the module docstring); a context manager that serves on entry.

    ``issuer`` is the base URL (``http://127.0.0.1:PORT``), as ``https://slack.com`` is Slack's.
    ``redirect_uris``, when given, are the app's registered redirect URLs: authorize refuses others
    (without it any ``redirect_uri`` is accepted, and authorize needs one).
    """

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str | None = None,
        team_id: str = DEFAULT_TEAM_ID,
        redirect_uris: tuple[str, ...] = (),
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_hex(16)
        self.team_id = team_id
        self.redirect_uris = redirect_uris
        self.requests: list[RecordedRequest] = []
        self.id_token_overrides: dict[str, Any] = {}
        self.sign_with_foreign_key = False
        self.key_id = secrets.token_hex(8)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._identity: SlackIdentity | None = None
        self._deny_next = False
        self._grants: dict[str, _Grant] = {}
        self._tokens: dict[str, SlackIdentity] = {}
        self._clock_offset = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-slack-openid", daemon=True
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> FakeSlackOpenID:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def authorization_endpoint(self) -> str:
        return self.issuer + "/openid/connect/authorize"

    @property
    def token_endpoint(self) -> str:
        return self.issuer + "/api/openid.connect.token"

    @property
    def userinfo_endpoint(self) -> str:
        return self.issuer + "/api/openid.connect.userInfo"

    @property
    def jwks_uri(self) -> str:
        return self.issuer + "/openid/connect/keys"

    # -- what the test chooses -----------------------------------------------------------------

    def sign_in_as(self, user_id: str, name: str, email: str, team_id: str | None = None) -> SlackIdentity:
        """Every authorize request from now on signs in this person (of ``team_id``, default ``team_id``)."""
        identity = SlackIdentity(user_id=user_id, name=name, email=email, team_id=team_id or self.team_id)
        with self._lock:
            self._identity = identity
        return identity

    def deny_next(self) -> None:
        """The next authorize request is refused as if the person pressed Cancel (``error=access_denied``)."""
        with self._lock:
            self._deny_next = True

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (codes then expire; tokens' ``iat``/``exp`` move too)."""
        with self._lock:
            self._clock_offset += seconds

    def now(self) -> float:
        """The fake's clock: Unix time in seconds, plus what `advance` added."""
        return time.time() + self._clock_offset

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The recorded requests whose path is ``path`` (e.g. ``/api/openid.connect.token``), oldest first."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def jwks(self) -> dict[str, Any]:
        """The key set served at ``/openid/connect/keys``."""
        public = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.key_id, "alg": "RS256", "use": "sig"}]}

    def discovery(self) -> dict[str, Any]:
        """The document served at ``/.well-known/openid-configuration`` (OIDC Discovery 1.0 §3)."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "userinfo_endpoint": self.userinfo_endpoint,
            "jwks_uri": self.jwks_uri,
            "scopes_supported": ["openid", "profile", "email"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": [
                "sub",
                "auth_time",
                "iss",
                "aud",
                "exp",
                "iat",
                "nonce",
                "email",
                "email_verified",
                "name",
                "given_name",
                "family_name",
                "locale",
                "https://slack.com/team_id",
                "https://slack.com/user_id",
            ],
        }

    # -- the endpoints -------------------------------------------------------------------------

    def _answer(self, request: RecordedRequest) -> _Answer:
        with self._lock:
            self.requests.append(request)
        routes = {
            ("GET", "/.well-known/openid-configuration"): lambda r: _json(self.discovery()),
            ("GET", "/openid/connect/keys"): lambda r: _json(self.jwks()),
            ("GET", "/openid/connect/authorize"): self._authorize,
            ("POST", "/api/openid.connect.token"): self._token,
            ("GET", "/api/openid.connect.userInfo"): self._userinfo,
            ("POST", "/api/openid.connect.userInfo"): self._userinfo,
        }
        route = routes.get((request.method, request.path))
        if route is None:
            return _page(404, f"no route for {request.method} {request.path} at the fake Slack OpenID provider")
        return route(request)

    def _authorize(self, request: RecordedRequest) -> _Answer:
        params = request.query
        if params.get("client_id") != self.client_id:
            return _page(400, "invalid_client_id: this app does not exist (unknown client_id)")
        redirect_uri = params.get("redirect_uri")
        target = redirect_uri or (self.redirect_uris[0] if self.redirect_uris else None)
        if target is None:
            return _page(400, "bad_redirect_uri: no redirect_uri given and none registered")
        if self.redirect_uris and target not in self.redirect_uris:
            return _page(400, f"bad_redirect_uri: {target} is not one of the app's redirect URLs")
        state = params.get("state")
        if params.get("response_type") != "code":
            return _redirect(target, {"error": "unsupported_response_type"}, state)
        if "openid" not in params.get("scope", "").split():
            return _redirect(target, {"error": "invalid_scope"}, state)
        with self._lock:
            denied, self._deny_next = self._deny_next, False
            identity = self._identity
            if denied:
                return _redirect(target, {"error": "access_denied"}, state)
            if identity is None:
                return _page(400, "no one is signed in at the fake: call sign_in_as(...) first")
            code = f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**13)}.{secrets.token_hex(32)}"
            self._grants[code] = _Grant(
                code=code,
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                nonce=params.get("nonce"),
                identity=identity,
                issued_at=self.now(),
            )
        return _redirect(target, {"code": code}, state)

    def _token(self, request: RecordedRequest) -> _Answer:
        form = dict(request.form)
        basic = _basic_credentials(request.headers.get("authorization", ""))
        if basic is not None:
            form.setdefault("client_id", basic[0])
            form.setdefault("client_secret", basic[1])
        if form.get("client_id") != self.client_id:
            return _slack_error("invalid_client_id")
        if not secrets.compare_digest(form.get("client_secret", "").encode(), self.client_secret.encode()):
            return _slack_error("bad_client_secret")
        if form.get("grant_type", "authorization_code") != "authorization_code":
            return _slack_error("invalid_grant_type")
        with self._lock:
            grant = self._grants.get(form.get("code", ""))
            if (
                grant is None
                or grant.used
                or grant.client_id != form["client_id"]
                or self.now() - grant.issued_at > CODE_LIFETIME_SECONDS
            ):
                return _slack_error("invalid_code")
            if grant.redirect_uri is not None and form.get("redirect_uri") != grant.redirect_uri:
                return _slack_error("bad_redirect_uri")
            grant.used = True
            access_token = f"xoxp-{secrets.token_hex(24)}"
            self._tokens[access_token] = grant.identity
            id_token = self._id_token(grant, access_token)
        return _json({"ok": True, "access_token": access_token, "token_type": "Bearer", "id_token": id_token})

    def _id_token(self, grant: _Grant, access_token: str) -> str:
        issued = int(self.now())
        person = grant.identity
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": person.user_id,
            "aud": grant.client_id,
            "exp": issued + ID_TOKEN_LIFETIME_SECONDS,
            "iat": issued,
            "auth_time": int(grant.issued_at),
            "at_hash": _at_hash(access_token),
            "https://slack.com/team_id": person.team_id,
            "https://slack.com/user_id": person.user_id,
            "email": person.email,
            "email_verified": True,
            "date_email_verified": issued - 86_400,
            "locale": person.locale,
            "name": person.name,
            "given_name": "",
            "family_name": "",
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        for name, value in self.id_token_overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = self._foreign_key if self.sign_with_foreign_key else self._key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.key_id})

    def _userinfo(self, request: RecordedRequest) -> _Answer:
        authorization = request.headers.get("authorization", "")
        token = authorization[7:] if authorization.lower().startswith("bearer ") else ""
        token = token or request.form.get("token", "") or request.query.get("token", "")
        if not token:
            return _slack_error("not_authed")
        with self._lock:
            person = self._tokens.get(token)
        if person is None:
            return _slack_error("invalid_auth")
        return _json(
            {
                "ok": True,
                "sub": person.user_id,
                "https://slack.com/user_id": person.user_id,
                "https://slack.com/team_id": person.team_id,
                "email": person.email,
                "email_verified": True,
                "date_email_verified": int(self.now()) - 86_400,
                "name": person.name,
                "given_name": "",
                "family_name": "",
                "locale": person.locale,
                "https://slack.com/team_name": person.team_name,
                "https://slack.com/team_domain": person.team_domain,
            }
        )


# -- HTTP plumbing -----------------------------------------------------------------------------


def _handler_for(fake: FakeSlackOpenID) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            url = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            answer = fake._answer(
                RecordedRequest(
                    method=self.command,
                    path=url.path,
                    query=dict(parse_qsl(url.query, keep_blank_values=True)),
                    form=_body_parameters(self.headers.get("Content-Type", ""), raw),
                    headers={k.lower(): v for k, v in self.headers.items()},
                )
            )
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def _body_parameters(content_type: str, raw: bytes) -> dict[str, str]:
    """A form-encoded or JSON body as text parameters (the two content types the token method takes)."""
    if not raw:
        return {}
    if content_type.split(";")[0].strip().lower() == "application/json":
        try:
            body = json.loads(raw)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def _basic_credentials(authorization: str) -> tuple[str, str] | None:
    if not authorization.lower().startswith("basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
    except ValueError:
        return None
    return client_id, secret


def _at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def _json(body: dict[str, Any]) -> _Answer:
    return _Answer(200, json.dumps(body).encode(), {"Content-Type": "application/json; charset=utf-8"})


def _slack_error(error: str) -> _Answer:
    return _json({"ok": False, "error": error})


def _page(status: int, text: str) -> _Answer:
    return _Answer(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


def _redirect(target: str, params: dict[str, str], state: str | None) -> _Answer:
    if state is not None:
        params = {**params, "state": state}
    separator = "&" if urlsplit(target).query else "?"
    return _Answer(302, b"", {"Location": target + separator + urlencode(params)})
