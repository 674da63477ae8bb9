"""The Jinja2 environment shared by every capability's pages."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from fairengage.shipped import shipped
from fairengage.web.i18n import pick_language, translations
from fairengage.web.labels import label_of

PACKAGE = shipped()
# The shared layout first, then every capability folder that has pages.
CAPABILITIES = ("web", *sorted(p.parent.name for p in PACKAGE.glob("*/templates") if p.parent.name != "web"))

environment = Environment(
    loader=ChoiceLoader(
        [
            FileSystemLoader(str(PACKAGE / name / "templates"))
            for name in CAPABILITIES
            if (PACKAGE / name / "templates").is_dir()
        ]
    ),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
)
environment.policies["ext.i18n.trimmed"] = True
templates = Jinja2Templates(env=environment)
STATIC = PACKAGE / "web" / "static"


@lru_cache(maxsize=64)
def static_url(path: str) -> str:
    """A static file's address named by a digest of its content: `/static/officer/offline.js?v=…`.

    A changed file is a new address, so no cache serves an old copy of it; and the officer's pages and
    their service worker load the same address, so one cached copy serves both.
    """
    digest = hashlib.sha256((STATIC / path).read_bytes()).hexdigest()[:16]
    return f"/static/{path}?v={digest}"


environment.globals["static_url"] = static_url


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    lang: str | None = None,
    remember_language: bool = True,
) -> HTMLResponse:
    """Render a page in the visitor's language, with the signed-in user and CSRF token at hand.

    A `?lang=` choice is remembered in a cookie, except where `remember_language` is False: a receipt's
    language is the person's, chosen per receipt, and must not switch the officer's own pages.
    """
    lang = lang or pick_language(request)
    tr = translations(lang)

    def gettext(message: str, **values: Any) -> str:
        text = tr.gettext(message)
        if any(isinstance(value, Markup) for value in values.values()):
            # A figure the page already marked up (a withheld count with its reason) keeps its markup;
            # the sentence and every other value are escaped as usual.
            return escape(text) % values
        return text % values if values else text

    ctx: dict[str, Any] = {
        "lang": lang,
        "user": getattr(request.state, "principal", None),
        "csrftoken": request.scope.get("csrftoken", lambda: "")(),
        "_": gettext,
        "gettext": gettext,
        "ngettext": tr.ngettext,
        # A status or verdict code in the page's language: {{ code_label("status", e.status) }}.
        "code_label": lambda kind, code: gettext(label_of(kind, code)),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    if remember_language and request.query_params.get("lang") in ("en", "fr"):
        response.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="lax")
    return response


def local_clock(tz: tzinfo) -> Callable[[datetime | None], str]:
    """A formatter for pages: an aware time as local `YYYY-MM-DD HH:MM`, or empty."""
    return lambda moment: moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""
