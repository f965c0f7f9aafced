"""The Enedis simulator over real HTTP on loopback, checked against Enedis's own Swagger.

The Swagger copies live in ``shared/holders/enedis/swagger`` beside the repository.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from providers.enedis.simulator import (
    DemoAddress,
    DemoCustomer,
    RegisteredClient,
    SimulatorConfig,
    create_simulator_app,
)
from providers.enedis.simulator.config import DEMO_CUSTOMER
from providers.enedis.simulator.conformance import response_schema, violations

SWAGGER = Path(__file__).resolve().parents[3] / "shared" / "holders" / "enedis" / "swagger"
TODAY = date(2024, 6, 15)
PRM = DEMO_CUSTOMER.usage_point_id
LATE_PRM = "98765432109876"  # a meter activated in 2024
CALLBACK = "http://127.0.0.1:9/holders/enedis/callback"
CLIENT_A, CLIENT_B = ("client-a", "secret-a"), ("client-b", "secret-b")
AUTHORIZE = "/dataconnect/v1/oauth2/authorize"
DAILY = "/metering_data_dc/v5/daily_consumption"
CURVE = "/metering_data_clc/v5/consumption_load_curve"

# Our path → (Swagger file, path inside it). 06 and 07 repeat the consumption paths by
# mistake (see shared/holders/enedis/README.md); production has the same shapes.
ENDPOINTS = {
    DAILY: ("03-metering-consommation-daily.json", "/daily_consumption"),
    CURVE: ("04-metering-consommation-detail.json", "/consumption_load_curve"),
    "/metering_data_dcmp/v5/daily_consumption_max_power": (
        "05-metering-power.json",
        "/daily_consumption_max_power",
    ),
    "/metering_data_dp/v5/daily_production": (
        "06-metering-production-daily.json",
        "/daily_consumption",
    ),
    "/metering_data_plc/v5/production_load_curve": (
        "07-metering-production-detail.json",
        "/consumption_load_curve",
    ),
    "/customers_upc/v5/usage_points/contracts": ("08-contract.json", "/usage_points/contracts"),
    "/customers_upa/v5/usage_points/addresses": ("09-address.json", "/usage_points/addresses"),
    "/customers_i/v5/identity": ("10-customer.json", "/identity"),
    "/customers_cd/v5/contact_data": ("11-contact.json", "/contact_data"),
}


def swagger(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SWAGGER / name).read_text(encoding="utf-8"))
    return loaded


@dataclass
class Clock:
    """Seconds for tokens and quotas; frozen unless a test moves it."""

    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Calendar:
    today: date = TODAY

    def __call__(self) -> date:
        return self.today


@dataclass
class Sim:
    http: TestClient[aiohttp.web.Request, aiohttp.web.Application]
    clock: Clock
    calendar: Calendar

    async def token(self, client: tuple[str, str] = CLIENT_A) -> str:
        client_id, secret = client
        response = await self.http.post(
            "/oauth2/v3/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": aiohttp.encode_basic_auth(client_id, secret)},
        )
        assert response.status == 200, await response.text()
        value: str = (await response.json())["access_token"]
        return value

    async def consent_page(self, **query: str) -> str:
        params = {"client_id": "client-a", "response_type": "code", "duration": "P1Y"}
        params.update(state="st-1", redirect_uri=CALLBACK)
        params.update(query)
        response = await self.http.get(AUTHORIZE, params=params)
        assert response.status == 200, await response.text()
        return await response.text()

    async def answer(self, page: str, decision: str, prm: str = PRM) -> aiohttp.ClientResponse:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf is not None
        form = {"csrf_token": csrf.group(1), "decision": decision, "usage_point_id": prm}
        return await self.http.post(AUTHORIZE, data=form, allow_redirects=False)

    async def consent(self, prm: str = PRM, **query: str) -> dict[str, list[str]]:
        response = await self.answer(await self.consent_page(**query), "accept", prm)
        assert response.status == 302
        return parse_qs(urlsplit(response.headers["Location"]).query)

    async def get(self, path: str, token: str, **params: str) -> aiohttp.ClientResponse:
        headers = {"Authorization": f"Bearer {token}"}
        return await self.http.get(path, params=params, headers=headers)


def config(**overrides: Any) -> SimulatorConfig:
    late = DemoCustomer(
        usage_point_id=LATE_PRM,
        firstname="Lou",
        lastname="Exemple",
        address=DemoAddress(
            street="1 place Bellecour", postal_code="69002", city="Lyon", insee_code="69382"
        ),
        activation_date=date(2024, 1, 10),
    )
    values: dict[str, Any] = {
        "clients": {
            "client-a": RegisteredClient(secret="secret-a", redirect_uris=(CALLBACK,)),
            "client-b": RegisteredClient(secret="secret-b", redirect_uris=(CALLBACK,)),
        },
        "customers": (DEMO_CUSTOMER, late),
    }
    values.update(overrides)
    return SimulatorConfig(**values)


SimFactory = Callable[..., Awaitable[Sim]]


@pytest.fixture
async def start_sim() -> AsyncIterator[SimFactory]:
    clients: list[TestClient[aiohttp.web.Request, aiohttp.web.Application]] = []

    async def start(**overrides: Any) -> Sim:
        clock, calendar = Clock(), Calendar()
        app = create_simulator_app(config(clock=clock, today=calendar, **overrides))
        http = TestClient(TestServer(app, host="127.0.0.1", port=0))
        await http.start_server()
        clients.append(http)
        return Sim(http, clock, calendar)

    yield start
    for http in clients:
        await http.close()


@pytest.fixture
async def sim(start_sim: SimFactory) -> Sim:
    return await start_sim()


@pytest.fixture
async def token(sim: Sim) -> str:
    await sim.consent()
    await sim.consent(LATE_PRM)
    return await sim.token()


def assert_error(body: Any, status: int, swagger_file: str | None = None, path: str = "") -> None:
    """Enedis's error shape: exactly error + error_description, both strings."""
    assert set(body) == {"error", "error_description"}, body
    if swagger_file is not None:
        document = swagger(swagger_file)
        responses = document["paths"][path]["get"]["responses"]
        if "schema" in responses.get(str(status), {}):
            # Error enums in the copies are incomplete and spelled inconsistently
            # (Invalid_request, ADAM_DC_0008); the README's catalogue is authoritative.
            schema = response_schema(document, path, str(status))
            assert violations(document, schema, body, check_enums=False) == []


# --- data shapes ---------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(ENDPOINTS))
async def test_every_data_endpoint_answers_the_published_shape(
    sim: Sim, token: str, path: str
) -> None:
    swagger_file, swagger_path = ENDPOINTS[path]
    document = swagger(swagger_file)
    if swagger_file not in (
        "06-metering-production-daily.json",
        "07-metering-production-detail.json",
    ):
        assert document["basePath"] + swagger_path == path
    response = await sim.get(path, token, usage_point_id=PRM, start="2024-06-10", end="2024-06-14")
    assert response.status == 200, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert violations(document, response_schema(document, swagger_path), body) == []


async def test_daily_consumption_has_one_string_value_per_day(sim: Sim, token: str) -> None:
    response = await sim.get(DAILY, token, usage_point_id=PRM, start="2024-06-01", end="2024-06-15")
    reading = (await response.json())["meter_reading"]
    assert reading["reading_type"] == {
        "measurement_kind": "energy",
        "measuring_period": "P1D",
        "unit": "Wh",
        "aggregate": "sum",
    }
    assert (reading["usage_point_id"], reading["start"], reading["end"], reading["quality"]) == (
        PRM,
        "2024-06-01",
        "2024-06-15",
        "BRUT",
    )
    days = [r["date"] for r in reading["interval_reading"]]
    assert days == [(date(2024, 6, 1) + timedelta(d)).isoformat() for d in range(14)]
    assert all(r["value"].isdigit() for r in reading["interval_reading"])


async def test_load_curve_is_half_hourly_dated_at_interval_end_and_matches_daily(
    sim: Sim, token: str
) -> None:
    response = await sim.get(CURVE, token, usage_point_id=PRM, start="2024-06-03", end="2024-06-10")
    reading = (await response.json())["meter_reading"]
    readings = reading["interval_reading"]
    assert reading["reading_type"] == {
        "measurement_kind": "power",
        "unit": "W",
        "aggregate": "average",
    }
    assert len(readings) == 7 * 48
    assert readings[0]["date"] == "2024-06-03 00:30:00"
    assert readings[-1]["date"] == "2024-06-10 00:00:00"
    assert {r["interval_length"] for r in readings} == {"PT30M"}
    daily = await sim.get(DAILY, token, usage_point_id=PRM, start="2024-06-03", end="2024-06-10")
    per_day = [int(r["value"]) for r in (await daily.json())["meter_reading"]["interval_reading"]]
    for day, wh in enumerate(per_day):
        watts = [int(r["value"]) for r in readings[day * 48 : (day + 1) * 48]]
        assert sum(watts) / 2 == pytest.approx(wh, abs=12)


async def test_max_power_is_in_va_dated_with_a_time(sim: Sim, token: str) -> None:
    path = "/metering_data_dcmp/v5/daily_consumption_max_power"
    response = await sim.get(path, token, usage_point_id=PRM, start="2024-06-01", end="2024-06-03")
    reading = (await response.json())["meter_reading"]
    assert reading["reading_type"]["unit"] == "VA"
    assert reading["reading_type"]["aggregate"] == "maximum"
    assert all(
        re.fullmatch(r"2024-06-0[12] \d\d:\d\d:00", r["date"]) for r in reading["interval_reading"]
    )


async def test_identical_requests_get_identical_bodies(sim: Sim, token: str) -> None:
    first = await sim.get(CURVE, token, usage_point_id=PRM, start="2024-05-01", end="2024-05-08")
    second = await sim.get(CURVE, token, usage_point_id=PRM, start="2024-05-01", end="2024-05-08")
    assert await first.read() == await second.read()


async def test_data_up_to_yesterday_can_be_read(sim: Sim, token: str) -> None:
    response = await sim.get(DAILY, token, usage_point_id=PRM, start="2024-06-14", end="2024-06-15")
    assert response.status == 200
    assert [r["date"] for r in (await response.json())["meter_reading"]["interval_reading"]] == [
        "2024-06-14"
    ]


# --- published errors ----------------------------------------------------------------

OK = {"usage_point_id": PRM, "start": "2024-06-01", "end": "2024-06-08"}


def _without(name: str) -> dict[str, str]:
    return {k: v for k, v in OK.items() if k != name}


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "description"),
    [
        (DAILY, _without("usage_point_id"), 400, "invalid_request", "usage_point_id parameter is"),
        (DAILY, {**OK, "usage_point_id": "1234567890123"}, 400, "invalid_request", "usage_point"),
        (DAILY, {**OK, "usage_point_id": "1234567890123x"}, 400, "invalid_request", "usage_point"),
        (DAILY, _without("start"), 400, "invalid_request", "Start date parameter is required"),
        (DAILY, {**OK, "start": "2024/06/01"}, 400, "invalid_request", "Start date parameter must"),
        (DAILY, {**OK, "start": "2024-02-30"}, 400, "invalid_request", "Start date parameter must"),
        (DAILY, _without("end"), 400, "invalid_request", "End date parameter is required"),
        (DAILY, {**OK, "end": "20240608"}, 400, "invalid_request", "End date parameter must"),
        (DAILY, {**OK, "end": "2024-06-16"}, 400, "invalid_request", "The end date parameter"),
        (DAILY, {**OK, "end": "2024-06-01"}, 400, "invalid_request", "Start date should be"),
        (DAILY, {**OK, "end": "2024-05-01"}, 400, "invalid_request", "Start date should be"),
        (
            DAILY,
            {**OK, "start": "2023-06-14", "end": "2024-06-14"},
            400,
            "invalid_request",
            "The requested period cannot be longer than 365",
        ),
        (CURVE, {**OK, "end": "2024-06-09"}, 400, "ADAM-DC-0015", "The requested period"),
        (
            DAILY,
            {**OK, "start": "2021-05-30", "end": "2021-06-01"},
            400,
            "ADAM-DC-0016",
            "The start date must be greater than the history deadline",
        ),
        (CURVE, {**OK, "start": "2022-05-30", "end": "2022-06-01"}, 400, "ADAM-DC-0016", "The"),
        (
            DAILY,
            {**OK, "usage_point_id": LATE_PRM, "start": "2024-01-01"},
            400,
            "ADAM-ERR0123",
            "The requested period cannot be anterior to the meter's last activation date",
        ),
        (
            DAILY,
            {**OK, "usage_point_id": "11111111111111"},
            403,
            "ADAM-DC-0008",
            "No consent can be found for this customer and this usage point.",
        ),
        (
            "/customers_i/v5/identity",
            {"usage_point_id": "11111111111111"},
            403,
            "ADAM-DC-0008",
            "No consent",
        ),
        ("/customers_cd/v5/contact_data", {}, 400, "invalid_request", "usage_point_id"),
    ],
)
async def test_published_errors(
    sim: Sim,
    token: str,
    path: str,
    params: dict[str, str],
    status: int,
    code: str,
    description: str,
) -> None:
    response = await sim.get(path, token, **params)
    body = await response.json()
    assert (response.status, body["error"]) == (status, code), body
    assert body["error_description"].startswith(description)
    assert_error(body, status, *ENDPOINTS[path])


async def test_history_horizon_and_activation_edges_are_inclusive(sim: Sim, token: str) -> None:
    horizon = await sim.get(DAILY, token, usage_point_id=PRM, start="2021-05-31", end="2021-06-01")
    assert horizon.status == 200
    activated = await sim.get(
        DAILY, token, usage_point_id=LATE_PRM, start="2024-01-10", end="2024-01-11"
    )
    assert activated.status == 200


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic abc", "Bearer "])
async def test_data_calls_need_a_valid_bearer_token(sim: Sim, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await sim.http.get(DAILY, params=OK, headers=headers)
    assert response.status == 401
    assert_error(await response.json(), 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_tokens_expire_after_their_lifetime(sim: Sim, token: str) -> None:
    assert (await sim.get(DAILY, token, **OK)).status == 200
    sim.clock.now += 12_600
    assert (await sim.get(DAILY, token, **OK)).status == 401


async def test_unknown_paths_and_methods_answer_json(sim: Sim) -> None:
    missing = await sim.http.get("/metering_data_xx/v5/nothing")
    assert missing.status == 404
    assert_error(await missing.json(), 404)
    wrong_method = await sim.http.delete(DAILY)
    assert wrong_method.status == 405
    assert_error(await wrong_method.json(), 405)


# --- token endpoint ------------------------------------------------------------------


async def test_token_answers_the_published_shape(sim: Sim) -> None:
    response = await sim.http.post(
        "/oauth2/v3/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": aiohttp.encode_basic_auth("client-a", "secret-a")},
    )
    body = await response.json()
    document = swagger("02-token.json")
    schema = response_schema(document, "/oauth2/v3/token", method="post")
    # The Swagger types expires_in as a string; RFC 6749 §5.1 and Enedis's answers use a
    # number, and so does the simulator (the adapter accepts both).
    schema["properties"]["expires_in"] = {"type": "integer"}
    assert violations(document, schema, body) == []
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 12600)
    assert response.headers["Cache-Control"] == "no-store"


async def test_token_accepts_credentials_in_the_form(sim: Sim) -> None:
    form = {"grant_type": "client_credentials", "client_id": "client-b"}
    form["client_secret"] = "secret-b"
    response = await sim.http.post("/oauth2/v3/token", data=form)
    assert response.status == 200


@pytest.mark.parametrize(
    ("form", "auth", "status", "code"),
    [
        ({"grant_type": "client_credentials"}, ("client-a", "wrong"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, ("nobody", "secret-a"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        ({"grant_type": "password"}, ("client-a", "secret-a"), 400, "unsupported_grant_type"),
        ({}, ("client-a", "secret-a"), 400, "invalid_request"),
    ],
)
async def test_token_errors(
    sim: Sim, form: dict[str, str], auth: tuple[str, str] | None, status: int, code: str
) -> None:
    headers = {"Authorization": aiohttp.encode_basic_auth(*auth)} if auth else {}
    response = await sim.http.post("/oauth2/v3/token", data=form, headers=headers)
    body = await response.json()
    assert (response.status, body["error"]) == (status, code)
    assert_error(body, status)


async def test_token_refuses_a_body_that_is_not_a_form(sim: Sim) -> None:
    response = await sim.http.post(
        "/oauth2/v3/token",
        json={"grant_type": "client_credentials"},
        headers={"Authorization": aiohttp.encode_basic_auth("client-a", "secret-a")},
    )
    assert response.status == 400
    assert "application/x-www-form-urlencoded" in (await response.json())["error_description"]


async def test_revoked_tokens_stop_working(sim: Sim, token: str) -> None:
    basic = {"Authorization": aiohttp.encode_basic_auth("client-a", "secret-a")}
    other = await sim.token(CLIENT_B)
    # A client cannot revoke another client's token (RFC 7009 §2.1), only its own.
    foreign = await sim.http.post("/oauth2/v3/revoke", data={"token": other}, headers=basic)
    assert foreign.status == 200
    assert (
        await sim.get(
            DAILY, other, usage_point_id="11111111111111", start="2024-06-01", end="2024-06-02"
        )
    ).status == 403
    response = await sim.http.post("/oauth2/v3/revoke", data={"token": token}, headers=basic)
    assert response.status == 200
    assert (await sim.get(DAILY, token, **OK)).status == 401
    again = await sim.http.post("/oauth2/v3/revoke", data={"token": token}, headers=basic)
    assert again.status == 200  # unknown tokens too, so revocation reveals nothing


# --- quotas --------------------------------------------------------------------------


async def test_more_than_five_calls_in_a_second_get_quota_q3(sim: Sim, token: str) -> None:
    answers = await asyncio.gather(*(sim.get(DAILY, token, **OK) for _ in range(6)))
    assert sorted(a.status for a in answers) == [200] * 5 + [429]
    refused = next(a for a in answers if a.status == 429)
    body = await refused.json()
    assert body["error"] == "Quota Q3"
    assert_error(body, 429)
    assert refused.headers["Retry-After"] == "1"
    sim.clock.now += 1.0
    assert (await sim.get(DAILY, token, **OK)).status == 200


async def test_the_hourly_quota_is_per_api_and_answers_quota_q4(start_sim: SimFactory) -> None:
    sim = await start_sim(quota_per_hour=3)
    await sim.consent()
    token = await sim.token()
    for _ in range(3):
        assert (await sim.get(DAILY, token, **OK)).status == 200
        sim.clock.now += 1.0
    refused = await sim.get(DAILY, token, **OK)
    assert refused.status == 429
    assert (await refused.json())["error"] == "Quota Q4"
    assert 3590 <= int(refused.headers["Retry-After"]) <= 3600
    assert (await sim.get(CURVE, token, **OK)).status == 200  # another API, its own quota


async def test_quotas_are_counted_per_client(sim: Sim, token: str) -> None:
    other = await sim.token(CLIENT_B)
    await asyncio.gather(*(sim.get(DAILY, token, **OK) for _ in range(5)))
    assert (await sim.get(DAILY, other, **OK)).status == 403  # not 429: no consent for b


# --- consent page --------------------------------------------------------------------


async def test_consent_page_is_a_french_form_with_a_csrf_token(sim: Sim) -> None:
    response = await sim.http.get(
        AUTHORIZE,
        params={
            "client_id": "client-a",
            "response_type": "code",
            "state": "s",
            "duration": "P1Y4M",
        },
    )
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert "<title>Enedis — Autoriser le partage de vos données Linky</title>" in page
    assert "J'accepte" in page and "Je refuse" in page
    assert f'type="radio" name="usage_point_id" value="{PRM}"' in page
    assert "1 an et 4 mois" in page
    assert re.search(r'name="csrf_token" value="[\w-]{20,}"', page)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


async def test_accepting_redirects_with_code_state_and_usage_point(sim: Sim) -> None:
    page = await sim.consent_page(state="xyz-42")
    response = await sim.answer(page, "accept")
    assert response.status == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["xyz-42"] and query["usage_point_id"] == [PRM]
    assert len(query["code"][0]) >= 16
    token = await sim.token()
    assert (await sim.get(DAILY, token, **OK)).status == 200


async def test_refusing_redirects_with_access_denied_and_grants_nothing(sim: Sim) -> None:
    response = await sim.answer(await sim.consent_page(state="xyz-43"), "refuse")
    assert response.status == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query == {"error": ["access_denied"], "state": ["xyz-43"]}
    token = await sim.token()
    assert (await sim.get(DAILY, token, **OK)).status == 403


async def test_a_consent_page_answers_once(sim: Sim) -> None:
    page = await sim.consent_page()
    assert (await sim.answer(page, "accept")).status == 302
    replay = await sim.answer(page, "accept")
    assert replay.status == 400
    assert (await replay.json())["error_description"].startswith("invalid_csrf_token")
    forged = await sim.http.post(
        AUTHORIZE, data={"csrf_token": "forged", "decision": "accept", "usage_point_id": PRM}
    )
    assert forged.status == 400


async def test_a_consent_ends_when_its_duration_has_passed(sim: Sim) -> None:
    await sim.consent(duration="P1M")
    token = await sim.token()
    sim.calendar.today = date(2024, 7, 14)
    assert (await sim.get(DAILY, token, **OK)).status == 200
    sim.calendar.today = date(2024, 7, 15)
    assert (await sim.get(DAILY, token, **OK)).status == 403


BASE_QUERY = {"client_id": "client-a", "response_type": "code", "state": "s", "duration": "P1Y"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"client_id": None}, "missing_parameter"),
        ({"response_type": None}, "missing_parameter"),
        ({"duration": None}, "missing_parameter"),
        ({"duration": "1Y"}, "invalid_duration_format"),
        ({"duration": "PT12H"}, "invalid_duration_format"),
        ({"duration": "-P1Y"}, "invalid_duration_format"),
        ({"duration": "P3Y1D"}, "maximum_duration_exceeded"),
        ({"duration": "P4Y"}, "maximum_duration_exceeded"),
        ({"client_id": "stranger"}, "unknown_client"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"redirect_uri": "https://evil.example/cb"}, "invalid_redirect_uri"),
        ({"state": "s" * 101}, "invalid_state"),
    ],
)
async def test_consent_page_request_errors(
    sim: Sim, change: dict[str, str | None], reason: str
) -> None:
    query = {k: v for k, v in {**BASE_QUERY, **change}.items() if v is not None}
    response = await sim.http.get(AUTHORIZE, params=query)
    assert response.status == 400
    body = await response.json()
    assert body["error"] == "invalid_request"
    assert body["error_description"].startswith(reason)
    document = swagger("01-authorize.json")
    schema = response_schema(document, AUTHORIZE, "400")
    assert violations(document, schema, body) == []


async def test_three_years_is_accepted(sim: Sim) -> None:
    assert "3 ans" in await sim.consent_page(duration="P3Y")


# --- simulator-only operator hooks ---------------------------------------------------


async def test_withdrawing_consent_at_enedis_makes_adam_dc_0008_appear(
    sim: Sim, token: str
) -> None:
    assert (await sim.get(DAILY, token, **OK)).status == 200
    withdraw = await sim.http.post(
        "/_simulator/consents/revoke", json={"usage_point_id": PRM, "client_id": "client-a"}
    )
    assert await withdraw.json() == {"revoked": True}
    response = await sim.get(DAILY, token, **OK)
    assert response.status == 403
    assert (await response.json())["error"] == "ADAM-DC-0008"
    bad = await sim.http.post("/_simulator/consents/revoke", data=b"not json")
    assert bad.status == 400


async def test_stats_count_calls_per_endpoint(sim: Sim, token: str) -> None:
    await sim.get(DAILY, token, **OK)
    await sim.get(DAILY, token, **{**OK, "start": "bad"})
    stats = await (await sim.http.get("/_simulator/stats")).json()
    assert stats["calls"]["/oauth2/v3/token"] == 1
    assert stats["calls"][DAILY] == 2
    assert stats["calls"][AUTHORIZE] == 4  # two pages shown, two answered


async def test_big_body_is_streamed_in_chunks_and_is_valid_json(sim: Sim) -> None:
    response = await sim.http.get("/_simulator/big", params={"size_mb": "3"})
    assert response.status == 200
    assert response.headers.get("Transfer-Encoding") == "chunked"
    chunks = [chunk async for chunk in response.content.iter_chunked(256 * 1024)]
    body = b"".join(chunks)
    assert len(chunks) > 1
    assert abs(len(body) - 3 * 1024 * 1024) < 1024
    assert len(json.loads(body)["meter_reading"]["interval_reading"]) > 20_000
    assert (await sim.http.get("/_simulator/big", params={"size_mb": "0"})).status == 400
