"""Single sign-on for staff through an OpenID Connect provider (Entra ID, ADFS, Keycloak, Okta).

The authorization code flow with PKCE (RFC 7636): the browser goes to the provider with a random state,
nonce and code challenge kept in the signed session cookie; the provider sends it back with a code, which
this service exchanges over a direct HTTPS call, with the verifier and its client secret, for an ID token.
The token is trusted only when its signature verifies against the issuer's published keys and it names
the configured issuer, this client as audience, the nonce of this very sign-in, and is within its lifetime.

Accounts are never created from a token: the token's username claim links it, at the first sign-in, to an
existing active FairEngage account, and from then on its (issuer, subject) pair names that account. The
roles the token carries (the configured claim, mapped to FairEngage roles) must include the account's
role, so a provider group cannot raise anyone to administrator, and losing the group locks the door.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request

from fairengage.access.models import User
from fairengage.access.permissions import ROLES
from fairengage.config import Settings

# The signed session cookie's key for a sign-in on its way through the provider.
FLOW_KEY = "oidc_flow"
CALLBACK_PATH = "/login/sso/callback"
# A sign-in left at the provider's page longer than this starts again.
FLOW_MAX_AGE = 15 * 60
# Clock difference tolerated between this server and the provider, in seconds.
LEEWAY = 60
# Algorithms accepted for ID tokens: asymmetric only, so a leaked client secret cannot mint one.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]
HTTP_TIMEOUT = 10.0


class SsoRefused(Exception):
    """A sign-in through the provider failed; `reason` is a short code kept in the audit log."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def enabled(settings: Settings) -> bool:
    """Whether single sign-on is configured."""
    return bool(settings.oidc_issuer and settings.oidc_client_id)


def role_map(settings: Settings) -> dict[str, str]:
    """The configured map from claim values to FairEngage roles ("group=role,group=role")."""
    mapping: dict[str, str] = {}
    for pair in settings.oidc_role_map.split(","):
        value, sep, role = pair.strip().rpartition("=")
        if not sep:
            continue
        if role.strip() not in ROLES:
            raise ValueError(f"FAIRENGAGE_OIDC_ROLE_MAP: {role.strip()!r} is not a role ({', '.join(ROLES)})")
        mapping[value.strip()] = role.strip()
    return mapping


def mapped_roles(settings: Settings, claims: dict[str, Any]) -> set[str]:
    """The FairEngage roles the token's role claim maps to; a claim may be a string or a list."""
    value = claims.get(settings.oidc_role_claim)
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    mapping = role_map(settings)
    return {mapping[v] for v in values if isinstance(v, str) and v in mapping}


# ------------------------------------------------------------------------------------ the provider


@dataclass
class _Cached:
    document: dict[str, Any]
    fetched: float


_DISCOVERY: dict[str, _Cached] = {}
# Discovery documents and keys are read again after this long, so rotated keys are picked up.
CACHE_SECONDS = 3600


def discovery(issuer: str, *, refresh: bool = False) -> dict[str, Any]:
    """The issuer's discovery document; it must name the same issuer (OpenID Connect Discovery s.4.3)."""
    cached = _DISCOVERY.get(issuer)
    if cached and not refresh and time.monotonic() - cached.fetched < CACHE_SECONDS:
        return cached.document
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SsoRefused("discovery-failed", str(exc)) from exc
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        raise SsoRefused("discovery-issuer", "the discovery document names another issuer")
    _DISCOVERY[issuer] = _Cached(document, time.monotonic())
    return document


def _keys(document: dict[str, Any]) -> KeySet:
    try:
        response = httpx.get(document["jwks_uri"], timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return KeySet.import_key_set(response.json())
    except (httpx.HTTPError, ValueError, KeyError, JoseError) as exc:
        raise SsoRefused("jwks-failed", str(exc)) from exc


def redirect_uri(settings: Settings) -> str:
    """Where the provider sends the browser back: register exactly this address at the provider."""
    return settings.public_url.rstrip("/") + CALLBACK_PATH


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def authorization_url(request: Request, settings: Settings, next: str) -> str:
    """Start a sign-in: remember its state, nonce and PKCE verifier, and the provider page to send to."""
    assert settings.oidc_issuer and settings.oidc_client_id  # nosec B101 # checked by enabled()
    document = discovery(settings.oidc_issuer)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier = _b64(secrets.token_bytes(48))
    request.session[FLOW_KEY] = {
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "next": next,
        "at": time.time(),
    }
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": redirect_uri(settings),
            "scope": "openid profile email",
            "state": state,
            "nonce": nonce,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    return f"{document['authorization_endpoint']}?{query}"


def take_flow(request: Request, state: str) -> dict[str, Any]:
    """The sign-in this callback belongs to, removed from the cookie so that it cannot be replayed."""
    flow = request.session.pop(FLOW_KEY, None)
    if not isinstance(flow, dict) or not secrets.compare_digest(str(flow.get("state", "")), state):
        raise SsoRefused("state", "the answer does not belong to a sign-in started in this browser")
    if time.time() - float(flow.get("at", 0)) > FLOW_MAX_AGE:
        raise SsoRefused("state-expired", "the sign-in was started too long ago")
    return flow


def exchange(settings: Settings, code: str, verifier: str) -> str:
    """Trade the code for tokens at the provider's token endpoint; the ID token."""
    assert settings.oidc_issuer and settings.oidc_client_id  # nosec B101 # checked by enabled()
    document = discovery(settings.oidc_issuer)
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else ""
    try:
        response = httpx.post(
            document["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri(settings),
                "code_verifier": verifier,
            },
            auth=(settings.oidc_client_id, secret),
            timeout=HTTP_TIMEOUT,
        )
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SsoRefused("token-failed", str(exc)) from exc
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("id_token"):
        raise SsoRefused(
            "token-refused", str(body.get("error", response.status_code)) if isinstance(body, dict) else ""
        )
    return str(body["id_token"])


def validate(settings: Settings, id_token: str, nonce: str, *, now: float | None = None) -> dict[str, Any]:
    """The ID token's claims once its signature, issuer, audience, lifetime and nonce all check out."""
    assert settings.oidc_issuer and settings.oidc_client_id  # nosec B101 # checked by enabled()
    document = discovery(settings.oidc_issuer)
    try:
        token = jwt.decode(id_token, _keys(document), algorithms=ALGORITHMS)
    except (JoseError, ValueError) as exc:
        raise SsoRefused("signature", str(exc)) from exc
    claims = dict(token.claims)
    now = time.time() if now is None else now
    if claims.get("iss") != settings.oidc_issuer:
        raise SsoRefused("issuer", f"issued by {claims.get('iss')!r}")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if settings.oidc_client_id not in audiences:
        raise SsoRefused("audience", "the token was issued to another client")
    if len(audiences) > 1 and claims.get("azp") != settings.oidc_client_id:
        raise SsoRefused("audience", "the token's authorized party is another client")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or exp + LEEWAY < now:
        raise SsoRefused("expired", "the token has expired")
    if not isinstance(iat, int | float) or iat - LEEWAY > now:
        raise SsoRefused("not-yet-valid", "the token was issued in the future")
    if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(claims["nonce"], nonce):
        raise SsoRefused("nonce", "the token belongs to another sign-in")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise SsoRefused("subject", "the token names no subject")
    return claims


def subject_key(issuer: str, subject: str) -> str:
    """The stored link to a provider account: a digest, as the pair can be longer than the column."""
    return hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()


def link_user(*, session: Session, settings: Settings, claims: dict[str, Any]) -> tuple[User, bool]:
    """The account the token signs in to, and whether it was linked just now; SsoRefused otherwise.

    Never creates an account: an unknown person, whatever their groups, is refused.
    """
    assert settings.oidc_issuer  # nosec B101 # checked by enabled()
    key = subject_key(settings.oidc_issuer, claims["sub"])
    user = session.scalars(select(User).where(User.oidc_subject == key)).first()
    linked_now = False
    if user is None:
        username = claims.get(settings.oidc_username_claim)
        user = (
            session.scalars(select(User).where(User.username == username)).first()
            if isinstance(username, str)
            else None
        )
        if user is None:
            raise SsoRefused("unknown-user", "no FairEngage account has this username")
        if user.oidc_subject is not None:
            # Already linked to another provider account: a renamed or reused username must not take it over.
            raise SsoRefused("linked-elsewhere", "the account is linked to another provider account")
        user.oidc_subject, linked_now = key, True
    if not user.active:
        raise SsoRefused("inactive", "the account is deactivated")
    roles = mapped_roles(settings, claims)
    if user.role not in roles:
        raise SsoRefused("role", f"the provider's groups map to {sorted(roles)}, the account is {user.role}")
    session.flush()
    return user, linked_now


def end_session_url(request: Request) -> str | None:
    """The provider's sign-out page for this client (RP-initiated logout), when its discovery names one."""
    settings: Settings = request.app.state.settings
    if not enabled(settings):
        return None
    assert settings.oidc_issuer  # nosec B101 # checked by enabled()
    try:
        endpoint = discovery(settings.oidc_issuer).get("end_session_endpoint")
    except SsoRefused:
        return None
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        return None
    query = urlencode(
        {
            "client_id": settings.oidc_client_id,
            "post_logout_redirect_uri": settings.public_url.rstrip("/") + "/",
        }
    )
    return f"{endpoint}?{query}"
