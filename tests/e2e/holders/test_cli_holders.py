"""``aiguillage holders add | list | staff-add`` as an operator runs them: real processes."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import operator_env, run_cli
from tests.support.stack import EXAMPLES


def test_holders_from_the_examples_and_a_console_account(tmp_path: Path) -> None:
    env = operator_env(tmp_path)
    assert run_cli(["migrate"], env).returncode == 0
    for name in ("grdf", "eau", "mobilite"):
        added = run_cli(["holders", "add", str(EXAMPLES / f"holder-{name}-simulator.json")], env)
        assert added.returncode == 0, added.stderr
    listed = run_cli(["holders", "list"], env).stdout.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [
        ["eau", "generic-oauth2"],
        ["grdf", "grdf-adict"],
        ["mobilite", "generic-oauth2"],
    ]
    assert "secret" not in "".join(listed)
    made = run_cli(
        ["holders", "staff-add", "grdf", "Agent@GRDF.example"], env, "a long password 1\n"
    )
    assert made.returncode == 0 and "/console/" in made.stdout
    again = run_cli(
        ["holders", "staff-add", "grdf", "agent@grdf.example"], env, "a long password 2\n"
    )
    assert again.returncode == 2 and "already taken" in again.stderr
    assert (
        run_cli(["holders", "staff-add", "nobody", "x@y.fr"], env, "a long password 3\n").returncode
        == 1
    )
    assert run_cli(["holders", "staff-add", "grdf", "z@y.fr"], env, "short\n").returncode == 1
    assert "a long password" not in made.stdout + made.stderr
