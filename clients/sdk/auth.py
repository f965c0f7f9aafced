"""How the service proves who it is to the broker's OAuth endpoints.

Two methods, as the broker accepts (docs/wire.md): ``client_secret_basic`` (RFC 6749 §2.3.1)
and ``private_key_jwt`` (RFC 7523 §2.2, OpenID Connect Core §9). Each adds headers and form
members to a request; the client decides nothing else about authentication.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey, import_key

__all__ = ["ClientAuth", "ClientSecretBasic", "PrivateKeyJWT", "RequestAuth"]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class RequestAuth:
    """What one request must carry: headers, and members to add to its form body."""

    headers: dict[str, str]
    form: dict[str, str]


@dataclass(frozen=True, repr=False)
class ClientSecretBasic:
    """HTTP Basic with the form-urlencoded client_id and secret (RFC 6749 §2.3.1)."""

    secret: str

    def for_request(self, client_id: str, audience: str) -> RequestAuth:
        # §2.3.1 form-urlencodes both parts before Base64, so a ':' in either survives.
        pair = f"{quote(client_id, safe='')}:{quote(self.secret, safe='')}"
        token = base64.b64encode(pair.encode("utf-8")).decode("ascii")
        return RequestAuth(headers={"Authorization": f"Basic {token}"}, form={})

    def for_bodiless_request(self, client_id: str, audience: str) -> dict[str, str]:
        return self.for_request(client_id, audience).headers

    def __repr__(self) -> str:
        return "ClientSecretBasic(secret=<hidden>)"


@dataclass(frozen=True, repr=False)
class PrivateKeyJWT:
    """A short-lived assertion signed with the service's private key (RFC 7523 §3).

    ``private_jwk`` is the private key as a JWK dict; its public half must be in the JWKS the
    service registered, under ``kid``. EC P-256 keys sign with ES256, RSA keys with RS256.
    """

    private_jwk: Mapping[str, Any]
    kid: str
    lifetime: int = 60
    clock: Callable[[], float] = field(default=time.time)

    def __post_init__(self) -> None:
        key = import_key(dict(self.private_jwk))
        if not isinstance(key, ECKey | RSAKey) or not key.is_private:
            raise ValueError("private_key_jwt needs a private EC P-256 or RSA key")
        if isinstance(key, ECKey) and key.curve_name != "P-256":
            raise ValueError("EC keys must be on P-256 (ES256)")

    @property
    def algorithm(self) -> str:
        return "ES256" if self.private_jwk.get("kty") == "EC" else "RS256"

    def assertion(self, client_id: str, audience: str) -> str:
        now = int(self.clock())
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now + self.lifetime,
            # A fresh jti per assertion lets the broker refuse replays (RFC 7523 §3, item 7).
            "jti": secrets.token_urlsafe(24),
        }
        header = {"alg": self.algorithm, "kid": self.kid, "typ": "JWT"}
        key = import_key(dict(self.private_jwk))
        return jwt.encode(header, claims, key, algorithms=[self.algorithm])

    def for_request(self, client_id: str, audience: str) -> RequestAuth:
        form = {
            "client_id": client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(client_id, audience),
        }
        return RequestAuth(headers={}, form=form)

    def for_bodiless_request(self, client_id: str, audience: str) -> dict[str, str]:
        # GET and DELETE on /oauth/grants carry no form; docs/wire.md says the client's
        # credentials travel as a bearer, so the assertion goes in the Authorization header.
        return {"Authorization": f"Bearer {self.assertion(client_id, audience)}"}

    def __repr__(self) -> str:
        return f"PrivateKeyJWT(kid={self.kid!r}, alg={self.algorithm})"


ClientAuth = ClientSecretBasic | PrivateKeyJWT
