"""PKCE (RFC 7636), S256 only (FAPI 2.0 baseline; ``plain`` is refused at PAR)."""

from __future__ import annotations

import hmac
import re

from authlib.oauth2.rfc7636 import create_s256_code_challenge

# §4.1 and §4.2: 43 to 128 characters of the unreserved set, for verifier and challenge.
_UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]{43,128}", re.ASCII)


def well_formed(value: str) -> bool:
    return _UNRESERVED.fullmatch(value) is not None


def verify_s256(verifier: str, challenge: str) -> bool:
    """§4.6: BASE64URL(SHA256(ASCII(verifier))) equals the challenge sent at PAR."""
    if not well_formed(verifier):
        return False
    computed: str = create_s256_code_challenge(verifier)
    return hmac.compare_digest(computed, challenge)
