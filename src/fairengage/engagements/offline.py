"""What the officer's phone needs to keep the form working with no connection.

The service worker and the web app manifest are served from the site's root so that the worker may
look after the officer's pages. The device key encrypts drafts and unsent records on the phone: it is
derived from the service's secret, the officer's account and a key epoch, so the server stores nothing
new, hands the same key to the same officer after every sign-in (a draft kept through an expired session
opens again), and never one officer's key to another. Raising `FAIRENGAGE_DEVICE_KEY_EPOCH` makes every
key handed out before unusable, and with it whatever phones still hold (docs/security.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, JSONResponse, Response

from fairengage.config import Settings
from fairengage.errors import Forbidden
from fairengage.shipped import shipped
from fairengage.web.deps import PagePrincipal, settings_of
from fairengage.web.templating import static_url

router = APIRouter(include_in_schema=False)

OFFICER_STATIC = shipped("web", "static", "officer")
KEY_PATH = "/engagements/device-key"
SESSION_PATH = "/engagements/session"
# On the live form page: the owner tag it was served for (the service worker's cue to renew its shell).
OWNER_HEADER = "x-offline-owner"


def _mac(settings: Settings, label: str, user_id: int) -> bytes:
    message = f"fairengage/{label}/{settings.device_key_epoch}/{user_id}".encode()
    return hmac.new(settings.secret, message, hashlib.sha256).digest()


def owner_tag(settings: Settings, user_id: int) -> str:
    """An opaque name for the officer's entries on a phone: another officer's never match it."""
    return _mac(settings, "device-owner", user_id).hex()[:32]


def sent_by_owner(request: Request, settings: Settings, user_id: int) -> bool:
    """False when a record sent from the phone names another owner than the signed-in officer.

    The phone's script sends each kept record with its owner tag (X-Offline-Owner): on a shared phone,
    a record kept for one officer must never be stored under another's session. A form sent without
    the header (no script) is the signed-in officer's own.
    """
    claimed = request.headers.get(OWNER_HEADER)
    if claimed is None:
        return True
    return hmac.compare_digest(claimed.encode("latin-1"), owner_tag(settings, user_id).encode())


def device_key(settings: Settings, user_id: int) -> bytes:
    """The officer's 256-bit AES-GCM key for what the phone keeps; the same after every sign-in."""
    return _mac(settings, "device-key", user_id)


@router.get(KEY_PATH)
def device_key_for_officer(request: Request, principal: PagePrincipal) -> Response:
    """The signed-in officer's device key, never cached: the phone imports it as a key it cannot export."""
    if principal.role != "officer":
        raise Forbidden("only officers keep records on a phone")
    settings = settings_of(request)
    key = base64.urlsafe_b64encode(device_key(settings, principal.user_id)).decode().rstrip("=")
    body = {"owner": owner_tag(settings, principal.user_id), "epoch": settings.device_key_epoch, "key": key}
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get(SESSION_PATH)
def sending_session(request: Request, principal: PagePrincipal) -> Response:
    """Whose session this is and a fresh CSRF token, never cached: what the phone needs to send a kept
    record, in a few hundred bytes rather than the whole form page. A phone holding another officer's
    records sees a different owner and keeps them for their own officer."""
    if principal.role != "officer":
        raise Forbidden("only officers keep records on a phone")
    owner = owner_tag(settings_of(request), principal.user_id)
    # asgi-csrf's token for this browser (it sets the cookie with this answer when there was none).
    token = request.scope.get("csrftoken", lambda: "")()
    return JSONResponse({"owner": owner, "csrf": token}, headers={"Cache-Control": "no-store"})


# How long a phone may use its cached copy of the worker's script before asking again. The browser looks
# for a new worker on every page of its scope; without this, each page of the officer's (the form, each
# receipt) carried the whole script again. A fixed worker still reaches phones within these minutes.
WORKER_MAX_AGE = 600


# The worker's code, in the order it loads: what it shares with the form's page, then its own.
WORKER_SCRIPTS = ("outbox.js", "worker.js")


@lru_cache(maxsize=1)
def worker_script() -> str:
    """The few lines at /sw.js: they load the worker's code, each file named by a digest of its content.

    A new version of either file is then new bytes at /sw.js, which is what makes browsers install the
    new worker, and a new address, which no cache holds; the worker's code itself is an ordinary static
    file that the browser keeps, at the same address the officer's pages load it from.
    """
    sources = [f'"{static_url("officer/" + name)}"' for name in WORKER_SCRIPTS]
    header = "// FairEngage's service worker (static/officer/worker.js).\n"
    return f"{header}importScripts({', '.join(sources)});\n"


@router.get("/sw.js")
def service_worker() -> Response:
    """The service worker, from the root so that its scope covers the officer's pages."""
    headers = {"Service-Worker-Allowed": "/", "Cache-Control": f"max-age={WORKER_MAX_AGE}"}
    return Response(worker_script(), media_type="text/javascript", headers=headers)


@router.get("/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest: the officer's form installs on the phone's home screen."""
    return FileResponse(OFFICER_STATIC / "manifest.webmanifest", media_type="application/manifest+json")
