"""Password hashing with Argon2id (RFC 9106), from `cryptography`, which the project already uses.

Parameters are RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes): about 0.1 s per
check on a 2-core VPS, so a stolen database costs an attacker the same per guess. The PHC string
records its parameters, so raising them later keeps old hashes verifiable (and `needs_rehash` says
when to re-hash at the next login). Hashing runs in a worker thread: it must not stall the event loop.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from typing import TypeVar

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from core.errors import FieldError

T = TypeVar("T")

MEMORY_KIB = 65536
ITERATIONS = 3
LANES = 4
MIN_LENGTH = 10
PARAMETERS = f"m={MEMORY_KIB},t={ITERATIONS},p={LANES}"

# Verified against when the username is unknown, so both answers take the same time.
_DUMMY: str | None = None
# One hash at a time per process. Two Argon2id runs with lanes > 1 in two threads at once never finish
# with cryptography 50 / OpenSSL 4.0.3 (reproduced: two parallel sign-ins hung the server for good),
# and each takes 64 MiB: a burst of sign-ins queues instead (the login rate limit bounds the queue).
# A thread lock, taken in the worker thread, works whichever event loop asks.
_SLOTS = threading.Lock()


def _one_at_a_slot(work: Callable[[], T]) -> T:
    with _SLOTS:
        return work()


async def _in_slot(work: Callable[[], T]) -> T:
    return await asyncio.to_thread(_one_at_a_slot, work)


def check_strength(password: str, field: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        raise FieldError(field, f"at least {MIN_LENGTH} characters")
    if len(password) > 1024:
        raise FieldError(field, "at most 1024 characters")
    if len(set(password)) < 4:
        raise FieldError(field, "too simple: use more different characters")


def hash_password_sync(password: str) -> str:
    kdf = Argon2id(salt=os.urandom(16), length=32, iterations=ITERATIONS, lanes=LANES, memory_cost=MEMORY_KIB)
    return kdf.derive_phc_encoded(password.encode("utf-8"))


def verify_password_sync(password: str, encoded: str) -> bool:
    try:
        Argon2id.verify_phc_encoded(password.encode("utf-8"), encoded)
    except (InvalidKey, ValueError):
        return False
    return True


async def hash_password(password: str) -> str:
    return await _in_slot(lambda: hash_password_sync(password))


async def verify_password(password: str, encoded: str | None) -> bool:
    """True when `password` matches; with no hash (unknown user) a dummy is checked and False returned."""
    global _DUMMY
    if encoded is None:
        if _DUMMY is None:
            _DUMMY = await hash_password(os.urandom(16).hex())
        dummy = _DUMMY
        await _in_slot(lambda: verify_password_sync(password, dummy))
        return False
    return await _in_slot(lambda: verify_password_sync(password, encoded))


def needs_rehash(encoded: str) -> bool:
    return PARAMETERS not in encoded
