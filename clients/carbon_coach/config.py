"""The coach's settings, built once by ``__main__`` (or a test) and passed down."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from clients.carbon_coach.footprint import EmissionFactor
from clients.sdk import ClientAuth, ClientSecretBasic, PrivateKeyJWT

__all__ = ["DEFAULT_FACTOR_SOURCE", "CoachConfig"]

DEFAULT_FACTOR_SOURCE = "ADEME, Base Empreinte®, électricité — mix moyen France, consommation, 2022"


class CoachConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    issuer: str
    client_id: str
    client_secret: SecretStr | None = None
    private_jwk: dict[str, Any] | None = Field(default=None, repr=False)
    kid: str | None = None
    host: str = "127.0.0.1"
    port: int = 8002
    # The URL the resident's browser uses for the coach; the callback is derived from it
    # and must match a redirect URI registered at the broker byte for byte.
    public_url: str | None = None
    holder: str = "enedis"
    emission_factor: Decimal = Decimal("0.052")  # kgCO2e per kWh
    emission_factor_source: str = DEFAULT_FACTOR_SOURCE
    max_sessions: int = 10_000

    @model_validator(mode="after")
    def _one_client_auth(self) -> CoachConfig:
        if (self.client_secret is None) == (self.private_jwk is None):
            raise ValueError("give exactly one of client_secret and private_jwk")
        if self.private_jwk is not None and not self.kid:
            raise ValueError("private_jwk needs its kid")
        return self

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/callback"

    @property
    def dashboard_url(self) -> str:
        return self.issuer.rstrip("/") + "/"

    @property
    def issuer_origin(self) -> str:
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def factor(self) -> EmissionFactor:
        return EmissionFactor(self.emission_factor, self.emission_factor_source)

    def client_auth(self) -> ClientAuth:
        if self.private_jwk is not None and self.kid is not None:
            return PrivateKeyJWT(self.private_jwk, self.kid)
        assert self.client_secret is not None  # guaranteed by _one_client_auth
        return ClientSecretBasic(self.client_secret.get_secret_value())
