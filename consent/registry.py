"""What holders and services declare: the holder manifest and the service registration.

These are the domain's view. Secrets (holder client secrets, service client secrets) are
not here: the broker keeps them, encrypted or hashed, next to these records.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationInfo, field_validator

from consent.details import Name
from consent.durations import CalendarDuration
from consent.errors import InvalidDuration

_PARAM = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"
_PATH = r"^/(?:[A-Za-z0-9_./-]|\{[a-z_]{1,32}\})*$"


class ResourceParameters(BaseModel):
    """How the holder names the range of a call (``[start; end[``) in its query string."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: Annotated[str, Field(pattern=_PARAM)] = "start"
    end: Annotated[str, Field(pattern=_PARAM)] = "end"


class ResourceSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    # ``{name}`` segments are filled in by the protocol's adapter (GRDF: ``{id_pce}``).
    path: Annotated[str, Field(pattern=_PATH, max_length=256)]
    description_fr: str = Field(min_length=1, max_length=300)
    description_en: str = Field(default="", max_length=300)
    max_days_per_call: int = Field(default=365, ge=1, le=3650)
    history_days: int = Field(default=1110, ge=1, le=36500)
    dated: bool = True  # customer data (contracts, identity) takes no start/end
    parameters: ResourceParameters = ResourceParameters()


class ContractTerms(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    requests_per_second: float = Field(default=5, gt=0)
    requests_per_hour: int = Field(default=1000, gt=0)
    bytes_per_day: int = Field(default=500_000_000, gt=0)
    allowed_purposes: list[Name] = Field(default_factory=list)  # empty: any declared purpose
    blocked_services: list[str] = Field(default_factory=list)


class HolderManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Name
    name: str = Field(min_length=1, max_length=120)
    protocol: Name
    base_url: HttpUrl
    authorization_endpoint: HttpUrl
    token_endpoint: HttpUrl
    revocation_endpoint: HttpUrl | None = None
    max_consent_duration: str = "P3Y"
    resources: Annotated[list[ResourceSpec], Field(min_length=1, max_length=64)]
    contract: ContractTerms = ContractTerms()

    @field_validator("max_consent_duration")
    @classmethod
    def _is_duration(cls, value: str) -> str:
        try:
            CalendarDuration.parse(value)
        except InvalidDuration as error:
            # pydantic reports only ValueError as a ValidationError; anything else escapes.
            raise ValueError(error.detail) from error
        return value

    @field_validator("resources")
    @classmethod
    def _unique_names(cls, value: list[ResourceSpec]) -> list[ResourceSpec]:
        names = [r.name for r in value]
        if len(set(names)) != len(names):
            raise ValueError("resource names must be unique")
        return value

    def resource(self, name: str) -> ResourceSpec | None:
        return next((r for r in self.resources if r.name == name), None)


class ServiceStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SUSPENDED = "suspended"


class DeclaredPurpose(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Name
    sentence_fr: str = Field(min_length=1, max_length=500)
    sentence_en: str = Field(default="", max_length=500)


class ServiceRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")]
    name: str = Field(min_length=1, max_length=120)
    # Plain strings, compared byte for byte (RFC 9700 §4.1.3): a URL type would normalise them.
    redirect_uris: Annotated[list[str], Field(min_length=1, max_length=10)]
    purposes: Annotated[list[DeclaredPurpose], Field(min_length=1)]
    privacy_policy_url: HttpUrl
    retention: str = "P1Y"
    notification_endpoint: HttpUrl | None = None
    # private_key_jwt: the service's public keys inline, or where it publishes them (exactly
    # one of the two); neither means client_secret_basic.
    jwks: dict[str, object] | None = None
    jwks_uri: HttpUrl | None = None
    status: ServiceStatus = ServiceStatus.PENDING

    @field_validator("redirect_uris")
    @classmethod
    def _absolute_without_fragment(cls, value: list[str]) -> list[str]:
        for uri in value:
            parts = urlsplit(uri)
            if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
                raise ValueError(f"{uri!r} must be an absolute http(s) URI without fragment")
            if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
                raise ValueError(f"{uri!r}: plain http is allowed on loopback only")
        return value

    @field_validator("jwks_uri")
    @classmethod
    def _one_key_source_https(cls, value: HttpUrl | None, info: ValidationInfo) -> HttpUrl | None:
        if value is None:
            return value
        if info.data.get("jwks") is not None:
            raise ValueError("give jwks or jwks_uri, not both")
        # Plain http is checked again when fetched: only with the test/demo setting.
        if value.scheme == "http" and value.host not in ("127.0.0.1", "localhost", "[::1]"):
            raise ValueError("jwks_uri must be https (plain http on loopback only)")
        return value

    def purpose(self, code: str) -> DeclaredPurpose | None:
        return next((p for p in self.purposes if p.code == code), None)
