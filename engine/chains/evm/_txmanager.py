"""One transaction manager per signer: never two transactions for one intent, nothing lost.

How a transaction goes (``send``):
1. Its *intent* (e.g. ``job:<id>``, ``workflow:<chain>:<id>@<next run>``) is looked up first: if
   it already has a transaction — from an earlier attempt, or before a crash — that one is
   followed, and nothing new is signed.
2. ``eth_estimateGas`` simulates it (a revert fails here, with the decoded reason, before any
   gas is spent) and sizes it (+ 20 %), in the moment's JSON-RPC batch with every other send's;
   EIP-1559 fees from ``eth_feeHistory`` (once per block) under the caps.
3. The nonce is the larger of the ledger's next nonce and the chain's pending nonce (external
   transactions from the same key move the ledger forward). Signed with eth-account, then
   **persisted with the ledger update in one commit before it is broadcast**. The sends that
   are ready at the same moment go as one batch: contiguous nonces, one commit, one broadcast
   in nonce order (while a batch commits and broadcasts, the next one gathers).
4. The tracker (:meth:`run`) follows every open transaction: receipts for *every* hash it ever
   had, confirmations, a reverted receipt → ``failed`` with the reason, unmined for
   ``bump_after`` → the same nonce re-signed with fees +12.5 % (at least) under the cap, one
   stable id across replacements; a nonce taken by a transaction that is not ours → re-signed
   with a new nonce; dropped from the mempool → broadcast again.
5. During an e-stop nothing is broadcast for the first time, but transactions already sent are
   still followed to their receipts (and bumped).

Resource handling: the manager holds no connection of its own (the store and the RPC client are
lent). Error handling: RPC failures in the tracker are logged and retried on the next tick; in
``send`` they propagate (the job attempt fails and is retried).
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import trio
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys import keys
from eth_utils import to_checksum_address

from engine.chains.evm import _ledger as ledger
from engine.chains.evm._ledger import TxRecord
from engine.chains.evm._rpc import EvmRpc, to_int
from engine.errors import ChainError, EstopActive, JobFailure, PermanentFailure, Reverted, RpcError, StoreError
from engine.gather import Gathered
from engine.ids import job_id as new_id
from engine.store import Store

log = logging.getLogger("shiftboss.evm")
GWEI = 10**9
GAS_MARGIN = 1.2
BUMP = 1.125  # replacements must pay at least 10 % more (geth); we add 12.5 %
CANCELLED = "cancelled by a same-nonce self-send"
QUIET_S = 5.0  # seconds unmined before the tracker asks whether the node still holds a transaction
SIGNED_GRACE = 2.0  # seconds a stored transaction is left to its sender before the tracker broadcasts it


@dataclass
class FeePolicy:
    max_fee: int  # cap on maxFeePerGas (wei)
    max_priority_fee: int  # cap on maxPriorityFeePerGas (wei)
    bump_after: float  # seconds unmined before a replacement
    confirmations: int
    receipt_timeout: float


class TxManager:
    def __init__(self, chain: str, chain_id: int, rpc: EvmRpc, store: Store, account: LocalAccount,
                 policy: FeePolicy, *, estop: Callable[[], bool] = lambda: False,
                 head: Callable[[], int | None] = lambda: None) -> None:
        self.chain, self.chain_id, self.rpc, self.store = chain, chain_id, rpc, store
        self.account = account
        self._key = keys.PrivateKey(bytes(account.key))  # made once: from the raw key, each sign would derive it again
        self.address = account.address
        self.policy = policy
        self.estop = estop
        self.head = head
        self._lock = trio.Lock()  # nonce allocation: one signing at a time
        self._waiting: dict[str, trio.Event] = {}  # transaction id → its waiters' wake-up
        self.last_seen: dict[str, Any] = {}  # chain vs ledger, for /v1/chains
        self._fees: tuple[tuple[int | None, int], tuple[int, int]] | None = None
        self._fees_reading: tuple[trio.Event, list[Exception]] | None = None  # the fee read out, and its failure
        self._next: int | None = None  # next nonce to hand out (see _allocate)
        self._intents: dict[str, trio.Lock] = {}
        self._gaps: set[int] = set()  # nonces handed out whose transaction may never have been stored
        self._updates: list[tuple[TxRecord, dict[str, Any]]] = []
        self._signing = Gathered(self._sign_batch, lambda: StoreError("the engine is stopping"))  # sends to sign
        self._sending: set[str] = set()  # stored transactions whose sender is broadcasting them now
        self._asked_held: dict[str, float] = {}  # hash → when the tracker last asked whether the node holds it
        self._lease = f"evm.tracker:{chain}:{account.address}"

    @property
    def tracking(self) -> bool:
        """Whether this engine tracks the signer now (beside other engines: while it holds the lease)."""
        return self.store.leads(self._lease)

    # --- sending ------------------------------------------------------------------------------

    async def send(self, intent: str, *, to: str | None, data: bytes = b"", value: int = 0,
                   job_id: str | None = None, gas: int | None = None) -> TxRecord:
        """The transaction for ``intent``: the existing one, or a new one signed, persisted and
        broadcast. Raises :class:`Reverted` (wrapped as PermanentFailure) if it would revert."""
        guard = self._intents.setdefault(intent, trio.Lock())  # one send per intent at a time
        async with guard:
            try:
                existing = await self.store.lookup(ledger.by_intents, intent)
                if existing is not None:
                    return existing
                if self.estop():
                    raise EstopActive("the emergency stop is engaged: nothing new is broadcast", code="estop")
                call: dict[str, Any] = {"from": self.address, "data": "0x" + data.hex(), "value": hex(value)}
                if to is not None:
                    call["to"] = to_checksum_address(to)
                estimate, (max_fee, tip) = await self._simulate(call, gas), await self.fees()
                if self.store.postgres:  # engines share this signer: the nonce comes from the locked ledger row
                    record = await self.store.write(
                        ledger.insert_allocating,
                        TxRecord(id=new_id("evm.tx"), chain=self.chain, signer=self.address, intent=intent, nonce=-1,
                                 to=call.get("to"), value=value, data=data, gas=estimate, max_fee=max_fee,
                                 priority_fee=tip, raw=b"", hashes=[], job_id=job_id),
                        lambda n: self._sign(n, call.get("to"), data, value, estimate, max_fee, tip),
                        int(self.last_seen.get("chain_pending_nonce") or 0))
                    return await self._sent(record)
                return await self._signed(TxRecord(
                    id=new_id("evm.tx"), chain=self.chain, signer=self.address, intent=intent, nonce=-1,
                    to=call.get("to"), value=value, data=data, gas=estimate, max_fee=max_fee, priority_fee=tip,
                    raw=b"", hashes=[], job_id=job_id))
            finally:
                if not guard.statistics().tasks_waiting:
                    self._intents.pop(intent, None)

    async def _signed(self, record: TxRecord) -> TxRecord:
        """``record`` given its nonce, signed, persisted and broadcast together with every other
        send that is ready meanwhile (:meth:`_sign_batch`). Raises :class:`JobFailure` if its
        broadcast failed (it stays stored; the tracker sends it)."""
        try:
            return await self._signing.add(record)
        finally:
            self._sending.discard(record.id)  # broadcast, or left to the tracker

    async def _sign_batch(self, records: list[TxRecord]) -> list[TxRecord | Exception]:
        """Contiguous nonces, signed, one commit, then one broadcast in nonce order: a block's
        due executions reach the node together, not one by one."""
        try:
            first = await self._allocate(len(records))
            for i, record in enumerate(records):
                if i and not i % 64:
                    await trio.lowlevel.checkpoint()  # ~25 ms of signing at a time: the loop stays responsive
                record.nonce = first + i
                record.raw, tx_hash = self._sign(record.nonce, record.to, record.data, record.value, record.gas,
                                                 record.max_fee, record.priority_fee)
                record.hashes = [tx_hash]
            self._sending.update(r.id for r in records)  # the tracker leaves them to this batch
            stored = await self.store.write(ledger.insert_signed_many, records)
            failures = {} if self.estop() else await self._broadcast_all(stored)  # (e-stop since: stored, unsent)
        except BaseException:
            # handed out, maybe never persisted: the tracker checks, and fills them if so
            self._gaps.update(r.nonce for r in records if r.nonce >= 0)
            raise
        return [failures.get(r.id) or r for r in stored]

    async def _simulate(self, call: dict[str, Any], gas: int | None) -> int:
        """The call simulated — ``eth_estimateGas`` runs it, and fails as it would, with the
        revert reason, before any gas is spent — and its gas (+20 %). It goes in the moment's
        JSON-RPC batch with every other send's. A caller-given ``gas`` is still simulated."""
        try:
            estimated = await self.rpc.estimate_gas(call)
        except Reverted as exc:
            raise PermanentFailure(f"the transaction would revert: {exc.reason or 'no reason given'}",
                                   code="reverted", details={"reason": exc.reason}) from None
        return gas or int(estimated * GAS_MARGIN)

    async def _sent(self, record: TxRecord) -> TxRecord:
        if record.state == "signed" and not self.estop():
            failure = (await self._broadcast_all([record])).get(record.id)
            if failure is not None:
                raise failure
        return record

    async def _allocate(self, n: int = 1) -> int:
        """The next nonce (the first of ``n`` contiguous ones), from memory: the reconciled
        ledger (or the chain's pending nonce) at first, then counted up. Allocation does no I/O
        once primed, so sends pipeline."""
        async with self._lock:
            if self._next is None:
                booked = await self.store.read(ledger.ledger_next, self.chain, self.address)
                pending = await self.rpc.nonce(self.address, "pending")
                self._next = max(pending, booked or 0)
            nonce = self._next
            self._next += n
            return nonce

    def _sign(self, nonce: int, to: str | None, data: bytes, value: int, gas: int, max_fee: int,
              tip: int) -> tuple[bytes, str]:
        tx: dict[str, Any] = {"type": 2, "chainId": self.chain_id, "nonce": nonce, "value": value, "data": data,
                              "gas": gas, "maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip}
        if to is not None:
            tx["to"] = to
        signed = Account.sign_transaction(tx, self._key)
        return bytes(signed.raw_transaction), "0x" + bytes(signed.hash).hex()

    async def fees(self) -> tuple[int, int]:
        """(maxFeePerGas, maxPriorityFeePerGas): twice the next base fee plus the median tip of
        recent blocks, under the caps. Read at most once per block (and per second), and once for
        all who ask while it is being read (a block's thousand executions make one read)."""
        key = (self.head(), int(time.monotonic()))
        if self._fees is not None and self._fees[0] == key:
            return self._fees[1]
        reading = self._fees_reading
        if reading is not None:  # a read is out: its answer (or its failure) is everyone's who waits
            await reading[0].wait()
            if reading[1]:
                raise ChainError(f"reading fees: {reading[1][0]}")
            assert self._fees is not None
            return self._fees[1]
        self._fees_reading = reading = (trio.Event(), [])
        try:
            fees = await self._fetch_fees()
            self._fees = (key, fees)
            return fees
        except BaseException as exc:
            reading[1].append(exc if isinstance(exc, Exception) else ChainError("the fee read was interrupted"))
            raise
        finally:
            self._fees_reading = None
            reading[0].set()

    async def _fetch_fees(self) -> tuple[int, int]:
        history = await self.rpc.fee_history(5, [50.0])
        base = to_int(history["baseFeePerGas"][-1])
        tips = [to_int(r[0]) for r in history.get("reward") or [] if r]
        tip = min(max(int(statistics.median(tips)) if tips else GWEI, GWEI // 10), self.policy.max_priority_fee)
        max_fee = min(2 * base + tip, self.policy.max_fee)
        return max_fee, min(tip, max_fee)

    async def _broadcast_all(self, records: list[TxRecord]) -> dict[str, JobFailure]:
        """Send the stored ``records`` in nonce order, in one JSON-RPC batch, and record the
        outcome in one commit: ``sent``, or the node's refusal. Returns why each failed one
        failed (refused: the error is stored; nobody answered: it stays ``signed`` for the
        tracker)."""
        records = sorted((r for r in records if r.state == "signed"), key=lambda r: r.nonce)
        answers = await self.rpc.together([("eth_sendRawTransaction", ["0x" + r.raw.hex()]) for r in records])
        now, updates, failures = time.time(), [], {}
        for record, answer in zip(records, answers, strict=True):
            text = str(answer).lower() if isinstance(answer, RpcError) else ""
            if "underpriced" in text:
                log.warning("%s: %s underpriced; the tracker will bump it", self.chain, record.id)
            if not isinstance(answer, Exception) or any(
                    known in text for known in ("already known", "known transaction", "nonce too low", "underpriced")):
                # out there (or its nonce is used: the tracker finds out by whom; underpriced: it bumps it)
                updates.append((record, {"state": "sent", "sent_at": now, "error": None}))
            elif isinstance(answer, RpcError):
                updates.append((record, {"error": str(answer)}))
                failures[record.id] = JobFailure(f"broadcast of {record.id} refused: {answer}", code="broadcast")
            else:  # nobody answered: it stays signed; the tracker broadcasts it later
                updates.append((record, {"error": str(answer)}))
                failures[record.id] = JobFailure(f"broadcast of {record.id} failed ({answer}); it is persisted "
                                                 "and will be sent", code="broadcast")
        if updates:
            await self.store.write(ledger.update_many, updates)
        self._poke([r.id for r in records])
        return failures

    # --- waiting ------------------------------------------------------------------------------

    async def wait(self, tx_id: str, within: float | None = None) -> TxRecord:
        """Until the transaction is confirmed (returned) or failed (:class:`PermanentFailure`
        with the revert reason). Not within ``within`` seconds (default: the receipt timeout):
        a retryable failure — the transaction stays tracked."""
        within = within or self.policy.receipt_timeout
        with trio.move_on_after(within):
            while True:
                record = await self.store.lookup(ledger.by_ids, tx_id)
                if record is None:
                    raise ChainError(f"no transaction {tx_id}")
                if record.state == "confirmed":
                    return record
                if record.state == "cancelled":
                    raise PermanentFailure(f"transaction {record.id} was cancelled", code="cancelled")
                if record.state == "failed":
                    raise PermanentFailure(f"transaction {record.hash} reverted: {record.error or 'no reason given'}",
                                           code="reverted", details={"tx": record.public()})
                event = self._waiting.setdefault(tx_id, trio.Event())
                with trio.move_on_after(1.0):  # woken when the tracker changes it; a read a second anyway
                    await event.wait()
        raise JobFailure(f"no confirmed receipt for {tx_id} within {within:g} s; "
                         "it is still tracked", code="receipt_timeout")

    def _poke(self, tx_ids: list[str]) -> None:
        """Wake the waiters of these transactions (only theirs: a thousand waiting jobs must not
        each read their transaction again whenever any one changes)."""
        for tx_id in tx_ids:
            event = self._waiting.pop(tx_id, None)
            if event is not None:
                event.set()

    # --- tracking -----------------------------------------------------------------------------

    async def run(self, *, interval: float = 1.0,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> NoReturn:
        """The tracker. Engines sharing a PostgreSQL store track one signer on one engine at a
        time (a lease each holds for ``5 × interval`` and renews every tick): two trackers would
        bump or re-sign the same transaction twice."""
        await self.reconcile()
        task_status.started()
        while True:
            try:
                if await self.store.lead(self._lease, max(5.0, 5 * interval)):
                    await self.track()
                    await self.reconcile()
            except (ChainError, StoreError) as exc:  # both retried on the next tick
                log.warning("%s: tracking %s: %s", self.chain, self.address, exc)
            await trio.sleep(interval)

    async def reconcile(self) -> dict[str, Any]:
        """Chain nonces (latest, pending) beside the ledger; external transactions from this key
        move the ledger forward."""
        latest, pending = await self.rpc.batch([("eth_getTransactionCount", [self.address, "latest"]),
                                                ("eth_getTransactionCount", [self.address, "pending"])])
        latest, pending = to_int(latest), to_int(pending)
        booked = await self.store.read(ledger.ledger_next, self.chain, self.address)
        open_txs = await self.store.read(ledger.open_txs, self.chain, self.address)
        ours_pending = {t.nonce for t in open_txs}
        if booked is None or pending > booked:
            if booked is not None and not ours_pending & set(range(booked, pending)):
                log.info("%s: %d transaction(s) from %s not sent by us; ledger %d → %d", self.chain,
                         pending - booked, self.address, booked, pending)
            await self.store.write(ledger.advance_ledger, self.chain, self.address, pending)
            booked = pending
        if self._next is not None and pending > self._next:
            self._next = pending  # external transactions took nonces we had not handed out yet
        self.last_seen = {"address": self.address, "chain_latest_nonce": latest, "chain_pending_nonce": pending,
                          "ledger_next_nonce": booked, "drift": booked - pending, "open": len(open_txs)}
        return self.last_seen

    async def track(self) -> None:
        if self._gaps and not self.estop():
            await self._fill_gaps(await self.rpc.nonce(self.address, "latest"))
        open_txs = await self.store.read(ledger.open_txs, self.chain, self.address)
        if not open_txs:
            return
        latest_nonce = await self.rpc.nonce(self.address, "latest")
        head = self.head() or await self.rpc.block_number()
        # receipts can exist only below the account's mined nonce (or for those seen mined already)
        hashes = [h for r in open_txs if r.state != "signed" and (r.nonce < latest_nonce or r.state == "mined")
                  for h in r.hashes]
        answers = await self.rpc.together([("eth_getTransactionReceipt", [h]) for h in hashes])  # batched
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer
        found = dict(zip(hashes, answers, strict=True))
        receipts = {r.id: next((found[h] for h in reversed(r.hashes) if found.get(h)), None) for r in open_txs}
        # unmined for a while, neither taken nor due a bump: does the node still hold them? (one batch)
        now = time.time()
        quiet = [r.hash for r in open_txs if r.state == "sent" and receipts[r.id] is None and latest_nonce <= r.nonce
                 and r.sent_at is not None and QUIET_S < now - r.sent_at <= self.policy.bump_after
                 and now - self._asked_held.get(r.hash, 0.0) > QUIET_S]
        self._asked_held = {h: t for h, t in self._asked_held.items() if now - t <= QUIET_S} | dict.fromkeys(quiet, now)
        held = dict(zip(quiet, await self.rpc.together([("eth_getTransactionByHash", [h]) for h in quiet]),
                        strict=True))
        self._updates = []
        changed = await self._send_stored([r for r in open_txs if r.state == "signed"])
        changed += [record.id for record in open_txs if record.state != "signed"
                    and await self._track_one(record, latest_nonce, head, receipts[record.id], held)]
        if self._updates:  # receipts and confirmations: one commit for all of them
            await self.store.write(ledger.update_many, self._updates)
        self._poke(changed)

    async def _send_stored(self, signed: list[TxRecord]) -> list[str]:
        """Broadcast the stored transactions nobody is broadcasting (their sender failed, or
        crashed) — all at once, so they go in one batch; their receipts come in later ticks.
        Those of this engine's senders are left to them, and other engines' for a grace."""
        now = time.time()
        due = [r for r in signed if r.id not in self._sending and now - r.updated_at >= SIGNED_GRACE]
        if not due or self.estop():
            return []

        for failure in (await self._broadcast_all(due)).values():
            log.warning("%s: %s", self.chain, failure)
        return [r.id for r in due]

    async def _track_one(self, record: TxRecord, latest_nonce: int, head: int, receipt: dict[str, Any] | None,
                         held: dict[str, Any]) -> bool:
        if receipt is not None:
            return await self._mined(record, receipt, head)
        if record.state == "mined":  # its receipt vanished: a reorg — send it again
            await self.store.write(ledger.update, record, state="sent", receipt=None)
            await self._rebroadcast(record)
            return True
        if latest_nonce > record.nonce:
            # the nonce is used, and none of our hashes has a receipt: not by us — sign again
            return await self._renonce(record)
        if record.sent_at is not None and time.time() - record.sent_at > self.policy.bump_after:
            return await self._bump(record)
        if record.hash not in held:
            return False  # sent moments ago: the node has it
        known = held[record.hash]
        if isinstance(known, Exception):
            raise known  # the lookup failed: the next tick tries again
        if known is None:
            await self._rebroadcast(record)  # the node forgot it (restart, eviction)
        return False

    async def _mined(self, record: TxRecord, receipt: dict[str, Any], head: int) -> bool:
        block = to_int(receipt["blockNumber"])
        if receipt.get("status") != "0x1":
            reason = await self._revert_reason(record, block)
            await self.store.write(ledger.update, record, state="failed", receipt=receipt, error=reason)
            return True
        head = max(head, block)  # a receipt proves its block exists, whatever the head we read before
        state = "confirmed" if head - block + 1 >= self.policy.confirmations else "mined"
        if state == "confirmed" and record.error == CANCELLED:
            state = "cancelled"
        if state != record.state or record.receipt != receipt:
            self._updates.append((record, {"state": state, "receipt": receipt, "error": None}))
            return True
        return False

    async def _revert_reason(self, record: TxRecord, block: int) -> str:
        call = {"from": self.address, "to": record.to, "data": "0x" + record.data.hex(), "value": hex(record.value),
                "gas": hex(record.gas)}
        try:
            await self.rpc.call(call, hex(max(block - 1, 0)))
        except Reverted as exc:
            return exc.reason or "reverted"
        except RpcError as exc:
            return str(exc)
        return "reverted (out of gas, or state changed in its block)"

    def _bumped(self, record: TxRecord, market: tuple[int, int]) -> tuple[int, int]:
        """(maxFeePerGas, tip) for a replacement of ``record``: +12.5 % or the market, under the caps."""
        market_fee, market_tip = market
        tip = min(max(int(record.priority_fee * BUMP) + 1, market_tip), self.policy.max_priority_fee)
        return min(max(int(record.max_fee * BUMP) + 1, market_fee, tip), self.policy.max_fee), tip

    async def _bump(self, record: TxRecord) -> bool:
        max_fee, tip = self._bumped(record, await self.fees())
        if max_fee < record.max_fee * 1.1 or tip < record.priority_fee * 1.1:
            log.warning("%s: %s is stuck at the fee cap (%d wei); waiting", self.chain, record.id, record.max_fee)
            await self.store.write(ledger.update, record, sent_at=time.time())  # next try after bump_after
            return False
        raw, tx_hash = self._sign(record.nonce, record.to, record.data, record.value, record.gas, max_fee, tip)
        await self.store.write(ledger.update, record, raw=raw, hashes=[*record.hashes, tx_hash], max_fee=max_fee,
                               priority_fee=tip, sent_at=time.time())
        log.info("%s: %s bumped to %.2f gwei (replacement %d)", self.chain, record.id, max_fee / GWEI,
                 len(record.hashes) - 1)
        await self._rebroadcast(record)
        return True

    async def _renonce(self, record: TxRecord) -> bool:
        pending = await self.rpc.nonce(self.address, "pending")
        if self.store.postgres:
            old = record.nonce
            record = await self.store.write(
                ledger.renonce_allocating, record,
                lambda n: self._sign(n, record.to, record.data, record.value, record.gas, record.max_fee,
                                     record.priority_fee), pending)
            log.info("%s: nonce %d of %s was taken by another transaction; re-signed with nonce %d", self.chain,
                     old, record.id, record.nonce)
            await self._rebroadcast(record)
            return True
        async with self._lock:
            self._next = max(self._next or 0, pending)
        nonce = await self._allocate()
        raw, tx_hash = self._sign(nonce, record.to, record.data, record.value, record.gas, record.max_fee,
                                  record.priority_fee)
        log.info("%s: nonce %d of %s was taken by another transaction; re-signed with nonce %d", self.chain,
                 record.nonce, record.id, nonce)
        await self.store.write(ledger.update, record, nonce=nonce, raw=raw, hashes=[*record.hashes, tx_hash],
                               sent_at=time.time())
        await self._rebroadcast(record)
        return True

    async def _fill_gaps(self, latest_nonce: int) -> None:
        """A nonce handed out whose transaction was never stored (the send was interrupted at the
        wrong moment) would hold back every later one: fill it with a zero-value self-send."""
        for nonce in sorted(self._gaps):
            stored = await self.store.read(ledger.by_nonce, self.chain, self.address, nonce)
            if nonce < latest_nonce or stored is not None:
                self._gaps.discard(nonce)  # used on chain, or stored after all
                continue
            max_fee, tip = await self._fetch_fees()
            raw, tx_hash = self._sign(nonce, self.address, b"", 0, 21_000, max_fee, tip)
            record = TxRecord(id=new_id("evm.tx"), chain=self.chain, signer=self.address,
                              intent=f"gap:{self.chain}:{self.address}:{nonce}", nonce=nonce, to=self.address,
                              value=0, data=b"", gas=21_000, max_fee=max_fee, priority_fee=tip, raw=raw,
                              hashes=[tx_hash])
            log.warning("%s: nonce %d was handed out but never stored; filling it with a self-send", self.chain,
                        nonce)
            await self.store.write(ledger.insert_signed, record)
            self._gaps.discard(nonce)

    async def _rebroadcast(self, record: TxRecord) -> None:
        try:
            await self.rpc.send_raw(record.raw)
        except RpcError as exc:
            log.info("%s: rebroadcast of %s: %s", self.chain, record.id, exc)

    async def recheck(self, from_block: int) -> int:
        """After a reorg back to ``from_block``: every transaction mined there or later is
        followed again (its receipt may be gone, or in another block). Returns how many."""
        records = await self.store.read(ledger.recent_txs, self.chain, self.address, from_block)
        for record in records:
            await self.store.write(ledger.update, record, state="mined")
        if records:
            log.warning("%s: %d transaction(s) mined at or after block %d are re-checked", self.chain, len(records),
                        from_block)
            self._poke([r.id for r in records])
        return len(records)

    async def cancel(self, tx_id: str) -> TxRecord:
        """Replace an unmined transaction with a zero-value send to ourselves at the same nonce
        (fees bumped, so it takes the replacement's place)."""
        record = await self.store.read(ledger.by_id, tx_id)
        if record is None or record.state not in ("signed", "sent"):
            raise ChainError(f"{tx_id} cannot be cancelled ({record.state if record else 'unknown'})")
        max_fee, tip = self._bumped(record, await self.fees())
        raw, tx_hash = self._sign(record.nonce, self.address, b"", 0, 21_000, max_fee, tip)
        await self.store.write(ledger.update, record, raw=raw, hashes=[*record.hashes, tx_hash], max_fee=max_fee,
                               priority_fee=tip, to=self.address, data=b"", value=0, gas=21_000,
                               sent_at=time.time(), error=CANCELLED)
        await self._rebroadcast(record)
        return record
