"""``broker.event_loop``: uvloop by default, asyncio's loop on request or without uvloop."""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop

from broker.event_loop import loop_name, new_event_loop


def test_uvloop_is_the_default_choice_and_asyncio_the_other() -> None:
    for name, expected in (("uvloop", uvloop.Loop), ("asyncio", asyncio.BaseEventLoop)):
        loop = new_event_loop(name)  # type: ignore[arg-type]
        try:
            assert isinstance(loop, expected)
            assert loop_name(loop) == name
            assert loop.run_until_complete(asyncio.sleep(0, result="ran")) == "ran"
        finally:
            loop.close()


def test_without_uvloop_the_broker_runs_on_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # what a Windows install looks like
    loop = new_event_loop("uvloop")
    try:
        assert loop_name(loop) == "asyncio"
    finally:
        loop.close()
