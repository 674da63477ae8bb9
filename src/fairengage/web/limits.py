"""Request limits: hostile bodies and addresses are refused before any handler or parser reads them.

A pure ASGI middleware, outside CSRF (which reads whole form bodies) and inside the security headers.
It reads a request's body itself, never more than `max_body_bytes` of it, and hands the handlers the
same bytes; what it refuses gets a problem+json answer (or, for a page, an error page) naming the field
and the rule, and nothing is stored. The rules (docs/api.md, "Limits and hostile input"):

- `BODY-SIZE` (413): a body larger than the limit, by its Content-Length or by counting what arrives;
- `VALID-UTF8` (400): a JSON or form body that is not UTF-8, or a JSON string with a lone surrogate;
- `JSON-DEPTH` (400): JSON nested deeper than `max_json_depth`, checked before the body is parsed so
  that no parser can run out of stack;
- `VALID-JSON` (400): a JSON body that does not parse, or uses NaN, Infinity or a number too long to read;
- `VALID-TEXT` (400): a NUL character in a JSON string, a query parameter, the path or a header (no
  database column can hold one, and PostgreSQL refuses it outright);
- `VALID-MULTIPART` (400): a multipart body without a boundary or that does not parse.

JSON checks apply to bodies sent as JSON, and to bodies on `/api/` without a Content-Type (which some
FastAPI versions read as JSON). Pages take only forms, which CSRF reads as UTF-8 text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from python_multipart import FormParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fairengage.web.csrf import IN_MEMORY
from fairengage.web.problems import error_page, problem, wants_page

DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_JSON_DEPTH = 32
RULES = ("BODY-SIZE", "VALID-UTF8", "JSON-DEPTH", "VALID-JSON", "VALID-TEXT", "VALID-MULTIPART")
# A refused field's name is echoed back: cut it, so that a megabyte-long key is not sent back whole.
FIELD_NAME_LIMIT = 80

# A JSON string, escapes included; an unterminated one runs to the end of the body.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_OPENERS = frozenset(b"[{")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])")


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: the status, the field, the rule and a sentence for the caller."""

    status: int
    field: str
    rule: str
    message: str


class RequestLimits:
    """Refuses oversized, over-nested, non-UTF-8 and NUL-bearing requests with a clear error."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = address_refusal(scope) or self._declared_length_refusal(scope)
        if refusal is not None:
            await _refuse(refusal, scope, receive, send)
            return
        body = await self._read_body(receive)
        if body is None:  # the client went away while sending
            return
        if isinstance(body, Refusal):
            await _refuse(body, scope, receive, send)
            return
        refusal = body_refusal(scope, body, self.max_json_depth)
        if refusal is not None:
            await _refuse(refusal, scope, receive, send)
            return
        scope = canonical_form_type(scope)

        replayed = False

        async def replay() -> Message:
            # The handlers get the body already read, then whatever the server sends next (a disconnect).
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _declared_length_refusal(self, scope: Scope) -> Refusal | None:
        declared = (_header(scope, b"content-length") or "").strip()
        # A malformed Content-Length is the server's to refuse; the bytes are counted as they come anyway.
        if not (declared.isascii() and declared.isdigit()):
            return None
        # More digits than any real length has would also be more than int() agrees to read.
        return self._too_large() if len(declared) > 18 or int(declared) > self.max_body_bytes else None

    async def _read_body(self, receive: Receive) -> bytes | Refusal | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            # Stop at the first chunk past the limit: the rest of the body is never read.
            if size > self.max_body_bytes:
                return self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> Refusal:
        return Refusal(
            413, "body", "BODY-SIZE", f"the request body is larger than {self.max_body_bytes:,} bytes"
        )


def address_refusal(scope: Scope) -> Refusal | None:
    """A NUL character in the path, a query parameter or a header value."""
    if "\x00" in scope.get("path", ""):
        return _nul("path")
    # Read as Starlette reads it, so that the names match the parameters the handlers see.
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" in query or "\x00" in query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return _nul(name)
    for name, value in scope.get("headers", ()):
        if b"\x00" in value:
            return _nul(name.decode("latin-1"))
    return None


def body_refusal(scope: Scope, body: bytes, max_depth: int) -> Refusal | None:
    """What is wrong with a complete body of at most the size limit, or None."""
    media_type, options = parse_options_header(_header(scope, b"content-type") or "")
    media = media_type.decode("latin-1").lower()
    # Even empty: the CSRF check looks for the boundary in the header before it reads any body.
    if media == "multipart/form-data" and not options.get(b"boundary"):
        return _multipart_refusal(body, None)
    if not body:
        return None
    if media == "application/x-www-form-urlencoded":
        return _utf8_refusal(body, "the form")
    if media == "multipart/form-data":
        return _multipart_refusal(body, options.get(b"boundary"))
    on_api = scope.get("path", "").startswith("/api/")
    # Older FastAPI versions read a body without a Content-Type as JSON; checking it as JSON is safe anyway.
    if (
        (media == "" and on_api)
        or media == "application/json"
        or (media.startswith("application/") and media.endswith("+json"))
    ):
        return json_refusal(body, max_depth)
    return None


def canonical_form_type(scope: Scope) -> Scope:
    """The scope with a multipart Content-Type rewritten as `multipart/form-data; boundary=<boundary>`.

    Readers downstream disagree on how to find the boundary (asgi-csrf splits on the exact text
    "; boundary="); a checked body gets the one spelling all of them read, so none has to guess.
    """
    media_type, options = parse_options_header(_header(scope, b"content-type") or "")
    boundary = options.get(b"boundary")
    if media_type.lower() != b"multipart/form-data" or not boundary:
        return scope
    headers = [(k, v) for k, v in scope.get("headers", ()) if k.lower() != b"content-type"]
    headers.append((b"content-type", b"multipart/form-data; boundary=" + boundary))
    return {**scope, "headers": headers}


def json_refusal(body: bytes, max_depth: int) -> Refusal | None:
    """Check a JSON body: UTF-8, nesting depth (before parsing), syntax, numbers, and its strings."""
    refusal = _utf8_refusal(body, "the JSON body")
    if refusal is not None:
        return refusal
    depth = json_depth(body, stop_after=max_depth)
    if depth > max_depth:
        return Refusal(400, "body", "JSON-DEPTH", f"the JSON is nested deeper than {max_depth} levels")
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except _NotANumber as exc:
        return Refusal(400, "body", "VALID-JSON", str(exc))
    except json.JSONDecodeError as exc:
        return Refusal(
            400, "body", "VALID-JSON", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        )
    except ValueError:
        # Python refuses to read integers of thousands of digits (a guard against slow conversions).
        return Refusal(400, "body", "VALID-JSON", "a number in the JSON has too many digits")
    # Valid JSON can hold a NUL or a surrogate only as a \u escape: without one, no string need be read.
    if not _SUSPECT_ESCAPE.search(body):
        return None
    return _strings_refusal(value)


def json_depth(body: bytes, *, stop_after: int) -> int:
    """How deep the brackets of a JSON text nest (strings left out); counting stops past `stop_after`."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        if byte in _OPENERS:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_after:
                    break
        else:
            depth -= 1
    return deepest


class _NotANumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotANumber(f"{name} is not a JSON number")


def _strings_refusal(value: Any) -> Refusal | None:
    """The first string (key or value) holding a NUL character or a lone surrogate, named by its path."""
    # Iterative, not recursive: the depth is already bounded, but a loop needs no thought about stacks.
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                refusal = _text_refusal(key, (*path, key))
                if refusal is not None:
                    return refusal
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            stack.extend((child, (*path, str(index))) for index, child in enumerate(item))
        elif isinstance(item, str):
            refusal = _text_refusal(item, path)
            if refusal is not None:
                return refusal
    return None


def _text_refusal(text: str, path: tuple[str, ...]) -> Refusal | None:
    if "\x00" in text:
        return Refusal(400, _field(path), "VALID-TEXT", "the text contains a NUL character (\\u0000)")
    if _SURROGATE.search(text):
        return Refusal(
            400, _field(path), "VALID-UTF8", "the text contains a lone surrogate escape (\\ud800–\\udfff)"
        )
    return None


def _field(path: tuple[str, ...]) -> str:
    # The name may itself hold the NUL or surrogate being reported: show it escaped, in ASCII.
    name = ".".join(path).encode("ascii", "backslashreplace").decode("ascii").replace("\x00", "\\x00")
    name = name or "body"
    return name if len(name) <= FIELD_NAME_LIMIT else name[: FIELD_NAME_LIMIT - 1] + "…"


def _utf8_refusal(body: bytes, what: str) -> Refusal | None:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"{what} is not UTF-8 text (bad byte at offset {exc.start})"
        return Refusal(400, "body", "VALID-UTF8", message)
    return None


def _multipart_refusal(body: bytes, boundary: bytes | None) -> Refusal | None:
    if not boundary:
        return Refusal(400, "body", "VALID-MULTIPART", "a multipart/form-data body needs a boundary")
    # The form parser, not the bare one: it also refuses a part without a name, which every reader
    # downstream (the CSRF check, the pages' forms) would otherwise meet and fail on.
    try:
        parser = FormParser(
            "multipart/form-data",
            _ignore,
            _close,
            boundary=boundary,
            config=IN_MEMORY,
        )
        parser.write(body)
        parser.finalize()
    except (FormParserError, ValueError) as exc:
        return Refusal(400, "body", "VALID-MULTIPART", f"not valid multipart/form-data ({exc})")
    return None


def _ignore(field: Any) -> None:
    pass


def _close(file: Any) -> None:
    file.close()


def _nul(field: str) -> Refusal:
    return Refusal(400, _field((field,)), "VALID-TEXT", "contains a NUL character (%00)")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _refuse(refusal: Refusal, scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    response: Response
    if wants_page(request):
        title = _PAGE_TITLES.get(refusal.rule, _PAGE_TITLE)
        response = error_page(request, refusal.status, title, refusal.message)
    else:
        response = problem(
            refusal.status,
            _TITLES[refusal.rule],
            _SLUGS[refusal.rule],
            f"{refusal.message}; nothing was stored",
            [{"field": refusal.field, "rule": refusal.rule, "message": refusal.message}],
            instance=scope.get("path"),
        )
    await response(scope, receive, send)


_TITLES = {
    "BODY-SIZE": "The request body is too large",
    "VALID-UTF8": "The request is not UTF-8 text",
    "JSON-DEPTH": "The JSON is nested too deeply",
    "VALID-JSON": "The request body is not valid JSON",
    "VALID-TEXT": "The request contains a NUL character",
    "VALID-MULTIPART": "The request body is not valid multipart/form-data",
}
_SLUGS = {
    "BODY-SIZE": "body-too-large",
    "VALID-UTF8": "not-utf8",
    "JSON-DEPTH": "json-too-deep",
    "VALID-JSON": "invalid-json",
    "VALID-TEXT": "nul-character",
    "VALID-MULTIPART": "invalid-multipart",
}
# A page shows one of these as its heading; the detail below it says what was wrong.
_PAGE_TITLES = {"BODY-SIZE": "The form is too large"}
_PAGE_TITLE = "The request could not be read"
