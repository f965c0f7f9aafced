"""Holder protocol name (from a holder manifest) → the adapter that speaks it."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from providers.base import HolderAdapter
from providers.enedis.adapter import EnedisDataConnectAdapter

PROTOCOLS = ("enedis-dataconnect",)


def build_adapter(
    protocol: str,
    *,
    base_url: str,
    authorize_url: str,
    token_url: str,
    client_id: str,
    client_secret: str,
    resources: Mapping[str, str],
    session: aiohttp.ClientSession,
) -> HolderAdapter:
    """Build the adapter for ``protocol``; the session is shared, never created here."""
    if protocol == "enedis-dataconnect":
        return EnedisDataConnectAdapter(
            base_url=base_url,
            authorize_url=authorize_url,
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            resources=resources,
            session=session,
        )
    raise ValueError(f"unknown holder protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
