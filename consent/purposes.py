"""The operator's purpose list: a code a service declares, with a label residents understand.

A service also states the purpose in its own words; both are shown on the consent screen.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Purpose:
    code: str
    label_fr: str
    label_en: str


PURPOSES: dict[str, Purpose] = {
    p.code: p
    for p in (
        Purpose(
            "energy_coaching",
            "Vous aider à comprendre et réduire votre consommation d'énergie",
            "Help you understand and reduce your energy use",
        ),
        Purpose(
            "carbon_footprint",
            "Calculer votre empreinte carbone",
            "Compute your carbon footprint",
        ),
        Purpose(
            "budget",
            "Suivre votre budget et vos factures",
            "Track your budget and bills",
        ),
        Purpose(
            "contract_comparison",
            "Comparer des offres et contrats",
            "Compare offers and contracts",
        ),
        Purpose(
            "research",
            "Recherche d'intérêt général, résultats agrégés seulement",
            "General-interest research, aggregated results only",
        ),
        Purpose(
            "public_policy",
            "Politique publique locale (plan climat), résultats agrégés seulement",
            "Local public policy (climate plan), aggregated results only",
        ),
    )
}
