"""What a service is told when its consent changes, before it becomes a signed Security Event
Token (RFC 8417) in ``broker/notices``.

A notice is decided inside the use case that changes the consent and is stored in the
same transaction (the outbox, ``consent.ports.Outbox``), so a consent never ends without
its notice on record and a notice never leaves for a change that was rolled back. Its
``jti`` is fixed here, once: every delivery attempt repeats it, which is what lets the
service drop duplicates (delivery is at least once).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from consent.model import Consent

EVENT_BASE = "https://aiguillage.fr/secevent/"


class NoticeEvent(StrEnum):
    REVOKED = "consent-revoked"
    EXPIRED = "consent-expired"
    PAUSED = "consent-paused"
    RESUMED = "consent-resumed"
    NARROWED = "consent-narrowed"
    RENEWAL_REQUESTED = "renewal-requested"

    @property
    def uri(self) -> str:
        return EVENT_BASE + self.value

    @property
    def ends_access(self) -> bool:
        return self in (NoticeEvent.REVOKED, NoticeEvent.EXPIRED)


class ServiceNotice(BaseModel):
    model_config = ConfigDict(frozen=True)

    jti: str
    event: NoticeEvent
    client_id: str
    grant_id: str
    state: str
    revision: int
    reason: str | None = None
    by: str | None = None  # the kind of actor only ("resident"), never who
    occurred_at: datetime

    @classmethod
    def about(cls, event: NoticeEvent, consent: Consent, now: datetime) -> ServiceNotice:
        by = consent.ended_by.partition(":")[0] if consent.ended_by else None
        return cls(
            jti=f"ntc_{uuid.uuid4().hex}",
            event=event,
            client_id=consent.service,
            grant_id=consent.id,
            state=consent.state.value,
            revision=consent.revision,
            reason=consent.end_reason if event.ends_access else None,
            by=by if event.ends_access else None,
            occurred_at=now,
        )
