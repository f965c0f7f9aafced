"""``aiguillage holders add | list | staff-add`` as an operator runs them: real processes."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

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


def test_holders_from_the_examples_and_a_console_account(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AIGUILLAGE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}",
        "AIGUILLAGE_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "AIGUILLAGE_SIGNING_KEY_PATH": str(tmp_path / "key.json"),
    }
    assert _run(["migrate"], env).returncode == 0
    for name in ("grdf", "eau", "mobilite"):
        added = _run(["holders", "add", str(EXAMPLES / f"holder-{name}-simulator.json")], env)
        assert added.returncode == 0, added.stderr
    listed = _run(["holders", "list"], env).stdout.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [
        ["eau", "generic-oauth2"],
        ["grdf", "grdf-adict"],
        ["mobilite", "generic-oauth2"],
    ]
    assert "secret" not in "".join(listed)
    made = _run(["holders", "staff-add", "grdf", "Agent@GRDF.example"], env, "a long password 1\n")
    assert made.returncode == 0 and "/console/" in made.stdout
    again = _run(["holders", "staff-add", "grdf", "agent@grdf.example"], env, "a long password 2\n")
    assert again.returncode == 2 and "already taken" in again.stderr
    assert (
        _run(["holders", "staff-add", "nobody", "x@y.fr"], env, "a long password 3\n").returncode
        == 1
    )
    assert _run(["holders", "staff-add", "grdf", "z@y.fr"], env, "short\n").returncode == 1
    assert "a long password" not in made.stdout + made.stderr
