"""What a simulated Enedis knows before anyone calls it: clients, customers, quotas, time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict, Field


class RegisteredClient(BaseModel):
    """A Data Connect application: its secret and the redirect URIs Enedis registered."""

    model_config = ConfigDict(frozen=True)

    secret: str = Field(min_length=1, repr=False)
    redirect_uris: tuple[str, ...] = Field(min_length=1)


class DemoAddress(BaseModel):
    model_config = ConfigDict(frozen=True)

    street: str
    postal_code: str
    city: str
    insee_code: str
    latitude: str = "45.767"
    longitude: str = "4.834"


class DemoCustomer(BaseModel):
    """A fictional customer who can log in to the consent page without a password."""

    model_config = ConfigDict(frozen=True)

    usage_point_id: str = Field(pattern=r"^[0-9]{14}$")
    title: str = "Mme"
    firstname: str
    lastname: str
    address: DemoAddress
    email: str = "resident@example.org"
    phone: str = "0400000000"
    activation_date: date = date(2019, 3, 1)

    @property
    def name(self) -> str:
        return f"{self.firstname} {self.lastname}"


DEMO_CUSTOMER = DemoCustomer(
    usage_point_id="12345678901234",
    firstname="Camille",
    lastname="Démo",
    address=DemoAddress(
        street="12 rue de la République", postal_code="69001", city="Lyon", insee_code="69381"
    ),
    email="camille.demo@example.org",
)


def _utc_today() -> date:
    return datetime.now(UTC).date()


class SimulatorConfig(BaseModel):
    """Everything the simulator needs; ``today`` and ``clock`` make tests deterministic.

    ``today`` decides what "yesterday's data" and consent expiry mean; ``clock`` (seconds,
    monotonic) drives token lifetimes and quota windows.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    clients: dict[str, RegisteredClient]
    customers: tuple[DemoCustomer, ...] = (DEMO_CUSTOMER,)
    quota_per_second: int = Field(default=5, ge=1)
    quota_per_hour: int = Field(default=1000, ge=1)
    token_lifetime_s: int = Field(default=12600, ge=1)
    today: date | Callable[[], date] = _utc_today
    clock: Callable[[], float] = time.monotonic

    def current_date(self) -> date:
        return self.today if isinstance(self.today, date) else self.today()

    def customer(self, usage_point_id: str) -> DemoCustomer | None:
        return next((c for c in self.customers if c.usage_point_id == usage_point_id), None)


DEMO_CLIENT_ID = "aiguillage-demo"


DEMO_BROKER = "http://127.0.0.1:8000"


def demo_config(broker: str = DEMO_BROKER) -> SimulatorConfig:
    """The configuration ``python -m providers.enedis.simulator`` runs with: the demo
    client, whose one redirect URI is the callback of the broker at ``broker`` (its
    issuer URL, e.g. the load balancer's)."""
    return SimulatorConfig(
        clients={
            DEMO_CLIENT_ID: RegisteredClient(
                secret="demo-secret",  # noqa: S106 - a published demo credential, not a secret
                redirect_uris=(f"{broker.rstrip('/')}/holders/enedis/callback",),
            )
        }
    )
