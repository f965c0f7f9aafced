"""What a simulated generic holder knows, and its memory (one object per application)."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from providers.enedis.simulator.config import RegisteredClient
from providers.enedis.simulator.quota import SlidingWindow


class Account(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject: str = Field(min_length=1, max_length=64)
    name: str


def _utc_today() -> date:
    return datetime.now(UTC).date()


class GenericSimulatorConfig(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    holder_id: str
    title: str
    kind: Literal["water", "mobility"]
    clients: dict[str, RegisteredClient]
    accounts: tuple[Account, ...]
    access_token_lifetime_s: int = Field(default=3600, ge=1)
    quota_per_second: int = Field(default=5, ge=1)
    # Where to send signed revocation notices when a resident withdraws consent here.
    webhook_url: str | None = None
    webhook_secret: str | None = Field(default=None, repr=False)
    today: date | Callable[[], date] = _utc_today
    clock: Callable[[], float] = time.time

    def current_date(self) -> date:
        return self.today if isinstance(self.today, date) else self.today()


@dataclass(frozen=True)
class Grant:
    client_id: str
    subject: str
    expires_at: float = 0.0
    redirect_uri: str = ""
    challenge: str = ""


@dataclass
class GenericState:
    config: GenericSimulatorConfig
    quota: SlidingWindow
    pages: dict[str, Grant] = field(default_factory=dict)  # csrf → the request shown
    codes: dict[str, Grant] = field(default_factory=dict)
    access: dict[str, Grant] = field(default_factory=dict)
    refresh: dict[str, Grant] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    notices: list[int] = field(default_factory=list)  # the broker's answers to our webhook

    @classmethod
    def create(cls, config: GenericSimulatorConfig) -> GenericState:
        quota = SlidingWindow(limit=config.quota_per_second, seconds=1.0, clock=config.clock)
        return cls(config=config, quota=quota)

    def issue(self, client_id: str, subject: str) -> dict[str, object]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
        lifetime = self.config.access_token_lifetime_s
        self.access[access] = Grant(client_id, subject, self.config.clock() + lifetime)
        self.refresh[refresh] = Grant(client_id, subject)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "refresh_token": refresh,
            "sub": subject,
        }

    def withdraw(self, subject: str) -> int:
        """The resident withdraws at the holder: every token of theirs stops working."""
        gone = 0
        for table in (self.access, self.refresh):
            for key in [k for k, g in table.items() if g.subject == subject]:
                del table[key]
                gone += 1
        return gone


GENERIC_STATE = web.AppKey("generic_simulator_state", GenericState)


def state_of(request: web.Request) -> GenericState:
    return request.app[GENERIC_STATE]
