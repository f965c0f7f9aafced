"""The whole browser flow: PAR → login → consent screen → holder → code (RFC 6749 §4.1)."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp
from sqlalchemy import select
from sqlalchemy import text as sql

from broker.storage.tables import consents, ledger
from broker.storage.uow import SqlUnitOfWork
from tests.support.flow import (
    DEFAULT_DETAILS,
    authorize,
    connect,
    open_consent_screen,
    par_form,
    pkce_pair,
    push,
)
from tests.support.stack import Stack


async def _consent_row(stack: Stack) -> tuple[str, str | None]:
    async with stack.engine.connect() as conn:
        row = (await conn.execute(select(consents.c.state, consents.c.holder_credential_enc))).one()
    return row.state, row.holder_credential_enc


async def _ledger_kinds(stack: Stack) -> list[str]:
    async with stack.engine.connect() as conn:
        rows = await conn.execute(select(ledger.c.kind).order_by(ledger.c.seq))
        return [r.kind for r in rows]


async def _screen(stack: Stack, http: aiohttp.ClientSession, lang: str = "") -> str:
    _, challenge = pkce_pair()
    status, body = await push(stack, http, par_form(stack, challenge, "s", DEFAULT_DETAILS))
    assert status == 201
    url = (
        f"{stack.broker_url}/oauth/authorize?client_id={stack.coach_id}"
        f"&request_uri={quote(body['request_uri'], safe='')}{lang}"
    )
    return await open_consent_screen(stack, http, url, [])


async def test_the_consent_screen_says_who_what_why_how_long_in_plain_french(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    page = await _screen(stack, http)
    assert '<html lang="fr">' in page
    for text in (
        "Coach carbone",
        "Enedis (compteur Linky)",
        "Votre consommation d&#39;électricité jour par jour",
        "Vous aider à comprendre et réduire votre consommation d&#39;énergie",
        "Calculer l&#39;empreinte carbone de votre consommation",
        "les 12 derniers mois",
        "au plus une fois par jour",
        "pour 1 an, soit jusqu&#39;au",
        "Vous pourrez retirer votre accord à tout moment depuis Aiguillage ; le service "
        "perdra l&#39;accès immédiatement.",
        "/confidentialite",
        "J&#39;accepte",
        "Je refuse",
        "<fieldset>",
        "<legend>",
    ):
        assert text in page, text
    assert page.count('type="checkbox"') == 2
    assert page.count(" checked") == 2
    assert '<option value="P6M">' in page and 'value="P1Y" selected' in page
    assert 'value="P2Y"' not in page


async def test_the_consent_screen_speaks_english_on_request(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    page = await _screen(stack, http, "&lang=en")
    assert '<html lang="en">' in page
    assert "the last 12 months" in page and "I accept" in page


async def test_accepting_everything_returns_a_code_with_state_and_iss(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    result = await authorize(stack, http)
    assert result.error is None, result
    assert result.code and result.code.startswith("ag_ac_")
    assert result.query["state"] == result.state
    assert result.iss == stack.broker_url
    state, sealed = await _consent_row(stack)
    assert state == "active"
    assert sealed and stack.prm not in sealed
    assert await _ledger_kinds(stack) == ["consent.requested", "consent.granted", "holder.linked"]


async def test_accepting_less_grants_only_what_the_resident_kept(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    tokens = await connect(stack, http, accept_resources=["daily_consumption"], duration="P3M")
    granted = tokens["authorization_details"][0]
    assert granted["resources"] == ["daily_consumption"]
    assert granted["duration"] == "P3M"
    assert granted["purpose"] == "energy_coaching"


async def test_a_resident_cannot_accept_more_than_asked(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    from tests.support.flow import FlowError

    for kw in ({"duration": "P2Y"}, {"accept_resources": ["identity"]}, {"accept_resources": []}):
        try:
            await authorize(stack, http, **kw)  # type: ignore[arg-type]
        except FlowError as error:
            assert "decision answered 400" in str(error)
        else:
            raise AssertionError(f"{kw} was accepted")


async def test_refusing_sends_access_denied_with_state_and_iss(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    result = await authorize(stack, http, refuse=True)
    assert result.error == "access_denied"
    assert result.code is None
    assert result.query["state"] == result.state
    assert result.iss == stack.broker_url
    assert (await _consent_row(stack))[0] == "refused"
    assert await _ledger_kinds(stack) == ["consent.requested", "consent.refused"]


async def test_a_holder_refusal_fails_the_consent_and_denies_access(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    result = await authorize(stack, http, holder_refuses=True)
    assert result.error == "access_denied"
    assert result.error_description
    assert result.query["state"] == result.state
    assert result.iss == stack.broker_url
    assert (await _consent_row(stack))[0] == "failed"
    assert (await _ledger_kinds(stack))[-1] == "holder.link_failed"


async def test_an_unknown_holder_state_shows_a_page(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    for query in ("?state=forged&usage_point_id=12345678901234", "", "?state=a&state=b"):
        async with http.get(
            f"{stack.broker_url}/holders/enedis/callback{query}", allow_redirects=False
        ) as response:
            assert response.status == 400
            assert "Location" not in response.headers


async def test_a_decision_without_the_csrf_token_is_refused(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    from tests.support.flow import field_value

    page = await _screen(stack, http)
    form = {"authorization_id": field_value(page, "authorization_id"), "decision": "accept"}
    async with http.post(
        f"{stack.broker_url}/oauth/authorize/decision", data=form, allow_redirects=False
    ) as response:
        assert response.status == 403
    form |= {"csrf_token": field_value(page, "csrf_token"), "authorization_id": "forged"}
    async with http.post(
        f"{stack.broker_url}/oauth/authorize/decision", data=form, allow_redirects=False
    ) as response:
        assert response.status == 400
        assert "Location" not in response.headers


async def test_the_meter_number_is_never_stored_in_clear(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    from tests.support.flow import connect

    tokens = await connect(stack, http)
    rows: list[str] = []
    async with stack.engine.connect() as conn:
        for table in ("consents", "consent_revisions", "ledger", "authorizations"):
            rows += [str(r) for r in await conn.execute(sql(f"select * from {table}"))]  # noqa: S608
    dump = " ".join(rows)
    assert stack.prm not in dump
    async with SqlUnitOfWork(stack.engine) as uow:
        consent = await uow.consents.get(tokens["grant_id"])
    assert consent is not None
    assert consent.holder_subject == "…1234"  # the masked form the resident recognises
