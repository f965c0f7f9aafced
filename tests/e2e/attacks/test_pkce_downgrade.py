"""PKCE downgrade (RFC 9700 §4.8): no challenge then a verifier, ``plain``, a verifier that
is the challenge itself, and a verifier from another transaction (see also
``test_code_injection.py``)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import aiohttp
import pytest

from tests.support.flow import (
    DEFAULT_DETAILS,
    authorize,
    exchange,
    par_form,
    pkce_pair,
    push,
    token_request,
)
from tests.support.stack import Stack


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _without(form: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in form.items() if k not in names}


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda f: _without(f, "code_challenge", "code_challenge_method"), "PKCE is required"),
        (lambda f: _without(f, "code_challenge_method"), "PKCE is required"),
        (lambda f: f | {"code_challenge_method": "plain"}, "S256"),
        (lambda f: f | {"code_challenge_method": "s256"}, "S256"),
        (lambda f: f | {"code_challenge": "short"}, "43 to 128"),
    ],
    ids=["none", "no-method", "plain", "lowercase", "short"],
)
async def test_par_without_an_s256_challenge_is_refused(
    stack: Stack, http: aiohttp.ClientSession, change: Any, needle: str
) -> None:
    _, challenge = pkce_pair()
    status, body = await push(stack, http, change(par_form(stack, challenge, "s", DEFAULT_DETAILS)))
    assert (status, body["error"]) == (400, "invalid_request")
    assert needle in body["error_description"]


async def test_a_code_without_a_verifier_or_with_the_challenge_as_verifier_is_refused(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    result = await authorize(stack, http)
    assert result.code is not None
    form = {
        "grant_type": "authorization_code",
        "code": result.code,
        "redirect_uri": stack.coach_redirect_uri,
    }
    status, body = await token_request(stack, http, form)
    assert (status, body["error"]) == (400, "invalid_request")
    # A missing verifier does not burn the code (nothing was checked); the real one works.
    await exchange(stack, http, result.code, result.verifier)

    second = await authorize(stack, http)
    assert second.code is not None
    # ``plain`` in disguise: the challenge itself presented as the verifier.
    plain = form | {"code": second.code, "code_verifier": s256(second.verifier)}
    status, body = await token_request(stack, http, plain)
    assert (status, body["error"]) == (400, "invalid_grant")
