"""Sending the browser back to the service: only ever to the redirect URI checked at PAR,
always with ``iss`` (RFC 9207 §2) and the service's ``state``."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from aiohttp import web
from multidict import MultiMapping

from broker.oauth.errors import InvalidRequest
from broker.oauth.forms import param
from broker.web.render import PageError


def client_redirect(redirect_uri: str, issuer: str, **params: str | None) -> str:
    """``redirect_uri`` with the response parameters appended to its own query."""
    values = {k: v for k, v in params.items() if v is not None}
    values["iss"] = issuer
    parts = urlsplit(redirect_uri)
    query = "&".join(q for q in (parts.query, urlencode(values)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def redirect_to_client(redirect_uri: str, issuer: str, **params: str | None) -> web.HTTPFound:
    return web.HTTPFound(client_redirect(redirect_uri, issuer, **params))


def page_param(
    values: MultiMapping[str], name: str, message_key: str, *, max_length: int = 512
) -> str:
    """A required, single, bounded parameter of a browser request, or an error page."""
    try:
        value = param(values, name, required=True, max_length=max_length)
    except InvalidRequest:
        raise PageError(400, message_key, f"bad {name}") from None
    assert value is not None
    return value
