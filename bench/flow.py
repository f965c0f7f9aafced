"""The authorization as a resident's browser and a service go through it, over real HTTP.

``authorize`` does PKCE + PAR (client_secret_basic) → ``GET /oauth/authorize`` → login →
consent screen → decision → the holder's consent page → the broker's holder callback, and
stops at the final redirect to the service's ``redirect_uri`` without following it (the
service may not be running). ``exchange`` swaps the code for tokens; ``connect`` does both
and returns the token response.

Shared by ``aiguillage bench`` and the tests (``tests/support/flow.py`` adapts it to the
test stack), so it lives here, in the installed package. The ``http`` session must keep
cookies for 127.0.0.1 (``aiohttp.CookieJar(unsafe=True)``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

import aiohttp


class FlowError(RuntimeError):
    """A step of the flow did not answer as a browser would expect."""


def basic_auth(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 §2.3.1: form-urlencode each part, then Base64 ``id:secret``."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}


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
        return basic_auth(self.client_id, self.client_secret)


@dataclass
class AuthorizationResult:
    """Where the broker finally sent the browser back to the service."""

    location: str
    query: dict[str, str]
    state: str
    verifier: str
    details: dict[str, Any]
    code: str | None = None
    iss: str | None = None
    error: str | None = None
    error_description: str | None = None
    steps: list[str] = field(default_factory=list)  # the URLs visited, for debugging


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)  # 64 characters of the unreserved set
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def par_form(
    party: Party, challenge: str, state: str, details: dict[str, Any] | list[Any]
) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": party.client_id,
        "redirect_uri": party.redirect_uri,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "authorization_details": json.dumps(details if isinstance(details, list) else [details]),
    }


async def _as_client(
    party: Party, http: aiohttp.ClientSession, path: str, form: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """POST ``form`` to a broker endpoint as the service (client_secret_basic)."""
    async with http.post(
        party.broker_url + path, data=form, headers=party.basic_auth()
    ) as response:
        return response.status, await response.json(content_type=None)


async def push(
    party: Party, http: aiohttp.ClientSession, form: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    return await _as_client(party, http, "/oauth/par", form)


class _Inputs(HTMLParser):
    """Every ``<input>`` and ``<option>`` of a page, with ``checked`` for either."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("input", "option"):
            found = dict(attrs)
            found["_tag"] = tag
            found["checked"] = "1" if "checked" in found or "selected" in found else None
            self.inputs.append(found)


def inputs_of(html: str) -> list[dict[str, str | None]]:
    parser = _Inputs()
    parser.feed(html)
    return parser.inputs


def field_value(html: str, name: str) -> str:
    for found in inputs_of(html):
        if found.get("name") == name and found.get("value") is not None:
            return str(found["value"])
    raise FlowError(f"no field {name!r} on the page")


async def _get(http: aiohttp.ClientSession, url: str, steps: list[str]) -> tuple[int, str, str]:
    steps.append(f"GET {urlsplit(url).path}")
    async with http.get(url, allow_redirects=False) as response:
        return response.status, response.headers.get("Location", ""), await response.text()


async def _post(
    http: aiohttp.ClientSession, url: str, data: Any, steps: list[str]
) -> tuple[int, str, str]:
    steps.append(f"POST {urlsplit(url).path}")
    async with http.post(url, data=data, allow_redirects=False) as response:
        return response.status, response.headers.get("Location", ""), await response.text()


async def open_consent_screen(
    party: Party, http: aiohttp.ClientSession, authorize_url: str, steps: list[str]
) -> str:
    """GET the authorize URL, logging in on the way if needed; return the consent page."""
    status, location, body = await _get(http, authorize_url, steps)
    if status in (302, 303) and urlsplit(location).path == "/login":
        status, _, page = await _get(http, urljoin(party.broker_url, location), steps)
        if status != 200:
            raise FlowError(f"login page answered {status}")
        form = {
            "csrf_token": field_value(page, "csrf_token"),
            "next": field_value(page, "next"),
            "login": party.login,
            "password": party.password,
        }
        status, location, _ = await _post(http, f"{party.broker_url}/login", form, steps)
        if status not in (302, 303):
            raise FlowError(f"login answered {status}")
        status, location, body = await _get(http, urljoin(party.broker_url, location), steps)
    if status != 200:
        raise FlowError(f"authorize answered {status} (Location {location!r}): {body[:300]}")
    return body


def decision_form(
    page: str, *, refuse: bool, accept_resources: list[str] | None, duration: str | None
) -> list[tuple[str, str]]:
    fields = inputs_of(page)
    form = [
        ("csrf_token", field_value(page, "csrf_token")),
        ("authorization_id", field_value(page, "authorization_id")),
        ("decision", "refuse" if refuse else "accept"),
    ]
    offered = [str(f["value"]) for f in fields if f.get("name") == "resources"]
    chosen = offered if accept_resources is None else accept_resources
    form += [("resources", r) for r in chosen]
    asked = next((str(f["value"]) for f in fields if f["_tag"] == "option" and f["checked"]), None)
    if duration is not None or asked is not None:
        form.append(("duration", duration or str(asked)))
    return form


async def _through_holder(
    party: Party,
    http: aiohttp.ClientSession,
    holder_url: str,
    holder_refuses: bool,
    steps: list[str],
) -> str:
    """The holder's consent page, then the broker's callback; return the final Location."""
    status, _, page = await _get(http, holder_url, steps)
    if status != 200:
        raise FlowError(f"holder consent page answered {status}: {page[:300]}")
    form = {"csrf_token": field_value(page, "csrf_token")}
    if holder_refuses:
        form["decision"] = "refuse"
    else:
        form["decision"] = "accept"
        form["usage_point_id"] = field_value(page, "usage_point_id")
    action = urljoin(holder_url, urlsplit(holder_url).path)
    status, callback, body = await _post(http, action, form, steps)
    if status not in (302, 303) or not callback.startswith(party.broker_url):
        raise FlowError(f"holder answered {status} to {callback!r}: {body[:300]}")
    status, location, body = await _get(http, callback, steps)
    if status not in (302, 303):
        raise FlowError(f"broker callback answered {status}: {body[:300]}")
    return location


async def browse(
    party: Party,
    http: aiohttp.ClientSession,
    authorize_url: str,
    *,
    accept_resources: list[str] | None = None,
    duration: str | None = None,
    refuse: bool = False,
    holder_refuses: bool = False,
    steps: list[str] | None = None,
) -> str:
    """The resident's part, from the authorize URL (any client's, e.g. the SDK's) to the
    final redirect to the service: its Location, not followed."""
    steps = [] if steps is None else steps
    page = await open_consent_screen(party, http, authorize_url, steps)
    form = decision_form(page, refuse=refuse, accept_resources=accept_resources, duration=duration)
    status, location, body = await _post(
        http, f"{party.broker_url}/oauth/authorize/decision", form, steps
    )
    if status not in (302, 303):
        raise FlowError(f"decision answered {status}: {body[:300]}")
    if not refuse:
        location = await _through_holder(party, http, location, holder_refuses, steps)
    return location


async def authorize(
    party: Party,
    http: aiohttp.ClientSession,
    details: dict[str, Any],
    *,
    accept_resources: list[str] | None = None,
    duration: str | None = None,
    refuse: bool = False,
    holder_refuses: bool = False,
) -> AuthorizationResult:
    """Run the whole browser flow; return where the broker sent the resident back."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    status, pushed = await push(party, http, par_form(party, challenge, state, details))
    if status != 201:
        raise FlowError(f"PAR answered {status}: {pushed}")
    steps: list[str] = ["POST /oauth/par"]
    authorize_url = (
        f"{party.broker_url}/oauth/authorize?client_id={quote(party.client_id, safe='')}"
        f"&request_uri={quote(pushed['request_uri'], safe='')}"
    )
    location = await browse(
        party,
        http,
        authorize_url,
        accept_resources=accept_resources,
        duration=duration,
        refuse=refuse,
        holder_refuses=holder_refuses,
        steps=steps,
    )
    if not location.startswith(party.redirect_uri):
        raise FlowError(f"the final redirect goes to {location!r}, not the service")
    query = dict(parse_qsl(urlsplit(location).query))
    return AuthorizationResult(
        location=location,
        query=query,
        state=state,
        verifier=verifier,
        details=details,
        code=query.get("code"),
        iss=query.get("iss"),
        error=query.get("error"),
        error_description=query.get("error_description"),
        steps=steps,
    )


async def token_request(
    party: Party, http: aiohttp.ClientSession, form: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    return await _as_client(party, http, "/oauth/token", form)


def code_form(party: Party, code: str, verifier: str) -> dict[str, str]:
    """The ``authorization_code`` grant with its PKCE verifier."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": party.redirect_uri,
        "code_verifier": verifier,
    }


async def _granted(
    party: Party, http: aiohttp.ClientSession, form: dict[str, str]
) -> dict[str, Any]:
    status, body = await token_request(party, http, form)
    if status != 200:
        raise FlowError(f"token endpoint answered {status}: {body}")
    return body


async def exchange(
    party: Party, http: aiohttp.ClientSession, code: str, verifier: str
) -> dict[str, Any]:
    """Swap the code for tokens: the token response, or FlowError."""
    return await _granted(party, http, code_form(party, code, verifier))


async def refresh(party: Party, http: aiohttp.ClientSession, refresh_token: str) -> dict[str, Any]:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return await _granted(party, http, form)


async def connect(
    party: Party, http: aiohttp.ClientSession, details: dict[str, Any], **kw: Any
) -> dict[str, Any]:
    """Authorize (see ``authorize`` for the options) and exchange the code: the token response."""
    result = await authorize(party, http, details, **kw)
    if result.code is None:
        raise FlowError(f"no code: {result.error} {result.error_description}")
    return await exchange(party, http, result.code, result.verifier)
