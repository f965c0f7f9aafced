"""``AIGUILLAGE_TRUSTED_PROXIES``: a JSON list of addresses or networks, checked at start."""

from __future__ import annotations

import pytest

from broker.settings import Settings


def test_networks_and_addresses_are_read_from_a_json_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIGUILLAGE_TRUSTED_PROXIES", '["10.0.0.0/8", "127.0.0.1", "::1", " "]')
    assert Settings().trusted_proxies == ["10.0.0.0/8", "127.0.0.1", "::1", " "]


def test_an_entry_that_is_no_address_stops_the_start_instead_of_a_later_login(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIGUILLAGE_TRUSTED_PROXIES", '["10.0.0.0/8", "nginx"]')
    with pytest.raises(ValueError, match="'nginx' does not appear to be an IPv4 or IPv6"):
        Settings()
