"""The dashboard's words: both languages complete, plurals and dates read naturally."""

from __future__ import annotations

from datetime import UTC, datetime

from broker.dashboard import words
from broker.dashboard.messages import MESSAGES
from broker.web.i18n import translator
from consent.model import ConsentState


def test_every_dashboard_string_exists_in_french_and_in_english() -> None:
    assert set(MESSAGES["fr"]) == set(MESSAGES["en"])
    assert all(MESSAGES["fr"].values()) and all(MESSAGES["en"].values())


def test_every_state_has_words_in_both_languages() -> None:
    for state in ConsentState:
        assert f"state.{state.value}" in MESSAGES["fr"]
        assert f"state.{state.value}" in MESSAGES["en"]


def test_the_summary_agrees_with_its_numbers() -> None:
    fr = translator("fr")
    assert words.summary(fr, 2, 1) == "2 services reçoivent des données de 1 organisme."
    assert words.summary(fr, 1, 1) == "1 service reçoit des données de 1 organisme."
    assert words.summary(translator("en"), 3, 2) == "3 services receive data from 2 organisations."
    assert words.summary(fr, 0, 0).startswith("Aucun service")


def test_dates_durations_and_sizes_in_each_language() -> None:
    moment = datetime(2025, 3, 1, 14, 5, tzinfo=UTC)
    assert words.day(moment, "fr") == "1er mars 2025"
    assert words.day(moment, "en") == "1 March 2025"
    assert words.day(moment.replace(tzinfo=None), "fr") == "1er mars 2025"
    assert words.duration("P1Y6M", translator("fr")) == "1 an et 6 mois"
    assert words.duration("P2W", translator("en")) == "14 days"
    assert words.size(12_345, translator("fr"), "fr") == "12,3 ko"
    assert words.size(999, translator("en"), "en") == "999 bytes"


def test_reasons_and_outcomes_read_as_words_and_keep_the_holders_code() -> None:
    fr = translator("fr")
    assert words.reason("consent_revoked", fr) == "accord révoqué"
    assert words.reason("holder_error:ADAM-DC-0015", fr) == "refus de l'organisme (ADAM-DC-0015)"
    assert words.reason("something_new", fr) == "something_new"
