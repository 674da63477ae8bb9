"""Middleware that only pages need: the JSON API goes straight past it."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

API_PREFIX = "/api/"


class PagesOnly:
    """Wrap a middleware so it runs for pages and never for the JSON API.

    The API authenticates with bearer tokens and sets no cookies, so browser-session and CSRF
    machinery only cost it time: signing and parsing cookies on every recorded engagement.
    """

    def __init__(self, app: ASGIApp, middleware: Any, **options: Any) -> None:
        self.app = app
        self.wrapped = middleware(app, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
        else:
            await self.wrapped(scope, receive, send)
