import base64
import hashlib
import re

from clients.sdk.pkce import new_pkce_pair, new_state, s256_challenge


def test_s256_matches_the_rfc_7636_appendix_b_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_new_pair_challenge_is_the_unpadded_sha256_of_the_verifier() -> None:
    pair = new_pkce_pair()
    digest = hashlib.sha256(pair.verifier.encode()).digest()
    assert pair.challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert "=" not in pair.challenge


def test_verifier_has_the_length_and_alphabet_rfc_7636_requires() -> None:
    verifier = new_pkce_pair().verifier
    assert 43 <= len(verifier) <= 128
    assert re.fullmatch(r"[A-Za-z0-9\-._~]+", verifier)


def test_pairs_and_states_are_not_repeated() -> None:
    assert len({new_pkce_pair().verifier for _ in range(50)}) == 50
    assert len({new_state() for _ in range(50)}) == 50
