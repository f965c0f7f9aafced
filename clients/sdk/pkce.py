"""PKCE (RFC 7636) with S256, and the random ``state`` that ties a callback to its browser."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import NamedTuple

__all__ = ["PkcePair", "new_pkce_pair", "new_state", "s256_challenge"]


class PkcePair(NamedTuple):
    verifier: str
    challenge: str


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(verifier))) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_pkce_pair() -> PkcePair:
    # 64 random bytes give an 86-character verifier: inside the 43..128 range of §4.1,
    # made only of unreserved characters, and far beyond guessing.
    verifier = secrets.token_urlsafe(64)
    return PkcePair(verifier, s256_challenge(verifier))


def new_state() -> str:
    return secrets.token_urlsafe(32)
