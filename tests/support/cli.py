"""The ``aiguillage`` command run as an operator would: a real process on its own SQLite
database, with its own encryption and signing keys."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

from tests.support.stack import REPO


def operator_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AIGUILLAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}",
        "AIGUILLAGE_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "AIGUILLAGE_SIGNING_KEY_PATH": str(tmp_path / "key.json"),
    }


def run_cli(
    args: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
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
