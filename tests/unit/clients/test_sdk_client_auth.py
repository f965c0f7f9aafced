import base64
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from clients.sdk import ClientSecretBasic, PrivateKeyJWT
from clients.sdk.auth import ASSERTION_TYPE

ISSUER = "http://127.0.0.1:8000"


def _claims(assertion: str, key: ECKey | RSAKey, alg: str) -> tuple[dict[str, Any], dict[str, Any]]:
    token = jwt.decode(assertion, key, algorithms=[alg])
    return dict(token.header), dict(token.claims)


def test_private_key_jwt_with_an_ec_key_signs_es256_with_the_required_claims() -> None:
    key = ECKey.generate_key("P-256", private=True)
    auth = PrivateKeyJWT(key.as_dict(private=True), kid="k1", clock=lambda: 1_700_000_000.0)
    request = auth.for_request("carbon-coach", ISSUER)
    assert request.headers == {}
    assert request.form["client_assertion_type"] == ASSERTION_TYPE
    header, claims = _claims(request.form["client_assertion"], key, "ES256")
    assert header["alg"] == "ES256"
    assert header["kid"] == "k1"
    assert claims["iss"] == claims["sub"] == "carbon-coach"
    assert claims["aud"] == ISSUER
    assert claims["exp"] == 1_700_000_060
    assert claims["jti"]


def test_private_key_jwt_with_an_rsa_key_signs_rs256() -> None:
    key = RSAKey.generate_key(2048, private=True)
    auth = PrivateKeyJWT(key.as_dict(private=True), kid="r1")
    header, claims = _claims(auth.assertion("svc", ISSUER), key, "RS256")
    assert header["alg"] == "RS256"
    assert claims["iss"] == "svc"


def test_each_assertion_has_a_fresh_jti() -> None:
    key = ECKey.generate_key("P-256", private=True)
    auth = PrivateKeyJWT(key.as_dict(private=True), kid="k1")
    jtis = {_claims(auth.assertion("svc", ISSUER), key, "ES256")[1]["jti"] for _ in range(20)}
    assert len(jtis) == 20


def test_a_public_key_is_refused() -> None:
    key = ECKey.generate_key("P-256", private=True)
    with pytest.raises(ValueError, match="private"):
        PrivateKeyJWT(key.as_dict(private=False), kid="k1")


def test_client_secret_basic_form_encodes_both_parts() -> None:
    request = ClientSecretBasic("s3cr:t/é").for_request("carbon coach", ISSUER)
    scheme, value = request.headers["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(value).decode() == "carbon%20coach:s3cr%3At%2F%C3%A9"
    assert request.form == {}


def test_secrets_stay_out_of_reprs() -> None:
    assert "hunter2" not in repr(ClientSecretBasic("hunter2"))
    key = ECKey.generate_key("P-256", private=True)
    private_d = key.as_dict(private=True)["d"]
    assert str(private_d) not in repr(PrivateKeyJWT(key.as_dict(private=True), kid="k1"))
