"""The audit log's public transparency page and its machine-readable files (access/transparency.py).

Anyone may fetch the latest signed checkpoint, the history of checkpoints kept in the folder, the
public key and a consistency proof between two tree sizes: a copy kept by the board, an auditor or a
member of the public is what makes a quiet rewrite of the log detectable. Nothing here reveals an
entry's contents; only sizes and hashes are public.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from fairengage.access import merkle, transparency
from fairengage.web.deps import DbSession, settings_of
from fairengage.web.problems import problem
from fairengage.web.templating import render

router = APIRouter(include_in_schema=False)

# How many checkpoints of the folder the page lists (the JSON history lists all).
PAGE_HISTORY = 20


def _no_key() -> JSONResponse:
    return problem(
        503,
        "No signing key",
        "audit-no-signing-key",
        "this service signs no audit checkpoints: FAIRENGAGE_AUDIT_SIGNING_KEY_FILE is not set",
    )


def _history(request: Request, signer: transparency.Signer) -> list[dict[str, Any]]:
    """The folder's checkpoints this key signed, newest first, as JSON values with their notes."""
    folder = transparency.folder_of(settings_of(request))
    out = []
    for path, opened in reversed(folder.opened(signer.public)):
        if isinstance(opened, transparency.Checkpoint):
            out.append({**opened.as_json(), "file": path.name, "note": path.read_text(encoding="utf-8")})
    return out


@router.get("/transparency/audit")
def transparency_page(request: Request, session: DbSession) -> Response:
    """The page for people: the latest checkpoint, the history, the public key, how to keep a copy."""
    settings = settings_of(request)
    signer = transparency.signer_for(settings)
    context: dict[str, Any] = {"signer": signer, "origin": transparency.origin_of(settings.public_url)}
    if signer is not None:
        checkpoint, note = transparency.current_checkpoint(session, signer)
        history = _history(request, signer)[:PAGE_HISTORY]
        context |= {"checkpoint": checkpoint, "note": note, "history": history}
    return render(request, "transparency_audit.html", context)


@router.get("/transparency/audit/checkpoint")
def latest_checkpoint(request: Request, session: DbSession) -> Response:
    """The current tree, signed now, as a C2SP signed note (text)."""
    signer = transparency.signer_for(settings_of(request))
    if signer is None:
        return _no_key()
    _, note = transparency.current_checkpoint(session, signer)
    return PlainTextResponse(note)


@router.get("/transparency/audit/checkpoints.json")
def checkpoint_history(request: Request) -> Response:
    """Every checkpoint kept in the folder, newest first, with its signed note."""
    signer = transparency.signer_for(settings_of(request))
    if signer is None:
        return _no_key()
    return JSONResponse({"origin": signer.name, "checkpoints": _history(request, signer)})


@router.get("/transparency/audit/key")
def public_key(request: Request) -> Response:
    """The verifier key (signed-note text form) and the same key as PEM."""
    signer = transparency.signer_for(settings_of(request))
    if signer is None:
        return _no_key()
    return PlainTextResponse(f"{signer.vkey}\n{signer.public_pem}")


def _size_error(field: str, message: str) -> JSONResponse:
    return problem(
        422,
        "The request is not valid",
        "invalid-request",
        message,
        [{"field": field, "rule": "TREE-SIZE", "message": message}],
    )


@router.get("/transparency/audit/consistency")
def consistency(request: Request, session: DbSession, first: str = "", second: str = "") -> Response:
    """The RFC 9162 consistency proof from tree size `first` to `second` (default: the current size)."""
    size, _ = transparency.tree_head(session)
    values: dict[str, int] = {}
    for field, text, default in (("first", first, None), ("second", second, size)):
        if text == "" and default is not None:
            values[field] = default
        elif not text.isdigit() or len(text) > 18:
            return _size_error(field, f"{field} must be a whole number of entries, 0 or more")
        else:
            values[field] = int(text)
    if values["second"] > size:
        return _size_error("second", f"second is {values['second']} but the log has {size} entries")
    if values["first"] > values["second"]:
        return _size_error("first", f"first ({values['first']}) is larger than second ({values['second']})")
    proof = transparency.consistency_proof(session, values["first"], values["second"])
    return JSONResponse(
        {
            "first": values["first"],
            "second": values["second"],
            "first_root": transparency.b64(transparency.root_at(session, values["first"])),
            "second_root": transparency.b64(transparency.root_at(session, values["second"])),
            "proof": [transparency.b64(h) for h in proof],
            "algorithm": "RFC 9162 section 2.1.4; SHA-256, leaves 0x00-prefixed, nodes 0x01-prefixed",
            "empty_root": transparency.b64(merkle.EMPTY_ROOT),
        }
    )
