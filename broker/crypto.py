"""Secrets at rest and signatures.

* ``SecretBox``: AES-256-GCM for holder credentials. Each ciphertext starts with the id of
  its key, so keys can rotate: the newest key encrypts, any listed key decrypts. The
  record id is bound as associated data, so a ciphertext copied onto another record
  fails to open.
* ``hash_token``: tokens, codes and session ids are 256-bit random strings; SHA-256 of
  them is what the database holds.
* ``Signer``: the broker's EC P-256 key (ES256, via joserfc) for receipts and the ledger
  head; its public half is served at ``/jwks.json``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jws
from joserfc.jwk import ECKey


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"aiguillage-kid" + key).hexdigest()[:8]


class SecretBox:
    def __init__(self, key: bytes, old_keys: list[bytes] | None = None) -> None:
        self._current = (_key_id(key), AESGCM(key))
        self._all = {_key_id(k): AESGCM(k) for k in [key, *(old_keys or [])]}

    @staticmethod
    def decode_key(text: str) -> bytes:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        if len(key) != 32:
            raise ValueError("an encryption key must decode to 32 bytes")
        return key

    def seal(self, plaintext: dict[str, str], bound_to: str) -> str:
        kid, aead = self._current
        nonce = os.urandom(12)
        data = json.dumps(plaintext, separators=(",", ":")).encode()
        sealed = aead.encrypt(nonce, data, bound_to.encode())
        return f"{kid}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, token: str, bound_to: str) -> dict[str, str]:
        kid, _, body = token.partition(".")
        aead = self._all.get(kid)
        if aead is None:
            raise ValueError("ciphertext made with a key that is no longer configured")
        raw = base64.urlsafe_b64decode(body)
        data = aead.decrypt(raw[:12], raw[12:], bound_to.encode())
        value = json.loads(data)
        if not isinstance(value, dict):
            raise ValueError("sealed value is not an object")
        return {str(k): str(v) for k, v in value.items()}

    def needs_rotation(self, token: str) -> bool:
        return token.partition(".")[0] != self._current[0]


class Signer:
    """The current signing key, plus the public halves of earlier keys still published.

    Rotation (``rotate``) keeps the previous key's public half in a directory next to the
    key file, so receipts and ledger heads signed before stay verifiable from
    ``/jwks.json`` until the operator retires that key (``retire``). Only the current key
    ever signs. A running broker reads the ring at start.
    """

    def __init__(self, key: ECKey, previous: list[ECKey] | None = None) -> None:
        self._key = key
        self.kid = key.thumbprint()
        self._verifiers = {k.thumbprint(): k for k in [*(previous or []), key]}

    @staticmethod
    def previous_dir(path: Path) -> Path:
        return path.parent / f"{path.name}.previous"

    @classmethod
    def load_or_create(cls, path: Path) -> Signer:
        if path.exists():
            key = ECKey.import_key(json.loads(path.read_text()))
        else:
            key = ECKey.generate_key("P-256", private=True)
            _write_private(path, key, exclusive=True)
        previous = [
            ECKey.import_key(json.loads(item.read_text()))
            for item in sorted(cls.previous_dir(path).glob("*.json"))
        ]
        return cls(key, previous)

    @classmethod
    def rotate(cls, path: Path) -> Signer:
        """Make a new current key; the old one's public half stays published."""
        old = cls.load_or_create(path)
        keep = cls.previous_dir(path)
        keep.mkdir(parents=True, exist_ok=True)
        (keep / f"{old.kid}.json").write_text(json.dumps(old._key.as_dict(private=False)))
        _write_private(path, ECKey.generate_key("P-256", private=True), exclusive=False)
        return cls.load_or_create(path)

    @classmethod
    def retire(cls, path: Path, kid: str) -> bool:
        """Stop publishing an earlier key; its signatures no longer verify."""
        kept = cls.previous_dir(path) / f"{kid}.json"
        if not kid.replace("-", "").replace("_", "").isalnum() or not kept.exists():
            return False
        kept.unlink()
        return True

    @property
    def published_kids(self) -> list[str]:
        return list(self._verifiers)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self._verifiers.items():
            public = key.as_dict(private=False)
            public.update({"kid": kid, "use": "sig", "alg": "ES256"})
            keys.append(public)
        return {"keys": keys}

    def sign(self, payload: dict[str, Any], typ: str) -> str:
        header = {"alg": "ES256", "kid": self.kid, "typ": typ}
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return jws.serialize_compact(header, body, self._key)

    def verify(self, token: str) -> dict[str, Any]:
        """Verify with the published key the header names (current or earlier)."""
        kid = jws.extract_compact(token.encode("ascii")).headers().get("kid")
        key = self._verifiers.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise ValueError("signed with a key that is not published")
        obj = jws.deserialize_compact(token, key, algorithms=["ES256"])
        payload = json.loads(obj.payload)
        if not isinstance(payload, dict):
            raise ValueError("signed payload is not an object")
        return payload


def _write_private(path: Path, key: ECKey, *, exclusive: bool) -> None:
    """Owner-only, and atomic on rotation: this is the broker's identity."""
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path if exclusive else path.with_name(path.name + ".new")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(target, flags, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(key.as_dict(private=True)))
    if not exclusive:
        os.replace(target, path)
