"""Checks on the authorization response the browser brings back (RFC 6749 §4.1.2, RFC 9207).

Pure functions: no I/O, so that every rule here is unit-tested and none is skipped by a
caller that forgets to await something.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from clients.sdk.errors import IssuerMismatch, ProtocolViolation, StateMismatch, oauth_error
from clients.sdk.models import PendingAuthorization

__all__ = ["check_callback"]


def check_callback(query: Mapping[str, str], pending: PendingAuthorization, issuer: str) -> str:
    """Return the authorization code, or raise why this callback must not be used.

    Order matters: state first (is this callback ours at all?), then the issuer (is it from
    the broker we sent the resident to?), and only then is an ``error`` believed. An error
    from a forged or mixed-up callback must not make us drop a good session.
    """
    state = query.get("state")
    if state is None or not hmac.compare_digest(state.encode(), pending.state.encode()):
        raise StateMismatch("the callback state does not match the pending authorization")
    # The broker always sends iss (docs/wire.md), so a missing one is a mix-up signal too.
    iss = query.get("iss")
    if iss is None or iss != issuer:
        raise IssuerMismatch("the callback iss is not the configured issuer")
    error = query.get("error")
    if error is not None:
        raise oauth_error(error, query.get("error_description"), None)
    code = query.get("code")
    if not code:
        raise ProtocolViolation("the callback carries neither code nor error")
    return code
