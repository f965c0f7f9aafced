"""The demo configurations of the two generic holders (the published demo credentials of
``deploy/examples/holder-eau-simulator.json`` and ``holder-mobilite-simulator.json``)."""

from __future__ import annotations

from typing import Literal

from providers.enedis.simulator.config import RegisteredClient
from providers.generic.simulator.config import Account, GenericSimulatorConfig

DEMO_CLIENT_ID = "aiguillage-demo"
HOLDER_IDS = {"water": "eau", "mobility": "mobilite"}
TITLES = {"water": "Eau du Grand Lyon (Téléo)", "mobility": "TraceMob La Rochelle"}
# Published demo values, not secrets: the example manifests carry the same.
DEMO_SECRETS = {"water": "eau-demo-secret", "mobility": "mobilite-demo-secret"}
DEMO_WEBHOOK_SECRETS = {
    "water": "eau-demo-webhook-secret-0123456789abcdef",
    "mobility": "mobilite-demo-webhook-secret-0123456789ab",
}
DEMO_ACCOUNTS = {
    "water": (Account(subject="abonne-690001234", name="Camille Démo — 12 rue de la République"),),
    "mobility": (
        Account(subject="tracemob-camille-42", name="Camille Démo (application TraceMob)"),
    ),
}


def demo_generic_config(kind: Literal["water", "mobility"], broker: str) -> GenericSimulatorConfig:
    holder = HOLDER_IDS[kind]
    return GenericSimulatorConfig(
        holder_id=holder,
        title=TITLES[kind],
        kind=kind,
        clients={
            DEMO_CLIENT_ID: RegisteredClient(
                secret=DEMO_SECRETS[kind], redirect_uris=(f"{broker}/holders/{holder}/callback",)
            )
        },
        accounts=DEMO_ACCOUNTS[kind],
        webhook_url=f"{broker}/v1/holders/{holder}/revocations",
        webhook_secret=DEMO_WEBHOOK_SECRETS[kind],
    )
