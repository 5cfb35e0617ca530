"""Cosmos SDK transactions with the EVM sender's guarantees, on the SDK's rules:

1. **One transaction per intent** (e.g. ``structs:build:5-12@1000``): one row, one id; sending
   it again returns that row.
2. **Persisted signed before it is broadcast** (:mod:`._txledger`): a crash between signing and
   broadcasting loses nothing — the tracker broadcasts what is still ``signed``.
3. **Sequences** are allocated per signer, in order: the next after the chain's account
   sequence and after every sequence the ledger holds, taken and signed in the commit that
   stores the transaction, under the signer's lock — engines sharing a PostgreSQL store never
   sign two transactions at one sequence. Broadcasts go out in sequence order (CheckTx refuses
   a gap; one refused behind another engine's lower one waits for it). The sends of a signer
   that are ready at one moment go as a batch: simulated together at the sequence the mempool
   expects (nothing of the signer's is broadcast meanwhile), stored in one commit at contiguous
   sequences, broadcast one after another — proofs that qualify together land together.
4. A transaction is **re-signed** with a fresh sequence only when it can no longer land: CheckTx
   refused its sequence (``account sequence mismatch``: it never entered a mempool), or the
   chain's account sequence has passed it and its hash is not in any block (another
   transaction spent it). So one intent never has two included transactions.
5. Gas comes from simulation (× ``gas_adjustment``); a failed simulation refuses the intent
   before anything is signed, with the chain's message (:class:`~._rpc.Refused`).
6. **Included** (``/tx`` finds the hash) means ``success`` with code 0, ``failed`` with the
   chain's code and log otherwise; the same bytes are broadcast again while unseen (CometBFT
   answers ``tx already exists in cache`` for those in its mempool).
7. During an e-stop nothing is broadcast for the first time and nothing is re-signed; what was
   sent is still followed.

Resource handling: the sender holds no connection of its own (store and RPC are lent). Error
handling: RPC failures in the tracker are logged and retried on the next tick; in ``send`` they
propagate (the job attempt fails and is retried, and finds its transaction).
"""

from __future__ import annotations

import functools
import logging
import time
from collections import defaultdict
from typing import Any, cast

import trio
from cosmpy.crypto.keypairs import PrivateKey

from engine.chains._txwait import TxWaiter
from engine.chains.cometbft import _tx as codec
from engine.chains.cometbft import _txledger as ledger
from engine.chains.cometbft._rpc import CometRpc, Refused
from engine.chains.cometbft._txledger import CosmosTx
from engine.errors import ChainError, EstopActive, PermanentFailure
from engine.gather import Gathered
from engine.ids import job_id as new_id
from engine.store import Store

log = logging.getLogger("shiftboss.cometbft")
RESEND_AFTER = 3.0  # seconds before a sent, unseen transaction is broadcast again (same bytes)


class TxFailed(PermanentFailure):
    """The chain refused or failed the transaction."""

    def __init__(self, record: CosmosTx) -> None:
        super().__init__(f"{record.label} transaction {record.hash[:12]}… failed: {record.error}", code="tx_failed",
                         details={"tx": record.public()})
        self.record = record


class _Send:
    """One send in its signer's batch, and what became of it."""

    def __init__(self, intent: str, msgs: list[dict[str, Any]], label: str, job_id: str | None) -> None:
        self.intent, self.msgs, self.label, self.job_id = intent, msgs, label, job_id
        self.record: CosmosTx | None = None
        self.error: Exception | None = None


class CosmosTxs(TxWaiter[CosmosTx]):
    by_ids = staticmethod(ledger.by_ids)
    update = staticmethod(ledger.update)
    failure = TxFailed
    refusal = Refused

    def __init__(self, chain: str, rpc: CometRpc, store: Store, *, chain_id: str, estop: Any = lambda: False,
                 gas_adjustment: float = 1.5, gas_price: float = 0.0, denom: str = "ualpha") -> None:
        super().__init__()
        self.chain, self.rpc, self.store, self.chain_id = chain, rpc, store, chain_id
        self.estop, self.gas_adjustment, self.gas_price, self.denom = estop, gas_adjustment, gas_price, denom
        self.resend_after = RESEND_AFTER
        self._keys: dict[str, PrivateKey] = {}
        self._locks: defaultdict[str, trio.Lock] = defaultdict(trio.Lock)
        self._next: dict[str, int] = {}  # signer → the next sequence to allocate
        self._numbers: dict[str, int] = {}  # signer → account number
        self._batches: dict[str, Gathered[_Send, CosmosTx]] = {}  # signer → its sends, a batch at a time

    # --- keys -----------------------------------------------------------------------------------

    def add_signer(self, address: str, key: PrivateKey) -> None:
        self._keys[address] = key

    def signers(self) -> list[str]:
        return list(self._keys)

    # --- sending --------------------------------------------------------------------------------

    async def send(self, intent: str, signer: str, msgs: list[dict[str, Any]], *, label: str,
                   job_id: str | None = None) -> CosmosTx:
        """The transaction for ``intent``: the existing one, or a new one simulated, signed,
        persisted and broadcast. :class:`Refused` if the simulation fails (nothing is written)."""
        existing = await self.store.lookup(ledger.by_intents, intent)
        if existing is not None:
            return existing
        if self.estop():
            raise EstopActive("the emergency stop is engaged: nothing new is sent", code="estop")
        key = self._keys.get(signer)
        if key is None:
            raise PermanentFailure(f"no signing key for {signer} on {self.chain}", code="no_signer")
        if not self.chain_id:
            raise ChainError(f"{self.chain}: not connected yet (the chain id is unknown)")
        gathered = self._batches.get(signer)
        if gathered is None:
            gathered = self._batches[signer] = Gathered(
                functools.partial(self._send_gathered, signer),
                lambda: ChainError(f"{self.chain}: the engine is stopping"))
        return await gathered.add(_Send(intent, msgs, label, job_id))

    async def _send_gathered(self, signer: str, sends: list[_Send]) -> list[CosmosTx | Exception]:
        """The signer's sends that gathered while its last batch was out, under its lock."""
        try:
            async with self._locks[signer]:
                await self._send_batch(signer, self._keys[signer], sends)
        except Exception as exc:  # noqa: BLE001 - each send it left unanswered raises it
            for send in sends:
                if send.record is None and send.error is None:
                    send.error = exc
        return [send.error or cast(CosmosTx, send.record) for send in sends]  # each has one or the other

    async def _send_batch(self, signer: str, key: PrivateKey, sends: list[_Send]) -> None:
        """Simulate every send at the sequence the mempool expects now — all at once: nothing of
        this signer's is broadcast meanwhile — then allocate their sequences, sign and store them
        in one commit, and broadcast them in sequence order (CheckTx refuses a gap). A refused
        simulation fails its own send, with the chain's message; nothing of it is signed."""
        held = await self.store.read(ledger.by_intents, [s.intent for s in sends])
        for send in sends:  # stored since it was asked (by an earlier batch): that one is followed
            send.record = held.get(send.intent)
        fresh = [s for s in sends if s.record is None]
        if not fresh:
            return
        number, gas = await self._simulate_all(key, signer, fresh)
        ready = [s for s in fresh if s.error is None]
        if not ready:
            return
        _, floor = await self._allocate(signer)
        drafts = [CosmosTx(id=new_id("cosmos.tx"), chain=self.chain, signer=signer, intent=s.intent, label=s.label,
                           msgs=s.msgs, raw="", hashes=[], sequence=floor, account_number=number, gas=gas[id(s)],
                           job_id=s.job_id) for s in ready]
        stored = await self.store.write(ledger.insert_allocating_many, drafts, [
            functools.partial(self._signed, key, s.msgs, number, gas[id(s)]) for s in ready])
        for send, record in zip(ready, stored, strict=True):
            send.record = record
            self._next[signer] = max(self._next.get(signer, 0), record.sequence + 1)
        for record in sorted({r.id: r for r in stored}.values(), key=lambda r: r.sequence):
            if record.state == "signed" and not self.estop():
                await self._broadcast(record)

    async def _simulate_all(self, key: PrivateKey, signer: str, sends: list[_Send]) -> tuple[int, dict[int, int]]:
        """(account number, each send's gas limit). The simulation checks the sequence too: one
        spent elsewhere (another wallet with this key) moves ours to the chain's. A send whose
        simulation is refused gets the refusal as its error."""
        gas: dict[int, int] = {}
        pending = list(sends)
        for _ in range(3):
            number, sequence = await self._allocate(signer)
            moved: list[int] = []

            async def simulate(send: _Send, number: int = number, sequence: int = sequence,
                               moved: list[int] = moved) -> None:
                draft = codec.sign(key, send.msgs, chain_id=self.chain_id, account_number=number, sequence=sequence,
                                   gas=10_000_000)
                try:
                    gas[id(send)] = int(await self.rpc.simulate(draft.raw) * self.gas_adjustment) + 1
                except Refused as exc:
                    if exc.wrong_sequence is None or exc.wrong_sequence == sequence:
                        send.error = exc
                    else:
                        moved.append(exc.wrong_sequence)

            async with trio.open_nursery() as nursery:
                for send in pending:
                    nursery.start_soon(simulate, send)
            if not moved:
                return number, gas
            log.info("%s: %s's sequence is %d on chain, not %d: taking it", self.chain, signer, max(moved), sequence)
            self._next[signer] = max(moved)
            pending = [s for s in pending if s.error is None and id(s) not in gas]
        raise ChainError(f"{self.chain}: {signer}'s sequence keeps moving; try again")

    def _sign(self, key: PrivateKey, msgs: list[dict[str, Any]], number: int, sequence: int, gas: int) -> codec.Signed:
        fee = int(gas * self.gas_price + 0.999999) if self.gas_price else 0
        return codec.sign(key, msgs, chain_id=self.chain_id, account_number=number, sequence=sequence, gas=gas, fee=fee,
                          denom=self.denom)

    def _signed(self, key: PrivateKey, msgs: list[dict[str, Any]], number: int, gas: int,
                sequence: int) -> tuple[str, str]:
        signed = self._sign(key, msgs, number, sequence, gas)
        return signed.raw.hex(), signed.hash

    async def _allocate(self, signer: str) -> tuple[int, int]:
        """(account number, the next sequence) — the chain's view and the ledger's, whichever is
        further; held in memory after the first ask."""
        if signer not in self._next:
            account = await self.rpc.account(signer)
            if account is None:
                raise PermanentFailure(f"the chain has no account {signer}: fund it first", code="no_account")
            self._numbers[signer] = account[0]
            held = await self.store.read(ledger.next_sequence, self.chain, signer)
            self._next[signer] = max(account[1], held)
        return self._numbers[signer], self._next[signer]

    async def _submit(self, record: CosmosTx) -> None:
        await self.rpc.broadcast(bytes.fromhex(record.raw))

    async def _refused(self, record: CosmosTx, exc: Exception) -> None:
        assert isinstance(exc, Refused)
        expected = exc.wrong_sequence
        if expected is None:
            if self._next.get(record.signer) == record.sequence + 1:
                self._next[record.signer] = record.sequence  # never in a mempool: its sequence is free
            await self.store.write(ledger.update, record, state="failed", error=f"{exc.log} ({exc.codespace} {exc.code})",
                                   error_code=exc.code)
        elif expected < record.sequence:
            holder = await self.store.read(ledger.open_at, self.chain, record.signer, expected)
            if holder is None:  # a gap below it (a lost transaction): fill it
                await self._resign(record, f"sequence {record.sequence} refused, the chain expects {expected}",
                                   expected, allocate=False)
            else:  # ours at that sequence is on its way (another engine's, perhaps): this one follows it
                await self.store.write(ledger.update, record, tries=record.tries + 1, sent_at=time.time(),
                                       error=f"after sequence {expected} ({holder.id})")
        elif not await self._landed_anyway(record):  # its sequence was spent: by it, or by another
            await self._resign(record, f"sequence {record.sequence} refused, the chain expects {expected}",
                               max(expected, self._next.get(record.signer, 0)))

    async def _landed_anyway(self, record: CosmosTx) -> bool:
        found = await self.rpc.find_txs(record.hashes)
        landed = next((t for t in found.values() if t is not None), None)
        if landed is not None:
            await self._included(record, landed)
        return landed is not None

    async def _resign(self, record: CosmosTx, why: str, sequence: int, *, allocate: bool = True) -> None:
        """``record`` signed again (the caller made sure its old sequence cannot land): at
        ``sequence`` exactly to fill a gap below it, else at the next free one from
        ``sequence`` on (allocated in the ledger: other engines may hold later ones)."""
        if self.estop():
            return
        key = self._keys.get(record.signer)
        if key is None:
            log.warning("%s: %s needs re-signing (%s) but the key of %s is not loaded", self.chain, record.id, why,
                        record.signer)
            return
        old = record.sequence
        sign = functools.partial(self._signed, key, record.msgs, record.account_number, record.gas)
        if allocate:
            await self.store.write(ledger.resign_allocating, record, sign, sequence)
        else:
            raw, tx_hash = sign(sequence)
            await self.store.write(ledger.update, record, raw=raw, hashes=[*record.hashes, tx_hash], sequence=sequence,
                                   state="signed")
        log.info("%s: %s re-signed (%s): sequence %d → %d", self.chain, record.id, why, old, record.sequence)
        self._next[record.signer] = max(self._next.get(record.signer, 0), record.sequence + 1)
        await self._broadcast(record)

    # --- tracking -------------------------------------------------------------------------------

    async def track(self) -> None:
        """One pass over the open transactions: one batched ``tx`` lookup for all their hashes."""
        open_txs = await self.store.read(ledger.open_txs, self.chain)
        if not open_txs:
            return
        hashes = [h for record in open_txs for h in record.hashes]
        found = await self.rpc.find_txs(hashes)
        chain_sequences: dict[str, int] = {}
        for record in open_txs:
            included = next((found[h] for h in record.hashes if found[h] is not None), None)
            try:
                if included is not None:
                    await self._included(record, included)
                    continue
                async with self._locks[record.signer]:
                    if record.state == "sent" and time.time() - (record.sent_at or 0) < self.resend_after:
                        continue
                    if record.signer not in chain_sequences:
                        account = await self.rpc.account(record.signer)
                        chain_sequences[record.signer] = -1 if account is None else account[1]
                    spent = chain_sequences[record.signer]
                    if spent > record.sequence:
                        # spent by another transaction, and ours is in no block: it can never land
                        if not await self._landed_anyway(record):
                            await self._resign(record, f"sequence {record.sequence} was spent",
                                               max(spent, self._next.get(record.signer, 0)))
                    elif not self.estop():
                        await self._broadcast(record)  # the same bytes: a mempool holds them once
            except ChainError as exc:
                log.info("%s: following %s: %s", self.chain, record.id, exc)
        self._poke()

    async def _included(self, record: CosmosTx, found: Any) -> None:
        result = found.tx_result
        if result.code == 0:
            await self.store.write(ledger.update, record, state="success", height=int(found.height), error=None,
                                   error_code=None)
        else:
            await self.store.write(ledger.update, record, state="failed", height=int(found.height),
                                   error=f"{result.log} ({result.codespace} {result.code})", error_code=result.code)
