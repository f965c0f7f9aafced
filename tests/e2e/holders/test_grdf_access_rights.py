"""GRDF access rights (``droits d'accès``): linking records the right GRDF created when the
resident accepted, and ending the consent ends that right at GRDF (``fin_acces``)."""

from __future__ import annotations

import aiohttp

from providers.grdf.simulator.app import ACTIVE, GRDF_STATE, REVOKED
from tests.e2e.data.support import days_ago
from tests.e2e.resident.support import eventually, jobs_for
from tests.support.flow import coach_auth
from tests.support.holders import Holders, connect_to, details_for
from tests.support.stack import Stack


async def test_revoking_a_gas_consent_ends_the_access_right_at_grdf(
    stack: Stack, holders: Holders, http: aiohttp.ClientSession
) -> None:
    token = await connect_to(
        stack, http, details_for("grdf", ["daily_consumption"], "energy_coaching")
    )
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    rights = holders.apps["grdf"][GRDF_STATE].rights
    assert [r.state for r in rights.values()] == [ACTIVE]
    async with http.get(
        f"{stack.broker_url}/v1/data/grdf/daily_consumption",
        params={"start": days_ago(5), "end": days_ago(1)},
        headers=auth,
    ) as response:
        assert response.status == 200, await response.text()

    async with http.delete(
        f"{stack.broker_url}/oauth/grants/{token['grant_id']}", headers=coach_auth(stack)
    ) as response:
        assert response.status == 204, await response.text()

    async def ended_at_grdf() -> bool:
        jobs = [j for j in await jobs_for(stack, token["grant_id"]) if j["kind"] == "holder.revoke"]
        return [(r.state, r.revoked_by) for r in rights.values()] == [(REVOKED, "TIERS")] and [
            (j["done_at"] is not None, j["failed_at"]) for j in jobs
        ] == [(True, None)]

    await eventually(ended_at_grdf)


async def test_grdf_refuses_to_end_a_right_twice_or_one_it_never_granted(
    stack: Stack, holders: Holders, http: aiohttp.ClientSession
) -> None:
    # The simulator speaks ADICT's fin_acces answers: 200, then 409 for the same right,
    # 404 for a right that is not the caller's.
    await connect_to(stack, http, details_for("grdf", ["daily_consumption"], "energy_coaching"))
    base = holders.urls["grdf"]
    state = holders.apps["grdf"][GRDF_STATE]
    (right,) = state.rights
    client_id, client = next(iter(state.config.clients.items()))
    async with http.post(
        f"{base}/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": aiohttp.encode_basic_auth(client_id, client.secret)},
    ) as response:
        bearer = {"Authorization": f"Bearer {(await response.json())['access_token']}"}
    statuses = []
    for right_id in (right, right, "unknown-id"):
        async with http.patch(f"{base}/adict/v2/droit_acces/{right_id}", headers=bearer) as r:
            statuses.append((r.status, (await r.json())["message_retour_traitement"]))
    assert statuses == [
        (200, "L'opération s'est déroulée avec succès."),
        (409, "Le droit d'accès à révoquer n'existe pas."),
        (404, "Aucun droit d'accès trouvé."),
    ]
    async with http.post(
        f"{base}/adict/v2/droits_acces", json={"etat_droit_acces": "Active"}, headers=bearer
    ) as response:
        assert response.status == 200 and await response.text() == ""
