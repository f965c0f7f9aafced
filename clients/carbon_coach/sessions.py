"""Browser sessions: a random cookie naming state kept in this process's memory.

This is a demo service: one process, nothing survives a restart, and the oldest sessions
are dropped past ``max_sessions``. A real service would keep the same fields in its own
store (the SDK's models serialise to JSON for that) and persist rotated refresh tokens.
"""

from __future__ import annotations

import hmac
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date

from clients.sdk import PendingAuthorization, TokenManager

__all__ = ["COOKIE_NAME", "CoachSession", "SessionStore"]

COOKIE_NAME = "coach_session"


@dataclass
class CoachSession:
    id: str = field(repr=False)
    csrf_token: str = field(repr=False)
    pending: PendingAuthorization | None = None
    tokens: TokenManager | None = None
    connected_on: date | None = None
    last_error_reason: str | None = None

    @property
    def connected(self) -> bool:
        return self.tokens is not None

    @property
    def grant_id(self) -> str | None:
        return self.tokens.token_set.grant_id if self.tokens is not None else None

    def csrf_ok(self, submitted: str | None) -> bool:
        return submitted is not None and hmac.compare_digest(
            submitted.encode(), self.csrf_token.encode()
        )

    def drop_tokens(self, reason: str | None) -> None:
        self.tokens = None
        self.connected_on = None
        self.last_error_reason = reason


class SessionStore:
    def __init__(self, max_sessions: int = 10_000) -> None:
        self._sessions: OrderedDict[str, CoachSession] = OrderedDict()
        self._max = max_sessions

    def get(self, session_id: str | None) -> CoachSession | None:
        if session_id is None or session_id not in self._sessions:
            return None
        self._sessions.move_to_end(session_id)
        return self._sessions[session_id]

    def drop_grant(self, grant_id: str, reason: str) -> int:
        """Forget the tokens of a grant the broker says has ended; return how many sessions
        held them."""
        holding = [s for s in self._sessions.values() if s.grant_id == grant_id]
        for session in holding:
            session.drop_tokens(reason)
        return len(holding)

    def create(self) -> CoachSession:
        session = CoachSession(id=secrets.token_urlsafe(32), csrf_token=secrets.token_urlsafe(32))
        self._sessions[session.id] = session
        while len(self._sessions) > self._max:
            self._sessions.popitem(last=False)
        return session
