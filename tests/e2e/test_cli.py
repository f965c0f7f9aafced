"""The ``aiguillage`` command as an operator runs it: a real process on a real database."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.cli import operator_env as make_operator_env
from tests.support.cli import run_cli
from tests.support.stack import EXAMPLES


@pytest.fixture
def operator_env(tmp_path: Path) -> dict[str, str]:
    return make_operator_env(tmp_path)


def test_an_operator_sets_up_a_broker_from_the_command_line(
    operator_env: dict[str, str], tmp_path: Path
) -> None:
    assert run_cli(["migrate"], operator_env).returncode == 0
    added = run_cli(["holders", "add", str(EXAMPLES / "holder-enedis.json")], operator_env)
    assert added.returncode == 0 and "holder enedis registered (9 resources)" in added.stdout

    service = json.loads((EXAMPLES / "service-carbon-coach.json").read_text())
    del service["client_secret"]  # the broker mints one and shows it once
    service_file = tmp_path / "service.json"
    service_file.write_text(json.dumps(service))
    registered = run_cli(["services", "add", str(service_file)], operator_env)
    assert registered.returncode == 0 and "(pending)" in registered.stdout
    assert "client secret (shown once): " in registered.stdout
    approved = run_cli(["services", "approve", "carbon-coach"], operator_env)
    assert approved.returncode == 0 and "approved" in approved.stdout
    assert run_cli(["services", "approve", "nobody"], operator_env).returncode == 1

    resident = run_cli(["residents", "add", "a@b.fr", "Alex"], operator_env, "long enough pw\n")
    assert resident.returncode == 0 and "created" in resident.stdout
    # Hashed at the production cost (the suite's own hashes are cheaper: tests/conftest.py).
    with closing(sqlite3.connect(tmp_path / "cli.sqlite3")) as db:
        [(stored,)] = db.execute("SELECT password_hash FROM residents").fetchall()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    short = run_cli(["residents", "add", "c@d.fr", "Cleo"], operator_env, "short\n")
    assert short.returncode == 1

    verified = run_cli(["ledger", "verify"], operator_env)
    assert verified.returncode == 0 and verified.stdout.startswith("ledger ok: 0 entries")
    head = run_cli(["ledger", "head"], operator_env)
    assert head.returncode == 0 and head.stdout.count(".") == 2  # a compact JWS


def test_an_invalid_manifest_is_refused_with_the_faulty_field(
    operator_env: dict[str, str], tmp_path: Path
) -> None:
    assert run_cli(["migrate"], operator_env).returncode == 0
    payload = json.loads((EXAMPLES / "holder-enedis.json").read_text())
    payload["manifest"]["max_consent_duration"] = "forever"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(payload))
    refused = run_cli(["holders", "add", str(bad)], operator_env)
    assert refused.returncode != 0
    assert "max_consent_duration" in refused.stderr
    assert "Traceback" not in refused.stderr
