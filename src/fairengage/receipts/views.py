"""Public receipt pages: check a code, print the receipt, download its PDF or QR code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fairengage.access.principal import Principal
from fairengage.receipts import codes, limits, render
from fairengage.receipts.service import receipt_for
from fairengage.web.deps import DbSession, optional_page_principal, settings_of
from fairengage.web.i18n import pick_language
from fairengage.web.templating import render as render_page

router = APIRouter(include_in_schema=False)


@router.get("/r", response_class=HTMLResponse)
def check_form(
    request: Request,
    code: Annotated[str | None, Query(max_length=64)] = None,
    principal: Principal | None = Depends(optional_page_principal),
) -> Response:
    """A form to type a receipt code; a typed code goes to its check page."""
    if code:
        canonical = codes.normalize_code(code)
        if canonical:
            return RedirectResponse(f"/r/{codes.format_code(canonical)}", status_code=303)
        return render_page(request, "receipt_check.html", {"code": code, "malformed": True}, status_code=400)
    return render_page(request, "receipt_check.html", {"code": "", "malformed": False})


def _receipt_or_none(request: Request, session: Session, code: str, lang: str) -> render.ReceiptView | None:
    return receipt_for(session=session, text=code, settings=settings_of(request), lang=lang)


def _invalid(request: Request, code: str, lang: str) -> HTMLResponse:
    # A forged code and a code no record carries get the same page: guessing reveals nothing.
    return render_page(
        request,
        "receipt_invalid.html",
        {"code": code[:64]},
        status_code=404,
        lang=lang,
        remember_language=False,
    )


def _issued(request: Request, session: Session, code: str) -> tuple[render.ReceiptView, str] | Response:
    """The receipt a code names and the page language, or the answer every receipt route gives instead.

    One path for all of them: the rate limit first, then the same look-up and the same not-found page,
    so a code that is well signed but never issued answers alike everywhere.
    """
    if refusal := limits.refused(request, code):
        return refusal
    lang = pick_language(request)
    view = _receipt_or_none(request, session, code, lang)
    if view is None:
        return _invalid(request, code, lang)
    return view, lang


def _receipt_page(request: Request, session: Session, code: str, *, printable: bool) -> Response:
    found = _issued(request, session, code)
    if isinstance(found, Response):
        return found
    view, lang = found
    return render_page(
        request,
        "receipt.html",
        {
            "r": view,
            "when": render.format_when(view.occurred_local, lang),
            "qr": render.qr_svg(view.url, lang=lang),
            "labels": render.LABELS[lang],
            "printable": printable,
        },
        lang=lang,
        remember_language=False,
    )


@router.get("/r/{code}", response_class=HTMLResponse)
def check(
    code: str,
    request: Request,
    session: DbSession,
    principal: Principal | None = Depends(optional_page_principal),
) -> Response:
    """The public check page: what the receipt must show, never the person's information."""
    return _receipt_page(request, session, code, printable=False)


@router.get("/r/{code}/print", response_class=HTMLResponse)
def printable(code: str, request: Request, session: DbSession) -> Response:
    """The receipt laid out for printing."""
    return _receipt_page(request, session, code, printable=True)


@router.get("/r/{code}/receipt.pdf")
def pdf(code: str, request: Request, session: DbSession) -> Response:
    """The receipt as a PDF."""
    found = _issued(request, session, code)
    if isinstance(found, Response):
        return found
    view, _lang = found
    filename = f"receipt-{view.code}.pdf"
    return Response(
        render.receipt_pdf(view),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.get("/r/{code}/qr.svg")
def qr(code: str, request: Request, session: DbSession) -> Response:
    """A QR code pointing at the check page; only for a code a record carries, like the other routes."""
    # The same look-up and not-found page as the check page (a never-issued code once drew a QR code).
    found = _issued(request, session, code)
    if isinstance(found, Response):
        return found
    view, lang = found
    return Response(render.qr_svg(view.url, lang=lang), media_type="image/svg+xml")
