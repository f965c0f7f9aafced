"""Synthetic Gazpar readings: one NDJSON line per gas day, shaped like ADICT's
``donnees_consos_informatives`` (``pce``, ``periode``, ``consommation`` with
``volume_brut`` in m³, ``coeff_calcul`` and ``energie`` in kWh)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

# kWh per m³: the conversion coefficient (PCS × pressure/temperature), about 11.2 in France.
COEFF_CONVERSION = 11.2


def _noise(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:4], "big")


def volume_m3(pce: str, day: date) -> float:
    # Heating season: much more gas from November to March.
    winter = day.month in (11, 12, 1, 2, 3)
    base = 3.5 if winter else 0.6
    return round(base + (_noise(pce, day) % 150) / 100, 2)


def informative_day(pce: str, day: date, start: date, end: date) -> dict[str, Any]:
    volume = volume_m3(pce, day)
    return {
        "pce": {"id_pce": pce},
        "periode": {"date_debut": start.isoformat(), "date_fin": end.isoformat()},
        "consommation": {
            "date_debut_consommation": day.isoformat(),
            "date_fin_consommation": (day + timedelta(days=1)).isoformat(),
            "journee_gaziere": day.isoformat(),
            "volume_brut": volume,
            "coeff_calcul": {"coeff_pta": 1.0, "valeur_pcs": 11.2, "coeff_conversion": 11.2},
            "volume_converti": volume,
            "energie": round(volume * COEFF_CONVERSION, 2),
            "type_qualif_conso": "Informative",
            "statut_conso": "Définitive",
            "sens_flux_gaz": "Soutirage",
        },
        "statut_restitution": None,
    }


def informative_lines(pce: str, start: date, end: date) -> Iterator[bytes]:
    day = start
    while day < end:
        yield json.dumps(informative_day(pce, day, start, end), ensure_ascii=False).encode() + b"\n"
        day += timedelta(days=1)


def technical(pce: str) -> dict[str, Any]:
    return {
        "pce": {"id_pce": pce},
        "donnees_techniques": {
            "situation_compteur": {"numero_compteur": "G4-" + pce[-6:], "frequence": "1J"},
            "caracteristiques_compteur": {"calibre": "G4", "frequence_releve": "Quotidienne"},
        },
    }


def contractual(pce: str) -> dict[str, Any]:
    return {
        "pce": {"id_pce": pce},
        "donnees_contractuelles": {"car": 12500, "profil_type": "P012", "tarif": "T2"},
    }
