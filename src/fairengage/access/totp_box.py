"""The TOTP secret as the database keeps it: encrypted, so that a copy of the database signs nobody in.

A second factor is worth something only while its secret stays on the person's phone and in the service.
Database dumps travel further than the service (backups, a restore test, a support copy), so the secret
is kept encrypted with AES-GCM under a key derived from the service's secret key through HKDF, which the
database never holds (docs/deployment.md#the-keys). The user's id is bound in as associated data: a
secret copied onto another account's row does not open there.

The stored form is the URL-safe Base64 of nonce, ciphertext and tag, without padding: 64 characters for
the 20-byte secrets enrolment makes, which is what the column holds. A secret kept in the clear (32
Base32 characters, written before encryption) is told apart by its length and alphabet.
"""

from __future__ import annotations

import base64
import binascii
import os
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# HKDF's "info": the derived key serves this one purpose, so it can never be confused with another key
# derived from the same secret key (receipt codes, device keys).
PURPOSE = b"fairengage totp-secret v1"
NONCE_BYTES = 12
# Enrolment's secret: 20 random bytes (160 bits, RFC 4226's recommendation), 32 Base32 characters.
SECRET_BYTES = 20
STORED_LENGTH = 64
_CLEAR = re.compile(r"[A-Z2-7]{16,56}=*")


class UnreadableSecret(ValueError):
    """The stored secret does not open with this key: the secret key changed, or the row was altered."""


def _aead(secret_key: bytes) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(secret_key)
    return AESGCM(key)


def _associated(user_id: int) -> bytes:
    return f"users.totp_secret:{user_id}".encode()


def seal(secret_key: bytes, user_id: int, secret: str) -> str:
    """The Base32 TOTP secret, encrypted for the user's row."""
    raw = base64.b32decode(secret)
    nonce = os.urandom(NONCE_BYTES)
    sealed = nonce + _aead(secret_key).encrypt(nonce, raw, _associated(user_id))
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def open_sealed(secret_key: bytes, user_id: int, stored: str) -> str:
    """The Base32 TOTP secret from its stored form; UnreadableSecret when it does not open."""
    try:
        sealed = base64.urlsafe_b64decode(stored + "=" * (-len(stored) % 4))
    except (binascii.Error, ValueError):
        raise UnreadableSecret("the stored second-factor secret is not in the encrypted form") from None
    nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
    try:
        raw = _aead(secret_key).decrypt(nonce, body, _associated(user_id))
    except (InvalidTag, ValueError):
        raise UnreadableSecret("the stored second-factor secret does not open with this secret key") from None
    return base64.b32encode(raw).decode()


def is_clear(stored: str) -> bool:
    """Whether a stored value is a secret written before encryption (Base32, not the sealed form)."""
    return len(stored) != STORED_LENGTH and _CLEAR.fullmatch(stored) is not None
