"""Aiguillage SDK: ask a resident for consent, get tokens, fetch their data, end the grant.

It speaks HTTP only (docs/wire.md) and depends on nothing of the broker::

    client = AiguillageClient(issuer, "carbon-coach", ClientSecretBasic(secret), session)
    pending = await client.start_authorization(redirect_uri, [detail])  # keep server-side
    # ... send the browser to pending.url; on the callback:
    code = client.parse_callback(request.query, pending)
    tokens = TokenManager(client, await client.exchange_code(code, pending), on_rotate=save)
    async with tokens.fetch("enedis", "daily_consumption", start, end) as stream:
        async for chunk in stream.iter_chunks():
            ...
    # at the notification endpoint (RFC 8935), with the raw body of the POST:
    notice = await client.verify_notice(body)  # then drop the grant's tokens if it ended
"""

from clients.sdk.auth import ClientAuth, ClientSecretBasic, PrivateKeyJWT
from clients.sdk.client import AiguillageClient
from clients.sdk.data import DataStream
from clients.sdk.errors import (
    AiguillageError,
    AuthorizationDenied,
    DataAccessDenied,
    InvalidGrant,
    InvalidNotice,
    InvalidToken,
    IssuerMismatch,
    OAuthError,
    ProtocolViolation,
    StateMismatch,
    TransportError,
)
from clients.sdk.models import (
    AuthorizationDetail,
    DataWindow,
    Grant,
    PendingAuthorization,
    Problem,
    TokenSet,
)
from clients.sdk.notices import Notice
from clients.sdk.tokens import OnRotate, TokenManager

__all__ = [
    "AiguillageClient",
    "AiguillageError",
    "AuthorizationDenied",
    "AuthorizationDetail",
    "ClientAuth",
    "ClientSecretBasic",
    "DataAccessDenied",
    "DataStream",
    "DataWindow",
    "Grant",
    "InvalidGrant",
    "InvalidNotice",
    "InvalidToken",
    "IssuerMismatch",
    "Notice",
    "OAuthError",
    "OnRotate",
    "PendingAuthorization",
    "PrivateKeyJWT",
    "Problem",
    "ProtocolViolation",
    "StateMismatch",
    "TokenManager",
    "TokenSet",
    "TransportError",
]
