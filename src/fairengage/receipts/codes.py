"""Receipt reference codes: short, typable, and signed so that a forged or mistyped code never verifies.

O. Reg. 58/16 s.7 requires a unique reference code on every receipt (docs/rule-sets.md, RECEIPT-CONTENT).
A code is 12 Crockford base32 characters shown as ``XXXX-XXXX-XXXX``: 30 random bits of serial
followed by 30 bits of HMAC-SHA256 over that serial under the service's secret key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

# Crockford base32: no I, L, O or U, so a code read aloud or copied by hand has fewer look-alikes.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SERIAL_CHARS = 6
SIGNATURE_CHARS = 6
CODE_LENGTH = SERIAL_CHARS + SIGNATURE_CHARS
GROUP = 4

_BITS_PER_CHAR = 5
_SERIAL_BITS = SERIAL_CHARS * _BITS_PER_CHAR
_SIGNATURE_BITS = SIGNATURE_CHARS * _BITS_PER_CHAR
# Keeps these signatures apart from anything else the same secret key signs (sessions, officer keys).
_DOMAIN = b"fairengage-receipt-v1:"
# Crockford's decoding aliases for characters people type in place of the digits they resemble.
_ALIASES = {"I": "1", "L": "1", "O": "0"}
_SEPARATORS = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2212")
# 30 random bits collide by the birthday bound (about 5% within 10,000 receipts), so the caller that
# stores codes passes `taken` and keeps a unique constraint; this many draws all taken means a bug.
_MAX_DRAWS = 32
# Anything much longer than a formatted code is not a code; stop before doing work on it.
_MAX_INPUT = 64
_VALUE = {char: index for index, char in enumerate(ALPHABET)}


def issue_code(secret: bytes, *, taken: Callable[[str], bool] | None = None) -> str:
    """Make a new signed reference code, formatted as ``XXXX-XXXX-XXXX``, that `taken` does not reject."""
    _require_secret(secret)
    for _ in range(_MAX_DRAWS):
        serial = _encode(secrets.randbits(_SERIAL_BITS), SERIAL_CHARS)
        code = format_code(serial + _signature(serial, secret))
        if taken is None or not taken(code):
            return code
    raise RuntimeError(f"no free receipt code after {_MAX_DRAWS} draws; is `taken` always true?")


def normalize_code(text: str) -> str | None:
    """Read a code as a person typed it; return its 12 canonical characters, or None if it cannot be one."""
    if not isinstance(text, str) or len(text) > _MAX_INPUT:
        return None
    chars: list[str] = []
    for char in text:
        if char in _SEPARATORS or char.isspace():
            continue
        # ASCII only: str.upper() maps some other letters onto ASCII ones (dotless ı becomes I).
        if not char.isascii():
            return None
        upper = _ALIASES.get(char.upper(), char.upper())
        if upper not in _VALUE:
            return None
        chars.append(upper)
    if len(chars) != CODE_LENGTH:
        return None
    return "".join(chars)


def format_code(canonical: str) -> str:
    """Show 12 canonical characters in groups of four separated by hyphens."""
    if len(canonical) != CODE_LENGTH or any(char not in _VALUE for char in canonical):
        raise ValueError(f"not a canonical receipt code: {canonical!r}")
    return "-".join(canonical[start : start + GROUP] for start in range(0, CODE_LENGTH, GROUP))


def verify_code(text: str, secret: bytes) -> str | None:
    """Return the canonical code when its signature is good under this secret, else None."""
    _require_secret(secret)
    canonical = normalize_code(text)
    if canonical is None:
        return None
    serial, signature = canonical[:SERIAL_CHARS], canonical[SERIAL_CHARS:]
    if not hmac.compare_digest(signature, _signature(serial, secret)):
        return None
    return canonical


def _signature(serial: str, secret: bytes) -> str:
    digest = hmac.new(secret, _DOMAIN + serial.encode("ascii"), hashlib.sha256).digest()
    # Keep the leading 30 bits of the 256: a guess succeeds with probability 2**-30 per try.
    leading = int.from_bytes(digest[:4], "big") >> (32 - _SIGNATURE_BITS)
    return _encode(leading, SIGNATURE_CHARS)


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(ALPHABET[value & 0b11111])
        value >>= _BITS_PER_CHAR
    return "".join(reversed(chars))


def _require_secret(secret: bytes) -> None:
    # An empty key would make every signature public knowledge; refuse it rather than sign with it.
    if not isinstance(secret, bytes | bytearray) or not secret:
        raise ValueError("the receipt secret key must be non-empty bytes")
