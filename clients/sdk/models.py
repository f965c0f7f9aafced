"""The shapes exchanged with the broker (docs/wire.md), as pydantic models.

Requests we build are validated before they leave, so a typo fails here rather than as a
broker 400. Responses are parsed leniently (unknown members are kept, never refused): the
broker may add members, and a client that breaks on them would break in production.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "AuthorizationDetail",
    "DataWindow",
    "Grant",
    "PendingAuthorization",
    "Problem",
    "TokenSet",
]

# Same grammar as the broker's: calendar durations only (P1Y, P12M, P2W, P30D, P1Y6M).
# Spelled without look-ahead (pydantic's regex engine has none); "P" alone does not match.
_DURATION = r"^P(?:\d+Y(?:\d+M)?(?:\d+W)?(?:\d+D)?|\d+M(?:\d+W)?(?:\d+D)?|\d+W(?:\d+D)?|\d+D)$"
Duration = Annotated[str, Field(pattern=_DURATION)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
Frequency = Literal["one-off", "daily", "continuous"]


class DataWindow(BaseModel):
    """How far back from the consent the service may read, and whether later data counts."""

    model_config = ConfigDict(extra="allow", frozen=True)

    history: Duration = "P12M"
    include_future: bool = True


class AuthorizationDetail(BaseModel):
    """One RFC 9396 ``personal_data_transfer`` detail: what is asked, or what was granted."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: Literal["personal_data_transfer"] = "personal_data_transfer"
    holder: Name
    resources: Annotated[list[Name], Field(min_length=1)]
    purpose: Name
    data_window: DataWindow = DataWindow()
    frequency: Frequency = "one-off"
    duration: Duration = "P1Y"

    @field_validator("resources")
    @classmethod
    def _no_duplicates(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("resources must not repeat")
        return value

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class PendingAuthorization(BaseModel):
    """What to keep server-side between the redirect to the broker and the callback.

    Serialise it with ``model_dump_json()`` and restore it with ``model_validate_json()``.
    Never put it in a client-side cookie: the code verifier must stay secret (RFC 7636 §1).
    """

    model_config = ConfigDict(frozen=True)

    url: str
    state: str = Field(repr=False)
    code_verifier: str = Field(repr=False)
    redirect_uri: str


class TokenSet(BaseModel):
    """The tokens of one grant. The refresh token rotates: always keep the newest one."""

    model_config = ConfigDict(frozen=True)

    access_token: str = Field(repr=False)
    token_type: str = "Bearer"  # noqa: S105 - the RFC 6750 scheme name, not a secret
    refresh_token: str | None = Field(default=None, repr=False)
    expires_at: datetime
    grant_id: str
    authorization_details: list[AuthorizationDetail] = []

    @classmethod
    def from_response(
        cls, payload: Mapping[str, Any], now: datetime, previous: TokenSet | None = None
    ) -> TokenSet:
        """Build from a token endpoint answer; members a refresh answer omits are carried over."""
        expires_in = int(payload.get("expires_in", 0))
        fields: dict[str, Any] = {
            "access_token": payload["access_token"],
            "token_type": payload.get("token_type", "Bearer"),
            "expires_at": now + timedelta(seconds=expires_in),
        }
        # RFC 6749 §6 lets a refresh answer omit the refresh token (keep the old one).
        for name in ("refresh_token", "grant_id", "authorization_details"):
            if name in payload:
                fields[name] = payload[name]
            elif previous is not None:
                fields[name] = getattr(previous, name)
        return cls.model_validate(fields)

    def is_expired(
        self, now: datetime | None = None, leeway: timedelta = timedelta(seconds=30)
    ) -> bool:
        """True a little before expiry, so that a request never leaves with a dying token."""
        moment = now if now is not None else datetime.now(UTC)
        return moment + leeway >= self.expires_at

    def granted_resources(self, holder: str) -> set[str]:
        return {r for d in self.authorization_details if d.holder == holder for r in d.resources}


class Grant(BaseModel):
    """A grant as OpenID Grant Management shows it (``GET /oauth/grants/{grant_id}``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    grant_id: str
    status: str
    authorization_details: list[AuthorizationDetail] = []
    created_at: datetime | None = None
    expires_at: datetime | None = None
    holder_linked: bool | None = None


class Problem(BaseModel):
    """An RFC 9457 problem from the data plane; switch on ``reason``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = "about:blank"
    title: str = ""
    status: int
    detail: str | None = None
    reason: str | None = None
    grant_id: str | None = None
    holder_error: str | None = None
