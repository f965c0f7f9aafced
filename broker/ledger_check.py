"""``aiguillage ledger verify``: replay the whole chain from storage, in batches, and check
that the recorded head names its last entry (a chain alone cannot reveal a cut-off tail)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.storage.ledger import read_all, read_head
from consent.ledger import ChainVerifier


@dataclass(frozen=True)
class LedgerReport:
    ok: bool
    count: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    problem: str | None

    def describe(self) -> str:
        if self.ok:
            return f"ledger ok: {self.count} entries, head {self.head_seq} {self.head_hash}"
        return f"ledger BROKEN at entry {self.first_bad_seq}: {self.problem}"


async def check_ledger(engine: AsyncEngine) -> LedgerReport:
    verifier = ChainVerifier()
    async for entry in read_all(engine):
        if not verifier.feed(entry):
            break
    chain = verifier.result()
    head_seq, head_hash = await read_head(engine)
    if chain.ok and (head_seq, head_hash) != (chain.head_seq, chain.head_hash):
        return LedgerReport(
            ok=False,
            count=chain.count,
            head_seq=chain.head_seq,
            head_hash=chain.head_hash,
            first_bad_seq=chain.head_seq + 1,
            problem=f"the recorded head is entry {head_seq}; entries after "
            f"{chain.head_seq} are missing or altered",
        )
    return LedgerReport(
        ok=chain.ok,
        count=chain.count,
        head_seq=chain.head_seq,
        head_hash=chain.head_hash,
        first_bad_seq=chain.first_bad_seq,
        problem=chain.problem,
    )
