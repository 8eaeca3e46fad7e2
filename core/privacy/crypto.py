"""Encryption of personal data at rest (AES-GCM) and blind indexes for exact lookups (HMAC-SHA256).

Both keys are derived from `security.data_key` with HKDF under different labels, so the index key
reveals nothing about the encryption key. The field name is bound in as associated data: a ciphertext
copied into another column does not decrypt. Tokens carry a version prefix for key rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"


def _derive(key: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(key)


class FieldCipher:
    def __init__(self, data_key: str) -> None:
        key = base64.urlsafe_b64decode(data_key.encode())
        if len(key) != 32:
            raise ValueError("data_key must be 32 bytes of URL-safe base64")
        self._aead = AESGCM(_derive(key, b"ajanda field encryption"))
        self._index_key = _derive(key, b"ajanda blind index")

    def encrypt(self, value: str | None, field: str) -> str | None:
        if value is None:
            return None
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode("utf-8"), field.encode())
        return f"{VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str | None, field: str) -> str | None:
        if token is None:
            return None
        version, _, body = token.partition(":")
        if version != VERSION:
            raise ValueError(f"unknown ciphertext version {version!r}")
        raw = base64.urlsafe_b64decode(body.encode())
        return self._aead.decrypt(raw[:12], raw[12:], field.encode()).decode("utf-8")

    def blind_index(self, normalised: str, field: str) -> str:
        """A keyed hash for exact-match lookups of an already normalised value."""
        message = f"{field}\x1f{normalised}".encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()[:40]
