"""A holder's refusal or silence, as the service sees it (docs/wire.md, "Data plane").

============================  ==========================================================
holder answer                 to the service
============================  ==========================================================
403 ADAM-DC-0008              403 ``holder_consent_missing`` (the resident withdrew it at
                              the holder, or never gave it there)
400 / 404                     the same status, ``holder_error``
429                           429 ``holder_error`` with ``Retry-After``
any other refusal             502 ``holder_error``
no usable answer              502 ``holder_unavailable``; 504 when it timed out
200 that is not what it says  502 ``holder_unavailable`` (``checked_head``)
============================  ==========================================================

The ``holder_error`` member always carries the holder's own code.

A 200 is looked at before the service is answered: its first bytes must fit its content
type (JSON starts with ``{`` or ``[``) and, for Enedis, open one of Enedis's documents.
The body is never parsed or held whole: only its first ``HEAD_BYTES`` are waited for.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from broker.http.problems import Problem
from providers.base import HolderError, HolderStream, HolderUnavailable

NO_CONSENT_AT_HOLDER = "ADAM-DC-0008"


@dataclass(frozen=True)
class Failure:
    problem: Problem
    outcome: str  # what the ledger says happened


def refused(error: HolderError, grant_id: str) -> Failure:
    if error.status == 403 and error.code == NO_CONSENT_AT_HOLDER:
        problem = Problem(
            403,
            "holder_consent_missing",
            "the holder has no consent of the resident for this service",
            holder_error=error.code,
            grant_id=grant_id,
        )
        return Failure(problem, "holder_consent_missing")
    status = error.status if error.status in (400, 404, 429) else 502
    headers = {}
    if status == 429:
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after or 1)))
    problem = Problem(
        status,
        "holder_error",
        f"the holder refused the request ({error.status} {error.code})",
        headers=headers,
        holder_error=error.code,
        grant_id=grant_id,
    )
    return Failure(problem, f"holder_error:{error.code}")


def unavailable(error: HolderUnavailable, grant_id: str) -> Failure:
    if isinstance(error.__cause__, TimeoutError):
        problem = Problem(
            504, "holder_unavailable", "the holder did not answer in time", grant_id=grant_id
        )
        return Failure(problem, "holder_timeout")
    problem = Problem(
        502,
        "holder_unavailable",
        "the holder could not be reached or gave no usable answer",
        grant_id=grant_id,
    )
    return Failure(problem, "holder_unavailable")


HEAD_BYTES = 64
_JSON_START = re.compile(rb"^\s*[\[{]")
# Every Enedis v5 answer is one object: ``meter_reading``, ``customer`` or ``customer_id``.
_DOCUMENT_START = {
    "enedis-dataconnect": re.compile(rb'^\s*\{\s*"(meter_reading|customer|customer_id)"')
}


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


async def checked_head(stream: HolderStream, protocol: str) -> AsyncIterator[bytes]:
    """The stream's chunks, once its first bytes proved it is what it claims to be;
    HolderUnavailable (before anything was sent to the service) if they do not."""
    chunks = aiter(stream)
    head = b""
    async for chunk in chunks:
        head += chunk
        if len(head) >= HEAD_BYTES:
            break
    if _is_json(stream.content_type):
        expected = _DOCUMENT_START.get(protocol, _JSON_START)
        if not expected.match(head[:HEAD_BYTES]):
            raise HolderUnavailable("holder answered 200 with a body that is not its document")
    return _after(head, chunks)


async def _after(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if head:
        yield head
    async for chunk in rest:
        yield chunk
