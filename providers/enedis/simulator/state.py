"""The simulator's memory: issued tokens, recorded consents, consent pages in flight, stats.

Everything lives in one object per application (under a typed AppKey), so two simulators
in one test process never share anything.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from aiohttp import web

from providers.enedis.simulator.config import SimulatorConfig
from providers.enedis.simulator.durations import ConsentDuration
from providers.enedis.simulator.quota import Quotas

# A consent page left open longer than this must be reloaded before it can be answered.
PAGE_LIFETIME_S = 15 * 60.0


@dataclass(frozen=True)
class IssuedToken:
    client_id: str
    expires_at: float


@dataclass(frozen=True)
class PendingAuthorization:
    """One rendered consent page, keyed by its single-use CSRF token."""

    client_id: str
    redirect_uri: str
    state: str | None
    duration: ConsentDuration
    shown_at: float


@dataclass
class SimulatorState:
    config: SimulatorConfig
    quotas: Quotas
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    consents: dict[tuple[str, str], date] = field(default_factory=dict)
    pending: dict[str, PendingAuthorization] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)

    @classmethod
    def create(cls, config: SimulatorConfig) -> SimulatorState:
        quotas = Quotas(
            per_second=config.quota_per_second,
            per_hour=config.quota_per_hour,
            clock=config.clock,
        )
        return cls(config=config, quotas=quotas)

    def issue_token(self, client_id: str) -> str:
        value = secrets.token_urlsafe(32)
        expires_at = self.config.clock() + self.config.token_lifetime_s
        self.tokens[value] = IssuedToken(client_id, expires_at)
        return value

    def client_for_token(self, value: str) -> str | None:
        token = self.tokens.get(value)
        if token is None:
            return None
        if self.config.clock() >= token.expires_at:
            del self.tokens[value]
            return None
        return token.client_id

    def revoke_token(self, value: str, client_id: str) -> None:
        # RFC 7009 §2.1: a client may only revoke its own tokens; others are left alone.
        token = self.tokens.get(value)
        if token is not None and token.client_id == client_id:
            del self.tokens[value]

    def open_page(self, pending: PendingAuthorization) -> str:
        self._forget_stale_pages()
        csrf = secrets.token_urlsafe(24)
        self.pending[csrf] = pending
        return csrf

    def take_page(self, csrf: str) -> PendingAuthorization | None:
        """The page this token was issued for, once; None if unknown, used or stale."""
        self._forget_stale_pages()
        return self.pending.pop(csrf, None)

    def grant_consent(self, client_id: str, usage_point_id: str, duration: ConsentDuration) -> None:
        self.consents[(client_id, usage_point_id)] = duration.after(self.config.current_date())

    def has_live_consent(self, client_id: str, usage_point_id: str) -> bool:
        expires_on = self.consents.get((client_id, usage_point_id))
        return expires_on is not None and self.config.current_date() < expires_on

    def withdraw_consent(self, client_id: str, usage_point_id: str) -> bool:
        return self.consents.pop((client_id, usage_point_id), None) is not None

    def _forget_stale_pages(self) -> None:
        oldest_allowed = self.config.clock() - PAGE_LIFETIME_S
        for csrf in [k for k, p in self.pending.items() if p.shown_at < oldest_allowed]:
            del self.pending[csrf]


STATE = web.AppKey("enedis_simulator_state", SimulatorState)


def state_of(request: web.Request) -> SimulatorState:
    return request.app[STATE]
