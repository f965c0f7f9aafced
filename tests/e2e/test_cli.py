"""The ``aiguillage`` command as an operator runs it: a real process on a real database."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.stack import EXAMPLES, REPO


def _run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broker.cli", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def operator_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AIGUILLAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}",
        "AIGUILLAGE_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "AIGUILLAGE_SIGNING_KEY_PATH": str(tmp_path / "key.json"),
    }


def test_an_operator_sets_up_a_broker_from_the_command_line(
    operator_env: dict[str, str], tmp_path: Path
) -> None:
    assert _run(["migrate"], operator_env).returncode == 0
    added = _run(["holders", "add", str(EXAMPLES / "holder-enedis.json")], operator_env)
    assert added.returncode == 0 and "holder enedis registered (9 resources)" in added.stdout

    service = json.loads((EXAMPLES / "service-carbon-coach.json").read_text())
    del service["client_secret"]  # the broker mints one and shows it once
    service_file = tmp_path / "service.json"
    service_file.write_text(json.dumps(service))
    registered = _run(["services", "add", str(service_file)], operator_env)
    assert registered.returncode == 0 and "(pending)" in registered.stdout
    assert "client secret (shown once): " in registered.stdout
    approved = _run(["services", "approve", "carbon-coach"], operator_env)
    assert approved.returncode == 0 and "approved" in approved.stdout
    assert _run(["services", "approve", "nobody"], operator_env).returncode == 1

    resident = _run(["residents", "add", "a@b.fr", "Alex"], operator_env, "long enough pw\n")
    assert resident.returncode == 0 and "created" in resident.stdout
    short = _run(["residents", "add", "c@d.fr", "Cleo"], operator_env, "short\n")
    assert short.returncode == 1

    verified = _run(["ledger", "verify"], operator_env)
    assert verified.returncode == 0 and verified.stdout.startswith("ledger ok: 0 entries")
    head = _run(["ledger", "head"], operator_env)
    assert head.returncode == 0 and head.stdout.count(".") == 2  # a compact JWS


def test_an_invalid_manifest_is_refused_with_the_faulty_field(
    operator_env: dict[str, str], tmp_path: Path
) -> None:
    assert _run(["migrate"], operator_env).returncode == 0
    payload = json.loads((EXAMPLES / "holder-enedis.json").read_text())
    payload["manifest"]["max_consent_duration"] = "forever"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(payload))
    refused = _run(["holders", "add", str(bad)], operator_env)
    assert refused.returncode != 0
    assert "max_consent_duration" in refused.stderr
    assert "Traceback" not in refused.stderr
