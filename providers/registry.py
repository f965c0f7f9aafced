"""Holder protocol name (from a holder manifest) → the adapter that speaks it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp

from consent.registry import ResourceSpec
from providers.base import HolderAdapter
from providers.enedis.adapter import EnedisDataConnectAdapter
from providers.generic.adapter import GenericOAuth2Adapter
from providers.grdf.adapter import GrdfAdictAdapter

PROTOCOLS = ("enedis-dataconnect", "generic-oauth2", "grdf-adict")
# Holders whose consent page hands back a meter identifier (providers/client_credentials.py).
_LINKED_BY_IDENTIFIER: dict[str, Callable[..., HolderAdapter]] = {
    "enedis-dataconnect": EnedisDataConnectAdapter,
    "grdf-adict": GrdfAdictAdapter,
}


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
    specs: Sequence[ResourceSpec] = (),
    revocation_url: str | None = None,
    timeout: aiohttp.ClientTimeout | None = None,
) -> HolderAdapter:
    """Build the adapter for ``protocol``; the session is shared, never created here.

    ``resources`` maps names to paths; ``specs`` (the manifest's resources) adds what some
    protocols need beyond the path: per-call limits and parameter names. ``timeout``, when
    given, replaces the adapters' own per-call default (the operator's holder timeout).
    """
    extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    max_days = {s.name: s.max_days_per_call for s in specs}
    by_identifier = _LINKED_BY_IDENTIFIER.get(protocol)
    if by_identifier is not None:
        return by_identifier(
            base_url=base_url,
            authorize_url=authorize_url,
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            resources=resources,
            max_days=max_days,
            session=session,
            **extra,
        )
    if protocol == "generic-oauth2":
        if not specs:
            raise ValueError("a generic-oauth2 holder needs its resource specifications")
        return GenericOAuth2Adapter(
            base_url=base_url,
            authorize_url=authorize_url,
            token_url=token_url,
            revocation_url=revocation_url,
            client_id=client_id,
            client_secret=client_secret,
            resources={s.name: s for s in specs},
            session=session,
            **extra,
        )
    raise ValueError(f"unknown holder protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
