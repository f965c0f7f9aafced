"""Password hashing (``broker.storage.passwords``): right and wrong passwords, an unknown
login checked as long as a known one, the work done off the event loop's thread, and no
hash computed when a process merely imports the broker."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest

from broker.storage import passwords


async def test_a_password_matches_its_hash_and_nothing_else() -> None:
    stored = await passwords.hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert await passwords.password_matches(stored, "correct horse")
    assert not await passwords.password_matches(stored, "correct horse ")
    assert not await passwords.password_matches("not a hash", "correct horse")


class _Recording:
    """The real hasher, noting which thread did each call and what was verified against."""

    def __init__(self) -> None:
        self.real = passwords._hasher
        self.threads: list[int] = []
        self.verified: list[str] = []

    def hash(self, password: str) -> str:
        self.threads.append(threading.get_ident())
        return self.real.hash(password)

    def verify(self, stored: str, password: str) -> Any:
        self.threads.append(threading.get_ident())
        self.verified.append(stored)
        return self.real.verify(stored, password)


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> _Recording:
    hasher = _Recording()
    monkeypatch.setattr(passwords, "_hasher", hasher)
    return hasher


async def test_an_unknown_login_never_matches_but_is_checked_all_the_same(
    recording: _Recording,
) -> None:
    # Even the dummy's own password does not let an unknown login in.
    assert not await passwords.password_matches(None, "not-a-real-password")
    assert not await passwords.password_matches(None, "anything")
    assert recording.verified == [passwords._dummy_hash()] * 2  # a real login's Argon2 work


async def test_hashing_and_checking_run_off_the_event_loop_thread(recording: _Recording) -> None:
    stored = await passwords.hash_password("pw")
    assert await passwords.password_matches(stored, "pw")
    assert len(recording.threads) == 2 and threading.get_ident() not in recording.threads


def test_importing_the_broker_computes_no_password_hash() -> None:
    """Each ``aiguillage`` command imports the storage layer; an Argon2 hash at import
    cost every one of them a hash's time before it did anything."""
    probe = (
        "import broker.cli, broker.app\n"
        "from broker.storage import passwords\n"
        "assert passwords._dummy_hash.cache_info().currsize == 0\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)
