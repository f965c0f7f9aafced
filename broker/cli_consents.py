"""``aiguillage consents …``: the operator acting on one consent from a shell.

aiguillage consents revoke ID --reason TEXT   end a live consent through the one
                                              revocation path (actor ``operator:cli``)

The same call as ``POST /v1/consents/{id}/revoke`` (``broker/admin/consents.py``): tokens
die in the transaction, the holder revocation and the service's notice are queued as
jobs that a running broker instance delivers. Exit 0 when revoked, 1 when there is no
such consent or it is not live, 2 on a bad reason.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from pydantic import ValidationError

from broker.admin.consents import NotRevocable, RevokeRequest, describe, revoke_as_operator
from broker.settings import Settings
from broker.storage.engine import make_engine
from consent.errors import ConsentNotFound

OPERATOR = "cli"


async def _revoke(settings: Settings, consent_id: str, reason: str) -> int:
    engine = make_engine(settings.database_url)
    try:
        consent = await revoke_as_operator(engine, consent_id, reason=reason, operator=OPERATOR)
    except ConsentNotFound:
        print(f"no consent {consent_id}", file=sys.stderr)
        return 1
    except NotRevocable as error:
        print(f"consent {consent_id} is {error.state}: nothing to revoke", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    ended = describe(consent)
    print(f"consent {ended['grant_id']} {ended['state']} by {ended['ended_by']}: {ended['reason']}")
    return 0


def cmd_revoke(settings: Settings, args: argparse.Namespace) -> int:
    try:
        asked = RevokeRequest.model_validate({"reason": args.reason})
    except ValidationError:
        print("error: --reason needs 1 to 300 printable characters", file=sys.stderr)
        return 2
    return asyncio.run(_revoke(settings, args.consent_id[:64], asked.reason))


def register(sub: Any) -> None:
    """Add ``aiguillage consents`` to the top-level subparsers action."""
    consents = sub.add_parser("consents", help="act on one consent as the operator")
    commands = consents.add_subparsers(dest="consents_command", required=True)
    revoke = commands.add_parser("revoke", help="end a live consent, with a reason")
    revoke.add_argument("consent_id", metavar="ID")
    revoke.add_argument("--reason", required=True, help="why (recorded, sent to the service)")
    revoke.set_defaults(func=cmd_revoke)
