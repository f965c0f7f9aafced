"""The consent and its state machine.

::

    REQUESTED ──resident accepts──▶ AWAITING_HOLDER ──holder link ok──▶ ACTIVE
        │                               │                                 │
        ├─resident refuses─▶ REFUSED    └─holder refuses/times out─▶ FAILED
        └─not answered in time─▶ TIMED_OUT
    ACTIVE ──resident revokes──▶ REVOKED_BY_RESIDENT
    ACTIVE ──holder revokes or blacklists the service──▶ REVOKED_BY_HOLDER
    ACTIVE ──service ends it (DELETE grant)──▶ TERMINATED_BY_SERVICE
    ACTIVE ──expires_at passes──▶ EXPIRED
    ACTIVE ──resident pauses──▶ PAUSED ──resident resumes──▶ ACTIVE
    ACTIVE|PAUSED ──resident narrows scope, window or end date──▶ same state (a new revision)
    ACTIVE|PAUSED|AWAITING_HOLDER ──revoked by anyone above──▶ REVOKED_* / TERMINATED_BY_SERVICE
    ACTIVE|PAUSED ──expires_at passes──▶ EXPIRED

A paused consent is kept whole (tokens, holder link, end date) but serves no transfer;
it still ends at its date and can still be revoked. A resident may also withdraw while
the holder link is pending (AWAITING_HOLDER), which is what an erased account needs.

Every transition names its source states; anything else raises ``IllegalTransition``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from consent.details import AuthorizationDetail, DataWindow, Frequency
from consent.durations import CalendarDuration
from consent.errors import IllegalTransition, InvalidRequest


class ConsentState(StrEnum):
    REQUESTED = "requested"
    AWAITING_HOLDER = "awaiting_holder"
    ACTIVE = "active"
    PAUSED = "paused"
    REFUSED = "refused"
    TIMED_OUT = "timed_out"
    FAILED = "failed"
    REVOKED_BY_RESIDENT = "revoked_by_resident"
    REVOKED_BY_HOLDER = "revoked_by_holder"
    TERMINATED_BY_SERVICE = "terminated_by_service"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        return self not in (
            ConsentState.REQUESTED,
            ConsentState.AWAITING_HOLDER,
            ConsentState.ACTIVE,
            ConsentState.PAUSED,
        )

    @property
    def is_live(self) -> bool:
        """Granted and not over: the service holds tokens, paused or not."""
        return self in (ConsentState.ACTIVE, ConsentState.PAUSED)


ActorKind = Literal["resident", "service", "holder", "operator", "system"]


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: ActorKind
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


_ENDED_BY: dict[str, ConsentState] = {
    "resident": ConsentState.REVOKED_BY_RESIDENT,
    "holder": ConsentState.REVOKED_BY_HOLDER,
    "service": ConsentState.TERMINATED_BY_SERVICE,
    # The operator acts for the holder's or the law's reasons; the resident sees it as
    # "revoked by the holder side", never as their own act.
    "operator": ConsentState.REVOKED_BY_HOLDER,
}


_LIVE = (ConsentState.ACTIVE, ConsentState.PAUSED)
_REVOCABLE = (ConsentState.AWAITING_HOLDER, ConsentState.ACTIVE, ConsentState.PAUSED)


class Delivery(StrEnum):
    PULL = "pull"
    PUSH = "push"


class Consent(BaseModel):
    """One resident's permission for one service to receive named resources from one holder."""

    model_config = ConfigDict(validate_assignment=False)

    id: str
    subject: str
    service: str
    holder: str
    holder_subject: str | None = None
    requested: AuthorizationDetail
    resources: list[str]
    purpose: str
    data_window: DataWindow
    frequency: Frequency
    delivery: Delivery = Delivery.PULL
    duration: str
    state: ConsentState = ConsentState.REQUESTED
    revision: int = 1
    created_at: datetime
    decided_at: datetime | None = None
    activated_at: datetime | None = None
    expires_at: datetime | None = None
    paused_at: datetime | None = None
    renewal_requested_at: datetime | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str | None = None

    @classmethod
    def requested_by(
        cls,
        *,
        consent_id: str,
        subject: str,
        service: str,
        detail: AuthorizationDetail,
        now: datetime,
    ) -> Consent:
        return cls(
            id=consent_id,
            subject=subject,
            service=service,
            holder=detail.holder,
            requested=detail,
            resources=list(detail.resources),
            purpose=detail.purpose,
            data_window=detail.data_window,
            frequency=detail.frequency,
            duration=detail.duration,
            created_at=now,
        )

    # -- transitions ---------------------------------------------------------------------

    def _move(self, allowed_from: tuple[ConsentState, ...], to: ConsentState) -> None:
        if self.state not in allowed_from:
            raise IllegalTransition(f"consent {self.id}: {self.state} cannot become {to}")
        self.state = to

    def accept(
        self,
        now: datetime,
        *,
        resources: list[str] | None = None,
        duration: str | None = None,
        history: str | None = None,
    ) -> None:
        """The resident says yes, or "yes, but less" (oui, non ou autrement)."""
        chosen = list(self.requested.resources) if resources is None else list(resources)
        if not chosen or not set(chosen) <= set(self.requested.resources):
            raise InvalidRequest("the resident may only keep some of the requested resources")
        chosen_duration = CalendarDuration.parse(duration or self.requested.duration)
        if chosen_duration.approx_days() > self.requested.consent_duration.approx_days():
            raise InvalidRequest("the resident may shorten the duration, not lengthen it")
        window = self.requested.data_window
        if history is not None:
            if (
                CalendarDuration.parse(history).approx_days()
                > window.history_duration.approx_days()
            ):
                raise InvalidRequest("the resident may shorten the history, not lengthen it")
            window = DataWindow(history=history, include_future=window.include_future)
        self._move((ConsentState.REQUESTED,), ConsentState.AWAITING_HOLDER)
        # Keep the requested order so receipts and screens read the same way.
        self.resources = [r for r in self.requested.resources if r in chosen]
        self.duration = str(chosen_duration)
        self.data_window = window
        self.decided_at = now
        self.expires_at = chosen_duration.after(now)

    def refuse(self, now: datetime) -> None:
        self._move((ConsentState.REQUESTED,), ConsentState.REFUSED)
        self.decided_at = now
        self._end(now, "resident", "refused")

    def time_out(self, now: datetime) -> None:
        self._move((ConsentState.REQUESTED,), ConsentState.TIMED_OUT)
        self._end(now, "system", "not answered in time")

    def link_holder(self, holder_subject: str, now: datetime) -> None:
        self._move((ConsentState.AWAITING_HOLDER,), ConsentState.ACTIVE)
        self.holder_subject = holder_subject
        self.activated_at = now

    def fail(self, now: datetime, reason: str) -> None:
        self._move((ConsentState.AWAITING_HOLDER,), ConsentState.FAILED)
        self._end(now, "holder", reason)

    def revoke(self, actor: Actor, now: datetime, reason: str) -> None:
        target = _ENDED_BY.get(actor.kind)
        if target is None:
            raise IllegalTransition(f"{actor.kind} cannot revoke a consent")
        self._move(_REVOCABLE, target)
        self._end(now, str(actor), reason)

    def expire(self, now: datetime) -> None:
        if self.expires_at is None or now < self.expires_at:
            raise IllegalTransition(f"consent {self.id} is not due to expire")
        self._move(_LIVE, ConsentState.EXPIRED)
        self._end(now, "system", "expired")

    def pause(self, now: datetime) -> None:
        """The resident stops the flow for now, without losing the consent."""
        self._move((ConsentState.ACTIVE,), ConsentState.PAUSED)
        self.paused_at = now

    def resume(self, now: datetime) -> None:
        if self.expires_at is not None and now >= self.expires_at:
            raise IllegalTransition(f"consent {self.id} has reached its end date")
        self._move((ConsentState.PAUSED,), ConsentState.ACTIVE)
        self.paused_at = None

    def request_renewal(self, now: datetime) -> None:
        """The resident asks the service to come back with a new consent before this one ends.
        Nothing is extended here: only a new consent, accepted anew, can go further."""
        if self.state not in _LIVE:
            raise IllegalTransition(f"consent {self.id}: only a live consent can be renewed")
        self.renewal_requested_at = now

    def narrow(
        self,
        now: datetime,
        *,
        resources: list[str] | None = None,
        history: str | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        """Reduce an active consent. Only ever less: never a resource, a day or a month more."""
        if self.state not in _LIVE:
            raise IllegalTransition(f"consent {self.id}: only a live consent can be narrowed")
        # Check everything before changing anything: a refused narrowing leaves no trace.
        if resources is not None and (not resources or not set(resources) <= set(self.resources)):
            raise InvalidRequest("narrowing keeps a non-empty subset of the granted resources")
        if history is not None and (
            CalendarDuration.parse(history).approx_days()
            > self.data_window.history_duration.approx_days()
        ):
            raise InvalidRequest("narrowing cannot lengthen the history")
        if expires_at is not None and (
            (self.expires_at is not None and expires_at > self.expires_at) or expires_at <= now
        ):
            raise InvalidRequest("narrowing can only bring the end date closer")
        if resources is not None:
            self.resources = [r for r in self.resources if r in resources]
        if history is not None:
            self.data_window = DataWindow(
                history=history, include_future=self.data_window.include_future
            )
        if expires_at is not None:
            self.expires_at = expires_at
        self.revision += 1

    def _end(self, now: datetime, by: str, reason: str) -> None:
        self.ended_at = now
        self.ended_by = by
        self.end_reason = reason

    # -- views ---------------------------------------------------------------------------

    def is_due_to_expire(self, now: datetime) -> bool:
        return self.state in _LIVE and self.expires_at is not None and now >= self.expires_at

    def expires_within(self, now: datetime, days: int) -> bool:
        """Live and ending in the next ``days`` days: time to warn the resident."""
        return (
            self.state in _LIVE
            and self.expires_at is not None
            and now < self.expires_at <= now + timedelta(days=days)
        )

    def window_bounds(self) -> tuple[date, date]:
        """The dates ``[first; last[`` the service may read, per the granted data window."""
        anchor = self.activated_at or self.decided_at or self.created_at
        first = self.data_window.history_duration.before(anchor).date()
        if self.data_window.include_future and self.expires_at is not None:
            last = self.expires_at.date() + timedelta(days=1)
        else:
            last = anchor.date() + timedelta(days=1)
        return first, last

    def granted_detail(self) -> AuthorizationDetail:
        return AuthorizationDetail(
            type="personal_data_transfer",
            holder=self.holder,
            resources=list(self.resources),
            purpose=self.purpose,
            data_window=self.data_window,
            frequency=self.frequency,
            duration=self.duration,
        )
