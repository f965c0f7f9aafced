"""``python -m clients.carbon_coach``: run the example carbon coach."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web

from clients.carbon_coach.app import create_coach_app
from clients.carbon_coach.config import CoachConfig


def parse_args(argv: list[str] | None = None) -> CoachConfig:
    parser = argparse.ArgumentParser(prog="python -m clients.carbon_coach", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--issuer", required=True, help="the broker's issuer URL")
    parser.add_argument("--client-id", required=True)
    secret = parser.add_mutually_exclusive_group(required=True)
    secret.add_argument("--client-secret", help="client_secret_basic secret")
    secret.add_argument(
        "--client-secret-file", type=Path, help="file holding the secret (kept out of `ps`)"
    )
    secret.add_argument("--private-jwk", type=Path, help="private JWK (JSON) for private_key_jwt")
    parser.add_argument("--kid", help="key id of --private-jwk in the registered JWKS")
    parser.add_argument("--public-url", help="URL of the coach as browsers see it")
    parser.add_argument("--emission-factor", type=Decimal, help="kgCO2e per kWh")
    parser.add_argument("--emission-factor-source", help="where the factor comes from")
    args = parser.parse_args(argv)

    fields: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "issuer": args.issuer,
        "client_id": args.client_id,
        "public_url": args.public_url,
        "kid": args.kid,
    }
    if args.client_secret is not None:
        fields["client_secret"] = args.client_secret
    elif args.client_secret_file is not None:
        fields["client_secret"] = args.client_secret_file.read_text(encoding="utf-8").strip()
    else:
        fields["private_jwk"] = json.loads(args.private_jwk.read_text(encoding="utf-8"))
    if args.emission_factor is not None:
        fields["emission_factor"] = args.emission_factor
    if args.emission_factor_source is not None:
        fields["emission_factor_source"] = args.emission_factor_source
    try:
        return CoachConfig(**fields)
    except ValueError as exc:
        parser.error(str(exc))


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    web.run_app(create_coach_app(config), host=config.host, port=config.port)


if __name__ == "__main__":
    main()
