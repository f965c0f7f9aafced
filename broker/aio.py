"""Small asyncio helpers shared by the background loops."""

from __future__ import annotations

import asyncio


def cancelling() -> bool:
    """True when the current task has been asked to stop.

    Database drivers sometimes surface a cancellation as an ordinary exception; a loop that
    catches ``Exception`` to survive a bad round must re-raise then, or the cancellation
    is swallowed and the loop sleeps forever (a hung shutdown). Re-raise it as
    ``CancelledError`` so the task ends cancelled, as its owner expects.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
