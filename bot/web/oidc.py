"""Sign in with Slack: an OpenID Connect client (authorization code flow) for the web view.

Slack's flow (Slack, "Sign in with Slack", https://api.slack.com/authentication/sign-in-with-slack, and
OpenID Connect Core 1.0): the provider's ``{issuer}/.well-known/openid-configuration`` names its
``authorization_endpoint``, ``token_endpoint`` and ``jwks_uri``. The browser goes to the authorization
endpoint with ``response_type=code``, ``scope=openid profile email``, ``client_id``, ``redirect_uri``,
``state`` and ``nonce`` (and ``team``, so Slack offers the right workspace); it comes back to
``redirect_uri`` with ``code`` and ``state``. The code is POSTed (form: ``grant_type=authorization_code``,
``client_id``, ``client_secret``, ``code``, ``redirect_uri``) to the token endpoint, which answers
``{"ok": true, "id_token": ...}`` or
``{"ok": false, "error": "invalid_code"}``. The ID token is a JWT signed RS256 with a key of ``jwks_uri``;
it must have ``iss`` == the issuer, ``aud`` == the client id, an ``exp`` in the future, the ``nonce`` sent,
and the claim ``https://slack.com/team_id`` == SLACK_TEAM_ID. The person is ``https://slack.com/user_id``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import jwt
import structlog

from bot.errors import BotError
from bot.web.security import same

log = structlog.get_logger("incidentbot.web")

SCOPES = "openid profile email"
TEAM_CLAIM = "https://slack.com/team_id"
USER_CLAIM = "https://slack.com/user_id"
HTTP_TIMEOUT_SECONDS = 10.0
CLOCK_SKEW_SECONDS = 60
"""Leeway for ``exp``/``iat`` between this host's clock and the provider's, in seconds."""
DISCOVERY_RETRY_SECONDS = 30.0
"""After the discovery document could not be read, sign-ins fail at once for this long (seconds) rather than each
trying again behind the one before: with Slack hanging, n people would otherwise wait n times the HTTP timeout."""


class SignInRefused(BotError):
    """A sign-in that must not go through; ``reason`` is the log's short word (``bad_state``, ``wrong_team``...)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    """The person an ID token names: Slack user id, display name, e-mail, workspace id."""

    user_id: str
    name: str
    email: str
    team_id: str


class SlackOpenID:
    """The client of one provider (``issuer``) for one Slack app (``client_id``, ``client_secret``), accepting
    members of workspace ``team_id`` only; ``redirect_uri`` is ``{INCIDENT_WEB_URL}/auth/callback``."""

    def __init__(self, issuer: str, client_id: str, client_secret: str, team_id: str, redirect_uri: str) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.team_id = team_id
        self.redirect_uri = redirect_uri
        self._configuration: dict[str, Any] | None = None
        self._keys: jwt.PyJWKSet | None = None
        self._session: aiohttp.ClientSession | None = None
        self._lock = asyncio.Lock()
        self._failed_at = -DISCOVERY_RETRY_SECONDS

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS))
        return self._session

    async def _json(self, method: str, url: str, **kwargs: Any) -> Any:
        try:
            async with self._http().request(method, url, **kwargs) as response:
                if response.status >= 500:
                    raise SignInRefused("provider_unavailable", "Slack did not answer the sign-in; try again.")
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("web_sign_in_provider_failed", url=url, error=type(exc).__name__)
            raise SignInRefused(
                "provider_unavailable", "Slack could not be reached for the sign-in; try again."
            ) from exc

    async def configuration(self) -> dict[str, Any]:
        """The provider's discovery document (read once, then kept)."""
        async with self._lock:
            if self._configuration is None:
                if time.monotonic() - self._failed_at < DISCOVERY_RETRY_SECONDS:  # the sign-ins queued behind a
                    # failed read fail at once, instead of each waiting out its own timeout
                    raise SignInRefused(
                        "provider_unavailable", "Slack could not be reached for the sign-in; try again in a minute."
                    )
                try:
                    found = await self._json("GET", f"{self.issuer}/.well-known/openid-configuration")
                except SignInRefused:
                    self._failed_at = time.monotonic()
                    raise
                needed = ("authorization_endpoint", "token_endpoint", "jwks_uri")
                if not isinstance(found, dict) or not all(isinstance(found.get(k), str) for k in needed):
                    raise SignInRefused("provider_unavailable", "Slack's sign-in configuration could not be read.")
                self._configuration = found
            return self._configuration

    async def authorize_url(self, state: str, nonce: str) -> str:
        """Where to send the browser to sign in."""
        endpoint = (await self.configuration())["authorization_endpoint"]
        query = {
            "response_type": "code",
            "scope": SCOPES,
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": state,
            "nonce": nonce,
            "team": self.team_id,
        }
        return f"{endpoint}?{urlencode(query)}"

    async def identity(self, code: str, nonce: str) -> Identity:
        """Exchange ``code`` for an ID token and check it (signature, issuer, audience, expiry, ``nonce``,
        workspace). Raises SignInRefused (``code_refused``, ``bad_token``, ``bad_nonce``, ``wrong_team``,
        ``provider_unavailable``)."""
        configuration = await self.configuration()
        answer = await self._json(
            "POST",
            configuration["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "client_id": self.client_id,
                "client_secret": self._client_secret,
                "code": code,
                "redirect_uri": self.redirect_uri,
            },
        )
        token = answer.get("id_token") if isinstance(answer, dict) and answer.get("ok", True) else None
        if not isinstance(token, str):
            error = answer.get("error") if isinstance(answer, dict) else None
            log.warning("web_sign_in_code_refused", error=str(error))
            raise SignInRefused("code_refused", "Slack refused the sign-in (the link may have been used already).")
        claims = await self._verified(token, configuration)
        if not same(str(claims.get("nonce", "")), nonce):
            raise SignInRefused("bad_nonce", "This sign-in does not belong to this browser; sign in again.")
        team = str(claims.get(TEAM_CLAIM, ""))
        if not same(team, self.team_id):
            raise SignInRefused("wrong_team", "You signed in with another Slack workspace than this bot's.")
        user = claims.get(USER_CLAIM)
        if not isinstance(user, str) or not user:
            raise SignInRefused("bad_token", "Slack's answer did not name a user.")
        return Identity(user, str(claims.get("name") or user), str(claims.get("email") or ""), team)

    async def _verified(self, token: str, configuration: dict[str, Any]) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = await self._key(kid, configuration["jwks_uri"])
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "nonce"]},
            )
        except jwt.PyJWTError as exc:
            log.warning("web_sign_in_token_refused", error=type(exc).__name__, detail=str(exc))
            raise SignInRefused("bad_token", "Slack's answer could not be verified; sign in again.") from exc
        return claims

    async def _key(self, kid: object, jwks_uri: str) -> jwt.PyJWK:
        """The signing key ``kid``; the key set is read again once when ``kid`` is unknown (a key rotation)."""
        for fresh in (False, True):
            if self._keys is None or fresh:
                document = await self._json("GET", jwks_uri)
                if not isinstance(document, dict):  # PyJWKSet.from_dict takes a mapping (AttributeError else)
                    raise jwt.InvalidKeyError("the provider's key set is not a JSON object")
                self._keys = jwt.PyJWKSet.from_dict(document)
            for key in self._keys.keys:
                if kid is None or key.key_id == kid:
                    return key
        raise jwt.InvalidKeyError(f"no key {kid!r} in the provider's key set")
