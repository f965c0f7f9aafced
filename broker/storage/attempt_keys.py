"""Keys of the failed-login table (``login_attempts.login``), one namespace per surface.

A name typed in a login form goes under its surface's prefix (``resident:``,
``console:``), so that no name typed on one form can count against an account of the
other. A key too long for the column with its prefix is counted under the name's SHA-256
(no real login is that long, and the insert must never fail on an attacker's long name).
"""

from __future__ import annotations

import hashlib

KEY_LENGTH = 254  # login_attempts.login


def attempt_key(prefix: str, name: str) -> str:
    key = prefix + name
    if len(key) > KEY_LENGTH:
        key = f"{prefix}sha256:{hashlib.sha256(name.encode()).hexdigest()}"
    return key
