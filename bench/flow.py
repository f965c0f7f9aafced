"""The authorization as a resident's browser and a service go through it, over HTTP:
PAR (PKCE, client_secret_basic) → authorize → login → consent screen → the holder's
consent page → the broker's holder callback → code → token exchange.

A trimmed copy of ``tests/support/flow.py``: the bench must not import ``tests/``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

import aiohttp


class FlowError(RuntimeError):
    """A step of the flow did not answer as a browser would expect."""


@dataclass(frozen=True)
class Party:
    """Who takes part: the broker, the service (coach) and the resident."""

    broker_url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    login: str
    password: str

    def basic_auth(self) -> dict[str, str]:
        """RFC 6749 §2.3.1: form-urlencode each part, then Base64 ``id:secret``."""
        pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("input", "option"):
            found = dict(attrs)
            found["_tag"] = tag
            found["checked"] = "1" if "checked" in found or "selected" in found else None
            self.inputs.append(found)


def _inputs(html: str) -> list[dict[str, str | None]]:
    parser = _Inputs()
    parser.feed(html)
    return parser.inputs


def _field(html: str, name: str) -> str:
    for found in _inputs(html):
        if found.get("name") == name and found.get("value") is not None:
            return str(found["value"])
    raise FlowError(f"no field {name!r} on the page")


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, str, str]:
    async with http.get(url, allow_redirects=False) as response:
        return response.status, response.headers.get("Location", ""), await response.text()


async def _post(http: aiohttp.ClientSession, url: str, data: Any) -> tuple[int, str, str]:
    async with http.post(url, data=data, allow_redirects=False) as response:
        return response.status, response.headers.get("Location", ""), await response.text()


async def _consent_page(party: Party, http: aiohttp.ClientSession, url: str) -> str:
    status, location, body = await _get(http, url)
    if status in (302, 303) and urlsplit(location).path == "/login":
        _, _, page = await _get(http, urljoin(party.broker_url, location))
        form = {
            "csrf_token": _field(page, "csrf_token"),
            "next": _field(page, "next"),
            "login": party.login,
            "password": party.password,
        }
        status, location, _ = await _post(http, f"{party.broker_url}/login", form)
        if status not in (302, 303):
            raise FlowError(f"login answered {status}")
        status, location, body = await _get(http, urljoin(party.broker_url, location))
    if status != 200:
        raise FlowError(f"authorize answered {status}: {body[:300]}")
    return body


def _decision(page: str) -> list[tuple[str, str]]:
    fields = _inputs(page)
    form = [
        ("csrf_token", _field(page, "csrf_token")),
        ("authorization_id", _field(page, "authorization_id")),
        ("decision", "accept"),
    ]
    form += [("resources", str(f["value"])) for f in fields if f.get("name") == "resources"]
    asked = next((str(f["value"]) for f in fields if f["_tag"] == "option" and f["checked"]), None)
    if asked is not None:
        form.append(("duration", asked))
    return form


async def _through_holder(party: Party, http: aiohttp.ClientSession, holder_url: str) -> str:
    status, _, page = await _get(http, holder_url)
    if status != 200:
        raise FlowError(f"holder consent page answered {status}: {page[:300]}")
    form = {
        "csrf_token": _field(page, "csrf_token"),
        "decision": "accept",
        "usage_point_id": _field(page, "usage_point_id"),
    }
    status, callback, body = await _post(http, urljoin(holder_url, urlsplit(holder_url).path), form)
    if status not in (302, 303):
        raise FlowError(f"holder answered {status}: {body[:300]}")
    status, location, body = await _get(http, callback)
    if status not in (302, 303):
        raise FlowError(f"broker callback answered {status}: {body[:300]}")
    return location


async def authorize(
    party: Party, http: aiohttp.ClientSession, details: dict[str, Any]
) -> tuple[str, str]:
    """Run the browser flow; return the authorization code and its PKCE verifier."""
    verifier, challenge = pkce_pair()
    form = {
        "response_type": "code",
        "client_id": party.client_id,
        "redirect_uri": party.redirect_uri,
        "state": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "authorization_details": json.dumps([details]),
    }
    async with http.post(
        f"{party.broker_url}/oauth/par", data=form, headers=party.basic_auth()
    ) as response:
        pushed = await response.json(content_type=None)
        if response.status != 201:
            raise FlowError(f"PAR answered {response.status}: {pushed}")
    url = (
        f"{party.broker_url}/oauth/authorize?client_id={quote(party.client_id, safe='')}"
        f"&request_uri={quote(pushed['request_uri'], safe='')}"
    )
    page = await _consent_page(party, http, url)
    status, location, body = await _post(
        http, f"{party.broker_url}/oauth/authorize/decision", _decision(page)
    )
    if status not in (302, 303):
        raise FlowError(f"decision answered {status}: {body[:300]}")
    location = await _through_holder(party, http, location)
    code = dict(parse_qsl(urlsplit(location).query)).get("code")
    if not location.startswith(party.redirect_uri) or code is None:
        raise FlowError(f"no code in the final redirect {location!r}")
    return code, verifier


async def token_request(
    party: Party, http: aiohttp.ClientSession, form: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with http.post(
        f"{party.broker_url}/oauth/token", data=form, headers=party.basic_auth()
    ) as response:
        return response.status, await response.json(content_type=None)


def code_form(party: Party, code: str, verifier: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": party.redirect_uri,
        "code_verifier": verifier,
    }


async def connect(
    party: Party, http: aiohttp.ClientSession, details: dict[str, Any]
) -> dict[str, Any]:
    """Authorize and exchange the code: the token response."""
    code, verifier = await authorize(party, http, details)
    status, body = await token_request(party, http, code_form(party, code, verifier))
    if status != 200:
        raise FlowError(f"token endpoint answered {status}: {body}")
    return body
