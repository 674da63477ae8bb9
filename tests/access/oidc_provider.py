"""A real OpenID provider for the tests, built on Authlib's authorization server, served on loopback.

It speaks the protocol for real: discovery document, JWKS, an authorization endpoint with a sign-in form,
the code grant with PKCE (S256 required) and nonce, a token endpoint authenticating the client with its
secret, RS256 ID tokens signed with a key generated at start, and an end-session endpoint. Knobs let a
test make it misbehave the way a hostile or misconfigured provider would: sign with a key it does not
publish, name another issuer or audience, echo a different nonce, hand out an expired token.
"""

from __future__ import annotations

import html
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from authlib.oauth2.rfc6749 import AuthorizationServer, ClientMixin, OAuth2Request
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from live import free_port


@dataclass
class Person:
    """An account at the provider."""

    sub: str
    username: str
    groups: list[str]


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in ("openid", "profile", "email"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic" if endpoint == "token" else True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    person: Person
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        return None


class _Request(OAuth2Request):
    def __init__(self, method: str, url: str, headers: Any, data: dict[str, str]) -> None:
        super().__init__(method, url, headers=headers)
        self.payload = BasicOAuth2Payload(data)
        self._data = data

    @property
    def args(self) -> dict[str, str]:
        return self._data

    @property
    def form(self) -> dict[str, str]:
        return self._data


class Provider:
    """One OpenID provider: its issuer URL, signing key, accounts and registered client."""

    def __init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig"})
        # The key ID tokens are signed with; a test swaps in a key the JWKS does not publish.
        self.signing_key = self.key
        self.people: dict[str, Person] = {}
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Code] = {}
        # Claims forced into the next ID tokens (iss, aud, nonce, exp...), to play a hostile provider.
        self.overrides: dict[str, Any] = {}
        self.ended_sessions: list[dict[str, str]] = []
        self.server = self._server()
        self.app = self._app()

    def add_person(self, username: str, groups: list[str], sub: str | None = None) -> Person:
        person = Person(sub=sub or secrets.token_hex(8), username=username, groups=groups)
        self.people[username] = person
        return person

    def add_client(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        self.clients[client_id] = Client(client_id, client_secret, [redirect_uri])

    # --------------------------------------------------------------------------- Authlib's server side

    def _server(self) -> AuthorizationServer:
        provider = self

        class Server(AuthorizationServer):
            def query_client(self, client_id: str) -> Client | None:
                return provider.clients.get(client_id)

            def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
                pass  # access tokens are not used by the relying party under test

            def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
                return request

            def create_json_request(self, request: Any) -> Any:
                raise NotImplementedError

            def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
                if isinstance(body, dict):
                    return JSONResponse(body, status_code=status, headers=dict(headers))
                return Response(body or "", status_code=status, headers=dict(headers))

            def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
                pass

        class CodeGrant(AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]  # noqa: RUF012

            def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
                data = request.payload.data
                provider.codes[code] = Code(
                    code=code,
                    client_id=request.client.get_client_id(),
                    redirect_uri=data.get("redirect_uri", ""),
                    scope=request.scope,
                    person=request.user,
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                found = provider.codes.get(code)
                return found if found and found.client_id == client.get_client_id() else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> Person:
                return authorization_code.person

        class IdToken(OpenIDCode):
            def resolve_client_private_key(self, client: Client) -> RSAKey:
                return provider.signing_key

            def get_client_algorithm(self, client: Client) -> str:
                return "RS256"

            def get_encode_header(self, client: Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": provider.signing_key.kid or ""}

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {
                    "iss": provider.issuer,
                    "aud": [client.get_client_id()],
                    "exp": int(time.time()) + 300,
                }

            def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
                return any(c.nonce == nonce for c in provider.codes.values())

            def generate_user_info(self, user: Person, scope: str) -> UserInfo:
                info = UserInfo(sub=user.sub, preferred_username=user.username, groups=user.groups)
                # Claims the test forces: update() comes after Authlib's own, so these win.
                info.update(provider.overrides)
                return info

        server = Server(scopes_supported=["openid", "profile", "email"])
        server.register_token_generator(
            "default", BearerTokenGenerator(lambda *a, **k: secrets.token_urlsafe(32))
        )
        server.register_grant(CodeGrant, [CodeChallenge(required=True), IdToken(require_nonce=True)])
        return server

    # ------------------------------------------------------------------------------------ HTTP side

    async def _oauth_request(self, request: Request) -> _Request:
        data = dict(request.query_params)
        if request.method == "POST":
            data.update({k: str(v) for k, v in (await request.form()).items()})
        return _Request(request.method, str(request.url), request.headers, data)

    def _app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse({
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "end_session_endpoint": f"{self.issuer}/logout",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            })  # fmt: skip

        async def jwks(request: Request) -> Response:
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        async def authorize(request: Request) -> Response:
            oauth = await self._oauth_request(request)
            if request.method == "GET":
                # Validate first, as a provider does, then show its own sign-in form.
                try:
                    self.server.get_consent_grant(oauth)
                except Exception as exc:
                    return HTMLResponse(f"<p id='provider-error'>{type(exc).__name__}</p>", status_code=400)
                hidden = "".join(
                    f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                    for k, v in oauth.payload.data.items()
                )
                return HTMLResponse(
                    "<html><head><title>Provider sign-in</title></head><body><h1>Test provider</h1>"
                    f'<form method="post" action="/authorize">{hidden}'
                    '<label for="login">Username</label><input id="login" name="login">'
                    '<button type="submit">Sign in at provider</button></form></body></html>'
                )
            person = self.people.get(oauth.payload.data.get("login", ""))
            grant = self.server.get_consent_grant(oauth)
            return self.server.create_authorization_response(oauth, grant_user=person, grant=grant)

        async def token(request: Request) -> Response:
            return self.server.create_token_response(await self._oauth_request(request))

        async def logout(request: Request) -> Response:
            self.ended_sessions.append(dict(request.query_params))
            target = request.query_params.get("post_logout_redirect_uri")
            return RedirectResponse(target, status_code=302) if target else HTMLResponse("signed out")

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/jwks", jwks),
                Route("/authorize", authorize, methods=["GET", "POST"]),
                Route("/token", token, methods=["POST"]),
                Route("/logout", logout),
            ]
        )

    def authorize_url(self, **params: str) -> str:
        return f"{self.issuer}/authorize?{urlencode(params)}"


@contextmanager
def running(provider: Provider) -> Iterator[Provider]:
    """Serve the provider with uvicorn on its loopback port for the duration."""
    server = uvicorn.Server(
        uvicorn.Config(provider.app, host="127.0.0.1", port=provider.port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the OpenID provider did not start")
        time.sleep(0.05)
    try:
        yield provider
    finally:
        server.should_exit = True
        thread.join(timeout=10)
