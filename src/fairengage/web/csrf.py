"""The CSRF check's set-up: the multipart parser it reads forms with, and how it compares tokens.

asgi-csrf looks for the CSRF token in a multipart body with python-multipart's `FormParser`, passing it
a `FileClass` that refuses file data met before the token. python-multipart has since dropped that
argument, so every multipart POST from a browser holding a CSRF cookie failed with a server error.
`install()` gives asgi-csrf a parser built the current way with the same meaning: a file part ending
before the token is refused as `FILE_BEFORE_TOKEN`, and a token field that cannot be read (not UTF-8)
counts as a wrong token, so the form gets the CSRF refusal page (403), never a 500.

The body has already been read whole and checked by the request limits (web/limits.py), at most
`max_body_bytes`; file data kept in memory until the refusal is bounded by that, and never touches disk.

asgi-csrf also compares tokens with `secrets.compare_digest`, which raises on text that is not ASCII:
a form or an X-CSRFToken header carrying "é" was a 500. Its comparisons are made on UTF-8 bytes
instead, still in constant time, so such a token is simply wrong.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any

import asgi_csrf
from python_multipart import FormParser
from python_multipart.multipart import Field, File

# Held in memory whatever its size: the body limit already bounds it, and nothing is written to disk.
IN_MEMORY: dict[str, Any] = {"MAX_MEMORY_FILE_SIZE": 1 << 62}


def form_parser(
    content_type: str,
    on_field: Callable[[Field], None] | None,
    on_file: Callable[..., None] | None = None,
    on_end: Callable[[], None] | None = None,
    boundary: bytes | str | None = None,
    **_legacy: Any,  # asgi-csrf's FileClass, which python-multipart no longer takes
) -> FormParser:
    """A multipart parser for the CSRF check: the token field is read; a file before it is refused."""

    def token_field(field: Field) -> None:
        if on_field is None:
            return
        try:
            on_field(field)
        except (UnicodeDecodeError, AttributeError) as error:
            # An unreadable token is a wrong token: asgi-csrf compares "" with the cookie and refuses.
            raise asgi_csrf.TokenFound("") from error

    def file_part(file: File) -> None:
        file.close()
        raise asgi_csrf.FileBeforeToken

    return FormParser(content_type, token_field, file_part, on_end, boundary=boundary, config=IN_MEMORY)


class _TokenComparison:
    """The `secrets` module as asgi-csrf sees it: the same, but comparing any text without raising."""

    def __getattr__(self, name: str) -> Any:
        return getattr(secrets, name)

    @staticmethod
    def compare_digest(left: str | bytes, right: str | bytes) -> bool:
        """Constant-time equality of two tokens, whatever characters they hold."""
        return hmac.compare_digest(_utf8(left), _utf8(right))


def _utf8(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def install() -> None:
    """Give asgi-csrf the parser and the comparison above, once per process (it looks both up by name)."""
    asgi_csrf.FormParser = form_parser
    asgi_csrf.secrets = _TokenComparison()
