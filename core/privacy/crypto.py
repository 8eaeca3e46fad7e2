"""Encryption of personal data at rest (AES-GCM) and blind indexes for exact lookups (HMAC-SHA256).

Both keys are derived from `security.data_key` with HKDF under different labels, so the index key
reveals nothing about the encryption key. The field name is bound in as associated data: a ciphertext
copied into another column does not decrypt.

Key rotation: a token names the key that sealed it (`k<8 hex>:<base64>`, the hex being a fingerprint
derived from the key, which reveals nothing about it), so a cipher configured with the current key and
`security.previous_data_keys` opens values under any of them and always seals under the current one.
Tokens written before key ids existed (`v1:<base64>`) name no key; they are tried against every
configured key, the current one first, and GCM's tag says which one fits. `ajanda keys rotate`
(core/privacy/rotation.py) rewrites every value and blind index under the current key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Tokens from before key ids: sealed by whichever data key was configured then.
LEGACY_VERSION = "v1"
KEY_ID_PREFIX = "k"


class CipherError(ValueError):
    """A stored value cannot be opened; the message names the field, never the value."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class UnknownKeyError(CipherError):
    """The value names a key that is neither `data_key` nor in `previous_data_keys`."""

    def __init__(self, field: str, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(
            field,
            f"sealed under key {key_id}, which is not configured "
            "(add the key that wrote it to security.previous_data_keys)",
        )


def _derive(key: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(key)


def decode_data_key(data_key: str) -> bytes:
    """The raw 32 bytes of a configured key, or ValueError (config validation says which key)."""
    try:
        raw = base64.urlsafe_b64decode(data_key.encode())
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 32:
        raise ValueError("a data key must be 32 bytes of URL-safe base64")
    return raw


def new_data_key() -> str:
    """A fresh data key in the form `security.data_key` takes (what `ajanda keys generate` prints)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def key_id(data_key: str) -> str:
    """The id a key's tokens carry: derived under its own HKDF label, so it says nothing about the key
    (and 32 bits tell a handful of configured keys apart; config validation refuses a clash)."""
    return KEY_ID_PREFIX + _derive(decode_data_key(data_key), b"ajanda key id")[:4].hex()


@dataclass(frozen=True)
class _Key:
    id: str
    aead: AESGCM
    index_key: bytes


def _key(data_key: str) -> _Key:
    raw = decode_data_key(data_key)
    return _Key(
        id=key_id(data_key),
        aead=AESGCM(_derive(raw, b"ajanda field encryption")),
        index_key=_derive(raw, b"ajanda blind index"),
    )


@dataclass(frozen=True)
class Opened:
    """A decrypted value and what rotation needs to know about its token."""

    value: str
    key_id: str  # the key that opened it
    current: bool  # sealed under the current key in the current token format (nothing to rewrite)
    legacy: bool = False  # a `v1:` token, which names no key


class FieldCipher:
    def __init__(self, data_key: str, previous_keys: Sequence[str] = ()) -> None:
        self._current = _key(data_key)
        self._keys: dict[str, _Key] = {self._current.id: self._current}
        for old in previous_keys:
            key = _key(old)
            self._keys.setdefault(key.id, key)

    @property
    def current_key_id(self) -> str:
        return self._current.id

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The configured keys' ids, the current one first."""
        return tuple(self._keys)

    def encrypt(self, value: str | None, field: str) -> str | None:
        if value is None:
            return None
        nonce = os.urandom(12)
        sealed = self._current.aead.encrypt(nonce, value.encode("utf-8"), field.encode())
        return f"{self._current.id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str | None, field: str) -> str | None:
        if token is None:
            return None
        return self.open(token, field).value

    def open(self, token: str, field: str) -> Opened:
        """Decrypt and say which key did it (rotation and `ajanda keys check` need to know)."""
        prefix, sep, body = token.partition(":")
        if not sep:
            raise CipherError(field, "not a ciphertext token")
        try:
            raw = base64.urlsafe_b64decode(body.encode())
        except (ValueError, TypeError):
            raise CipherError(field, "the ciphertext is not valid base64") from None
        if prefix == LEGACY_VERSION:
            for candidate in self._keys.values():
                try:
                    value = candidate.aead.decrypt(raw[:12], raw[12:], field.encode()).decode("utf-8")
                except InvalidTag:
                    continue
                return Opened(value, candidate.id, current=False, legacy=True)
            raise CipherError(
                field,
                "no configured key opens this value (written before key ids; add the key that wrote it "
                "to security.previous_data_keys)",
            )
        key = self._keys.get(prefix) if prefix.startswith(KEY_ID_PREFIX) else None
        if key is None:
            if prefix.startswith(KEY_ID_PREFIX):
                raise UnknownKeyError(field, prefix)
            raise CipherError(field, f"unknown ciphertext version {prefix!r}")
        try:
            value = key.aead.decrypt(raw[:12], raw[12:], field.encode()).decode("utf-8")
        except InvalidTag:
            raise CipherError(
                field, f"the value under key {prefix} does not authenticate (damaged, or from another column)"
            ) from None
        return Opened(value, key.id, current=key is self._current)

    def blind_index(self, normalised: str, field: str) -> str:
        """A keyed hash for exact-match lookups of an already normalised value (current key only: a
        lookup cannot know which key indexed a row, so rotation recomputes every index)."""
        message = f"{field}\x1f{normalised}".encode()
        return hmac.new(self._current.index_key, message, hashlib.sha256).hexdigest()[:40]
