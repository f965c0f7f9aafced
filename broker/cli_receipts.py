"""``aiguillage receipts verify FILE [--jwks URL_OR_FILE]``: check a downloaded consent
receipt offline, against the broker's published keys.

A receipt file (``GET /consents/{id}/receipts/{revision}.json``) holds the ``receipt``, a
compact JWS ``signature`` (ES256, ``typ: consent-receipt+jws``) over its canonical JSON
(sorted keys, no spaces), and the ``jwks_uri`` it was signed for. The check: the JWS
verifies with the key its ``kid`` names in the JWKS, and what it signs is exactly the
receipt in the file. ``--jwks`` takes a saved JWKS file (fully offline) or a URL; without
it the file's own ``jwks_uri`` is fetched. Exit 0 when valid, 1 when not, 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any, cast

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization

from broker.receipts import RECEIPT_TYP
from broker.settings import Settings

MAX_BYTES = 1024 * 1024


class ReceiptInvalid(Exception):
    pass


def load_jwks(source: str) -> dict[str, Any]:
    if source.startswith(("https://", "http://")):
        with urllib.request.urlopen(source, timeout=10) as answer:  # noqa: S310 - http(s) only
            data = json.loads(answer.read(MAX_BYTES))
    else:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError(f"{source}: not a JWKS (no 'keys' list)")
    return data


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def verify_receipt(signed: dict[str, Any], jwks: dict[str, Any]) -> dict[str, Any]:
    """The receipt, if the signature over it verifies; else ``ReceiptInvalid``."""
    receipt, token = signed.get("receipt"), signed.get("signature")
    if not isinstance(receipt, dict) or not isinstance(token, str):
        raise ReceiptInvalid("the file has no 'receipt' object and 'signature' string")
    try:
        obj = jws.deserialize_compact(
            token, KeySet.import_key_set(cast(KeySetSerialization, jwks)), algorithms=["ES256"]
        )
    except (JoseError, ValueError) as error:
        raise ReceiptInvalid(f"the signature does not verify ({type(error).__name__})") from None
    if obj.headers().get("typ") != RECEIPT_TYP:
        raise ReceiptInvalid(f"the signature is not a consent receipt (typ {RECEIPT_TYP})")
    if json.loads(obj.payload) != receipt:
        raise ReceiptInvalid("the receipt was changed after it was signed")
    return receipt


def cmd_verify(settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.file)
    if path.stat().st_size > MAX_BYTES:
        raise ValueError(f"{path}: larger than a receipt can be")
    signed = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(signed, dict):
        raise ValueError(f"{path}: expected a JSON object")
    source = args.jwks or signed.get("jwks_uri")
    if not isinstance(source, str) or not source:
        raise ValueError("no JWKS: pass --jwks URL_OR_FILE")
    try:
        receipt = verify_receipt(signed, load_jwks(source))
    except ReceiptInvalid as error:
        print(f"INVALID: {error}", file=sys.stderr)
        return 1
    status = receipt.get("status", {})
    print(
        f"valid: receipt {receipt.get('receipt_id')} for consent {receipt.get('consent_id')} "
        f"revision {receipt.get('revision')}, status {status.get('state')} "
        f"({status.get('dpv_status')})"
    )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    receipts = sub.add_parser("receipts", help="consent receipts").add_subparsers(
        dest="receipts_command", required=True
    )
    verify = receipts.add_parser("verify", help="check a receipt's signature offline")
    verify.add_argument("file")
    verify.add_argument("--jwks", help="a JWKS file or URL (default: the file's jwks_uri)")
    verify.set_defaults(func=cmd_verify)
