"""Revocation notices: signed, bounded in time, bound to one holder and one webhook."""

from __future__ import annotations

import pytest

from providers.notices import NoticeInvalid, sign_notice, verify_notice

SECRET = "a-webhook-secret-of-at-least-32-characters"
AUD = "https://broker.example/v1/holders/eau/revocations"
NOW = 1_800_000_000.0


def _sign(**kw: object) -> str:
    args: dict[str, object] = {"holder": "eau", "audience": AUD, "subject": "abonne-1", "now": NOW}
    args.update(kw)
    return sign_notice(str(args.pop("secret", SECRET)), **args)  # type: ignore[arg-type]


def test_a_good_notice_verifies() -> None:
    notice = verify_notice(
        _sign(services=["coach"]), SECRET, holder="eau", audience=AUD, now=NOW + 10
    )
    assert notice.subject == "abonne-1" and notice.services == ("coach",)
    assert notice.reason == "withdrawn_at_holder" and len(notice.jti) >= 16


@pytest.mark.parametrize(
    ("token_kw", "verify_kw"),
    [
        ({"secret": "another-secret-that-is-also-long-enough!"}, {}),
        ({"holder": "mobilite"}, {}),
        ({"audience": AUD + "x"}, {}),
        ({}, {"now": NOW + 301}),
        ({"now": NOW + 120}, {}),
        ({"lifetime": 301}, {}),
        ({"services": ["x" * 65]}, {}),
    ],
)
def test_forged_or_stale_notices_are_refused(
    token_kw: dict[str, object], verify_kw: dict[str, float]
) -> None:
    with pytest.raises(NoticeInvalid):
        verify_notice(
            _sign(**token_kw), SECRET, holder="eau", audience=AUD, now=verify_kw.get("now", NOW)
        )


def test_a_short_secret_cannot_sign() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        _sign(secret="short")
