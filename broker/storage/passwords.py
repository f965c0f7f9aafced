"""Argon2id for resident and holder-staff passwords, off the event loop.

Argon2 is slow by design (tens to hundreds of milliseconds of CPU per hash). Run on the
event loop, every login attempt would stall every other request of the instance, transfers
and revocations included, for that long; argon2-cffi releases the GIL while it hashes, so
a worker thread lets the loop go on. The hash an unknown login is checked against (so that
both paths take the same time) is made at the first such check, not at import: every
process that imports the storage layer (each ``aiguillage`` command) would otherwise pay
for it at start.
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults: RFC 9106's second recommended option (Argon2id, t=3, 64 MiB,
# p=4), above OWASP's minimum. A hash carries its parameters, so a hash made with other
# ones (an earlier release's, or the test suite's cheaper ones) is still checked right.
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _matches(stored: str | None, password: str) -> bool:
    try:
        verified = _hasher.verify(stored if stored is not None else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return verified and stored is not None


async def password_matches(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash; ``None`` (no such login) never
    does, after the same work as a real check."""
    return await asyncio.to_thread(_matches, stored, password)


Account = TypeVar("Account")


async def verified(account: tuple[Account, str] | None, password: str) -> Account | None:
    """The account (with its stored hash) if ``password`` is its password; an unknown
    login (``None``) costs the same check and is never let in."""
    if await password_matches(None if account is None else account[1], password):
        assert account is not None
        return account[0]
    return None
