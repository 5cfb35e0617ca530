"""Solana transactions with the EVM sender's guarantees, on Solana's rules:

1. **One transaction per intent.** An intent (e.g. ``cloudmesh.complete:<job account>``) has one
   row and one id; sending it again returns that row.
2. **Persisted signed before it is sent** (:mod:`._txledger`), so a crash between signing and
   sending loses nothing: the tracker sends what is still ``signed``.
3. **A blockhash expires** (150 blocks). A transaction not landed when the chain's block height
   has passed its ``lastValidBlockHeight`` can never land any more; only then — after every
   earlier signature of the intent is checked once more — is it signed again with a fresh
   blockhash, under the same id. So one intent never has two landed transactions.
4. **Preflight** (the node's simulation) answers a program error before any fee is spent: the
   transaction is ``failed`` with the error named (the program's codes via ``error_name``).
   ``AlreadyProcessed`` means it landed: it is followed, not failed.
5. **Confirmation levels**: ``success`` once its status reaches ``commitment`` (default
   ``confirmed``); an error that landed is ``failed`` with its code.
6. During an e-stop nothing is sent for the first time and nothing is re-signed; what was sent
   is still followed.

Resource handling: the sender holds no connection of its own (the store and the RPC client are
lent). Error handling: RPC failures in the tracker are logged and retried on the next tick; in
``send`` they propagate (the job attempt fails and is retried, and finds its transaction).
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from engine.chains._txwait import TxWaiter
from engine.chains.solana import _txledger as ledger
from engine.chains.solana._rpc import Commitment, PreflightFailed, SignatureStatus, SolanaRpc, custom_code
from engine.chains.solana._txledger import SolanaTx
from engine.errors import ChainError, EstopActive, PermanentFailure
from engine.ids import job_id as new_id
from engine.store import Store

log = logging.getLogger("shiftboss.solana")
RESEND_AFTER = 2.0  # seconds before a sent, unseen transaction is sent again (same bytes, same signature)


class TxFailed(PermanentFailure):
    """The transaction failed (on chain or in preflight)."""

    def __init__(self, record: SolanaTx) -> None:
        super().__init__(f"{record.label} transaction {record.signature[:12]}… failed: {record.error}",
                         code="tx_failed", details={"tx": record.public()})
        self.record = record


def encode_instructions(instructions: Sequence[Instruction]) -> list[dict[str, Any]]:
    return [{"program": str(ix.program_id), "data": base64.b64encode(bytes(ix.data)).decode(),
             "accounts": [[str(m.pubkey), m.is_signer, m.is_writable] for m in ix.accounts]} for ix in instructions]


def decode_instructions(stored: list[dict[str, Any]]) -> list[Instruction]:
    return [Instruction(Pubkey.from_string(ix["program"]), base64.b64decode(ix["data"]),
                        [AccountMeta(Pubkey.from_string(k), bool(s), bool(w)) for k, s, w in ix["accounts"]])
            for ix in stored]


def sign(key: Keypair, instructions: Sequence[Instruction], blockhash: Hash) -> tuple[str, str]:
    """(the signed transaction as base64, its signature); ``key`` pays the fee."""
    tx = Transaction([key], Message.new_with_blockhash(list(instructions), key.pubkey(), blockhash), blockhash)
    return base64.b64encode(bytes(tx)).decode(), str(tx.signatures[0])


class SolanaTxs(TxWaiter[SolanaTx]):
    by_ids = staticmethod(ledger.by_ids)
    update = staticmethod(ledger.update)
    failure = TxFailed
    refusal = PreflightFailed

    def __init__(self, chain: str, rpc: SolanaRpc, store: Store, *, estop: Callable[[], bool] = lambda: False,
                 commitment: Commitment = "confirmed",
                 error_name: Callable[[int], str] = lambda code: f"custom program error {code}") -> None:
        super().__init__()
        self.chain, self.rpc, self.store = chain, rpc, store
        self.estop, self.commitment, self.error_name = estop, commitment, error_name
        self.resend_after = RESEND_AFTER
        self._keys: dict[str, Keypair] = {}
        self.block_height: int | None = None

    # --- keys -----------------------------------------------------------------------------------

    def add_signer(self, key: Keypair) -> None:
        """Sign for ``key`` (kept in memory only)."""
        self._keys[str(key.pubkey())] = key

    def signers(self) -> list[str]:
        return list(self._keys)

    def _key(self, signer: str) -> Keypair:
        key = self._keys.get(signer)
        if key is None:
            raise PermanentFailure(f"no signing key for {signer} on {self.chain}", code="no_signer")
        return key

    # --- sending --------------------------------------------------------------------------------

    async def send(self, intent: str, signer: str, instructions: Sequence[Instruction], *, label: str,
                   job_id: str | None = None) -> SolanaTx:
        """The transaction for ``intent``: the existing one, or a new one signed, persisted and
        sent. A failed preflight leaves it ``failed`` (nothing was sent)."""
        existing = await self.store.read(ledger.by_intent, intent)
        if existing is not None:
            return existing
        if self.estop():
            raise EstopActive("the emergency stop is engaged: nothing new is sent", code="estop")
        key = self._key(signer)
        blockhash, last_valid = await self.rpc.latest_blockhash()
        raw, signature = sign(key, instructions, blockhash)
        record = SolanaTx(id=new_id("solana.tx"), chain=self.chain, signer=signer, intent=intent, label=label,
                          instructions=encode_instructions(instructions), raw=raw, signatures=[signature],
                          last_valid=last_valid, job_id=job_id)
        record = await self.store.write(ledger.insert_signed, record)
        if record.state == "signed" and not self.estop():
            await self._broadcast(record)
        return record

    async def _submit(self, record: SolanaTx) -> None:
        await self.rpc.send(base64.b64decode(record.raw))

    async def _refused(self, record: SolanaTx, exc: Exception) -> None:
        assert isinstance(exc, PreflightFailed)
        if exc.kind == "AlreadyProcessed":  # it landed (an earlier send): follow it
            await self.store.write(ledger.update, record, state="sent", error=None)
        elif exc.kind == "BlockhashNotFound":  # expired before it reached a leader
            await self._resign(record, "blockhash not found")
        else:
            code = exc.custom
            why = f"{self.error_name(code)} ({code})" if code is not None else f"preflight: {exc.err}"
            await self.store.write(ledger.update, record, state="failed", error=why, error_code=code)

    async def _resign(self, record: SolanaTx, why: str) -> None:
        """A fresh blockhash for ``record`` — only once none of its signatures landed."""
        if self.estop():
            return
        for status in await self.rpc.statuses(record.signatures):
            if status is not None:
                await self._landed(record, status)
                return
        key = self._keys.get(record.signer)
        if key is None:
            log.warning("%s: %s needs re-signing (%s) but the key of %s is not loaded", self.chain, record.id, why,
                        record.signer)
            return
        blockhash, last_valid = await self.rpc.latest_blockhash()
        raw, signature = sign(key, decode_instructions(record.instructions), blockhash)
        log.info("%s: %s re-signed (%s): %s… → %s…", self.chain, record.id, why, record.signature[:12], signature[:12])
        await self.store.write(ledger.update, record, raw=raw, signatures=[*record.signatures, signature],
                               last_valid=last_valid, state="signed")
        await self._broadcast(record)

    # --- waiting and tracking ------------------------------------------------------------------

    async def track(self) -> None:
        """One pass over the open transactions: one status request for all their signatures."""
        open_txs = await self.store.read(ledger.open_txs, self.chain)
        if not open_txs:
            return
        signatures = [s for record in open_txs for s in record.signatures]
        found = dict(zip(signatures, await self.rpc.statuses(signatures), strict=True))
        self.block_height = await self.rpc.block_height()
        for record in open_txs:
            landed = next((found[s] for s in record.signatures if found[s] is not None), None)
            try:
                if landed is not None:
                    await self._landed(record, landed)
                elif self.block_height > record.last_valid:
                    await self._resign(record, "blockhash expired")
                elif not self.estop() and (record.state == "signed"
                                           or time.time() - (record.sent_at or 0) >= self.resend_after):
                    await self._broadcast(record)  # the same bytes: at most one of them lands
            except ChainError as exc:
                log.info("%s: following %s: %s", self.chain, record.id, exc)
        self._poke()

    async def _landed(self, record: SolanaTx, status: SignatureStatus) -> None:
        if status.err is not None:
            code = custom_code(status.err)
            why = f"{self.error_name(code)} ({code})" if code is not None else f"failed on chain: {status.err}"
            await self.store.write(ledger.update, record, state="failed", slot=status.slot, error=why, error_code=code)
        elif status.reached(self.commitment):
            await self.store.write(ledger.update, record, state="success", slot=status.slot, error=None)
        elif record.state == "signed":
            await self.store.write(ledger.update, record, state="sent", slot=status.slot)
