"""Counting the records of a body that streams past, without holding it.

An Enedis metering answer lists its readings in ``interval_reading``, each with one
``"value"`` member; counting that token counts the readings. The token may be cut in two by
a chunk boundary, so the scanner keeps the last ``len(token) - 1`` bytes of each chunk: a
match cannot fit in that tail alone, so nothing is counted twice.
"""

from __future__ import annotations

VALUE_TOKEN = b'"value"'


class TokenCounter:
    def __init__(self, token: bytes = VALUE_TOKEN) -> None:
        if not token:
            raise ValueError("the token must not be empty")
        self._token = token
        self._keep = len(token) - 1
        self._tail = b""
        self.count = 0

    def feed(self, chunk: bytes) -> None:
        window = self._tail + chunk
        self.count += window.count(self._token)
        self._tail = window[-self._keep :] if self._keep else b""
