"""``parse_notice`` accepts only a broker-signed Security Event Token for this client, fresh,
with one known event; anything else is InvalidNotice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from broker.crypto import Signer
from clients.sdk import InvalidNotice
from clients.sdk.notices import EVENT_BASE, parse_notice

ISSUER = "https://broker.example"
CLIENT = "carbon-coach"
NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def _claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "iat": int(NOW.timestamp()),
        "jti": "ntc_1",
        "toe": int(NOW.timestamp()) - 5,
        "events": {
            EVENT_BASE + "consent-revoked": {
                "grant_id": "grant_1",
                "state": "revoked_by_resident",
                "revision": 1,
                "reason": "revoked_by_resident",
                "by": "resident",
            }
        },
    }
    claims.update(overrides)
    return claims


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer.load_or_create(tmp_path / "key.json")


def test_a_broker_signed_notice_parses_into_what_happened(signer: Signer) -> None:
    token = signer.sign(_claims(), typ="secevent+jwt")
    notice = parse_notice(token, signer.jwks(), issuer=ISSUER, client_id=CLIENT, now=NOW)
    assert (notice.event, notice.grant_id, notice.by, notice.jti) == (
        "consent-revoked",
        "grant_1",
        "resident",
        "ntc_1",
    )
    assert notice.ends_access


@pytest.mark.parametrize(
    "claims",
    [
        _claims(iss="https://evil.example"),
        _claims(aud="another-service"),
        _claims(iat=int((NOW - timedelta(hours=1)).timestamp())),
        _claims(iat=int((NOW + timedelta(hours=1)).timestamp())),
        _claims(events={}),
        _claims(events={"https://other.example/event": {}}),
    ],
    ids=["issuer", "audience", "old", "future", "no-event", "foreign-event"],
)
def test_a_notice_failing_a_check_is_refused(signer: Signer, claims: dict[str, Any]) -> None:
    token = signer.sign(claims, typ="secevent+jwt")
    with pytest.raises(InvalidNotice):
        parse_notice(token, signer.jwks(), issuer=ISSUER, client_id=CLIENT, now=NOW)


def test_a_notice_signed_by_another_key_or_with_another_typ_is_refused(
    signer: Signer, tmp_path: Path
) -> None:
    other = Signer.load_or_create(tmp_path / "other.json")
    with pytest.raises(InvalidNotice):
        parse_notice(
            other.sign(_claims(), typ="secevent+jwt"),
            signer.jwks(),
            issuer=ISSUER,
            client_id=CLIENT,
            now=NOW,
        )
    with pytest.raises(InvalidNotice):
        parse_notice(
            signer.sign(_claims(), typ="consent-receipt+jws"),
            signer.jwks(),
            issuer=ISSUER,
            client_id=CLIENT,
            now=NOW,
        )
    with pytest.raises(InvalidNotice):
        parse_notice("not.a.jws", signer.jwks(), issuer=ISSUER, client_id=CLIENT, now=NOW)
