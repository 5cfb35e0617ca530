"""The Soroban transaction sender of one chain: never two transactions for one intent, nothing
lost — the EVM transaction manager's guarantees, on Stellar's rules.

How a transaction goes (``send``):
1. Its *intent* (``kale.work:G…:42:z9``) is looked up first: if it already has a transaction —
   from an earlier attempt, or before a crash — that one is followed, and nothing new is signed.
2. One transaction in flight per source account (Stellar Core queues one per account): a send
   waits until the account's previous transaction is final. Engines sharing a PostgreSQL store
   keep to it too: the transaction is stored under the account's lock only if the account is
   still idle (else the send waits and builds again).
3. The sequence number is the chain's (``getLedgerEntries`` of the account) + 1, reconciled with
   the account's sequence ledger (a gap or external transactions are logged). The call is
   simulated — a contract error fails here, named, before any fee is spent — assembled
   (footprint, resources, fee) and signed with a time bound (``tx_timeout``).
4. **Persisted signed before it is sent**, with the ledger update, in one commit; then sent.
   ``PENDING`` and ``DUPLICATE`` → sent; ``TRY_AGAIN_LATER`` → sent again later; ``ERROR``
   with ``txBAD_SEQ`` or ``txTOO_LATE`` → re-simulated and re-signed with a fresh sequence
   number (same id, every hash kept); other refusals → failed with the result code's name.
5. The tracker (:meth:`run`) follows every open transaction with ``getTransaction``: SUCCESS
   (with its return value) or FAILED (its contract error found by simulating the call again:
   ``Error(Contract, #7)`` → ``ZeroCountTooLow``). One the network has not seen once its time
   bound has passed can never land: it is re-signed (after checking every earlier hash).
6. During an e-stop nothing is sent for the first time; sent transactions are still followed.

Resource handling: the sender holds no connection of its own (the store and the RPC client are
lent). Error handling: RPC failures in the tracker are logged and retried on the next tick; in
``send`` they propagate (the job attempt fails and is retried, and finds its transaction).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import trio
from stellar_sdk import Account, Keypair, TransactionBuilder
from stellar_sdk import xdr as sx
from stellar_sdk.base_soroban_server import _assemble_transaction

from engine.chains._txwait import TxWaiter
from engine.chains.soroban import _txledger as ledger
from engine.chains.soroban._rpc import ContractFailed, SorobanRpc
from engine.chains.soroban._txledger import SorobanTx
from engine.errors import ChainError, EstopActive, JobFailure, PermanentFailure
from engine.ids import job_id as new_id
from engine.store import Store

log = logging.getLogger("shiftboss.soroban")
RESEND_AFTER = 2.0  # seconds before a TRY_AGAIN_LATER (or unanswered) send is tried again
_RESIGN = ("txBAD_SEQ", "txTOO_LATE")
BUILD_TRIES = 50  # builds of one send refused because the account was busy (another engine's transaction)


class TxFailed(PermanentFailure):
    """The transaction failed on chain, or the network refused it for good."""

    def __init__(self, record: SorobanTx) -> None:
        super().__init__(f"{record.function} transaction {record.hash[:12]}… failed: {record.error}",
                         code="tx_failed", details={"tx": record.public()})
        self.record = record


def result_code(result_xdr: str | None) -> str:
    """The ``TransactionResultCode`` name in a ``TransactionResult`` (``txBAD_SEQ``)."""
    if not result_xdr:
        return "no result"
    try:
        return sx.TransactionResult.from_xdr(result_xdr).result.code.name
    except Exception:  # noqa: BLE001 - any XDR failure: say so rather than fail the tracker
        return "unreadable result"


def return_value(meta_xdr: str | None) -> sx.SCVal | None:
    """The call's return value from a ``TransactionMeta`` (v3 or v4)."""
    if not meta_xdr:
        return None
    meta = sx.TransactionMeta.from_xdr(meta_xdr)
    body = meta.v4 if meta.v == 4 else meta.v3
    soroban = getattr(body, "soroban_meta", None)
    return getattr(soroban, "return_value", None)


class SorobanTxs(TxWaiter[SorobanTx]):
    by_ids = staticmethod(ledger.by_ids)
    failure = TxFailed

    def __init__(self, chain: str, rpc: SorobanRpc, store: Store, *, passphrase: Callable[[], str | None],
                 estop: Callable[[], bool] = lambda: False, base_fee: int = 100, tx_timeout: int = 30,
                 error_name: Callable[[int], str] = lambda n: f"#{n}",
                 head: Callable[[], int | None] = lambda: None) -> None:
        super().__init__()
        self.chain, self.rpc, self.store = chain, rpc, store
        self.head = head  # the chain's latest ledger as its watcher saw it (None: unknown)
        self._looked: dict[str, int] = {}  # a sent transaction's id → the ledger it was last looked up at
        self.passphrase = passphrase
        self.estop = estop
        self.base_fee, self.tx_timeout = base_fee, tx_timeout
        self.error_name = error_name
        self._keys: dict[str, Keypair] = {}
        self._accounts: dict[str, trio.Lock] = {}
        self.last_seen: dict[str, Any] = {}
        self.resend_after = RESEND_AFTER
        self._network_time = 0  # the latest ledger close time the network told us

    # --- keys -----------------------------------------------------------------------------------

    def add_signer(self, key: Keypair) -> None:
        """Sign for ``key``'s account (kept in memory only)."""
        self._keys[key.public_key] = key

    def remove_signer(self, address: str) -> None:
        self._keys.pop(address, None)

    def signers(self) -> list[str]:
        return list(self._keys)

    def _key(self, source: str) -> Keypair:
        key = self._keys.get(source)
        if key is None:
            raise PermanentFailure(f"no signing key for {source} on {self.chain}", code="no_signer")
        return key

    # --- sending --------------------------------------------------------------------------------

    async def send(self, intent: str, source: str, contract: str, function: str, args: list[sx.SCVal], *,
                   job_id: str | None = None) -> SorobanTx:
        """The transaction for ``intent``: the existing one, or a new one simulated, signed,
        persisted and sent. A contract error in simulation raises :class:`ContractFailed`
        (named, with its number); nothing is persisted then."""
        existing = await self.store.read(ledger.by_intent, intent)
        if existing is not None:
            return existing
        if self.estop():
            raise EstopActive("the emergency stop is engaged: nothing new is sent", code="estop")
        key = self._key(source)
        arg_xdr = [a.to_xdr() for a in args]
        async with self._accounts.setdefault(source, trio.Lock()):
            for _ in range(BUILD_TRIES):
                await self._until_idle(source)
                existing = await self.store.read(ledger.by_intent, intent)
                if existing is not None:
                    return existing
                envelope, tx_hash, sequence, max_time = await self._build(key, contract, function, arg_xdr)
                record = SorobanTx(id=new_id("soroban.tx"), chain=self.chain, source=source, intent=intent,
                                   contract=contract, function=function, args=arg_xdr, sequence=sequence,
                                   envelope=envelope, hashes=[tx_hash], max_time=max_time, job_id=job_id)
                stored = await self.store.write(ledger.insert_if_idle, record)
                if stored is not None:
                    break
                await trio.sleep(0.2)  # another engine sent for this account first (or the chain read was stale)
            else:
                raise ChainError(f"{self.chain}: {source} stayed busy with other engines' transactions; try again")
            if stored.state == "signed" and not self.estop():
                await self._broadcast(stored)
        return stored

    async def _until_idle(self, source: str) -> None:
        """Until ``source`` has no open transaction (the tracker finishes them)."""
        while await self.store.read(ledger.open_txs, self.chain, source):
            event = self._changed
            with trio.move_on_after(1.0):
                await event.wait()

    async def _sequence(self, source: str) -> int:
        """The next sequence number of ``source``: the chain's, checked against the ledger."""
        on_chain = await self.rpc.account_sequence(source)
        if on_chain is None:
            raise PermanentFailure(f"account {source} does not exist on {self.chain}: fund it first",
                                   code="no_account")
        booked = await self.store.read(ledger.ledger_next, self.chain, source)
        if booked is not None and booked != on_chain + 1:
            log.info("%s: sequence ledger of %s at %d, chain at %d (%s)", self.chain, source, booked, on_chain + 1,
                     "transactions not sent by us" if booked < on_chain + 1 else "earlier transactions never landed")
        self.last_seen[source] = {"chain_sequence": on_chain, "ledger_next": booked}
        return on_chain + 1

    async def _build(self, key: Keypair, contract: str, function: str, args: list[str]) -> tuple[str, str, int, int]:
        """Simulate, assemble and sign: (envelope XDR, hash, sequence, max time)."""
        passphrase = self.passphrase()
        if passphrase is None:
            raise JobFailure(f"chain {self.chain} is not connected yet", code="chain_down")
        sequence = await self._sequence(key.public_key)
        max_time = int(max(time.time(), self._network_time)) + self.tx_timeout  # by the network's clock
        tx = (TransactionBuilder(Account(key.public_key, sequence - 1), passphrase, base_fee=self.base_fee)
              .append_invoke_contract_function_op(contract, function, [sx.SCVal.from_xdr(a) for a in args])
              .add_time_bounds(0, max_time).build())
        try:
            sim = await self.rpc.simulate(tx.to_xdr())
        except ContractFailed as exc:
            raise self._named(exc, function) from None
        assembled = _assemble_transaction(tx, sim)
        assembled.sign(key)
        return assembled.to_xdr(), assembled.hash_hex(), sequence, max_time

    def _saw(self, close_time: int | str | None) -> None:
        if close_time:
            self._network_time = max(self._network_time, int(close_time))

    async def _broadcast(self, record: SorobanTx, *, may_resign: bool = True) -> None:
        try:
            answer = await self.rpc.send(record.envelope)
        except ChainError as exc:  # nobody answered: it stays signed; the tracker sends it later
            await self.store.write(ledger.update, record, tries=record.tries + 1, sent_at=time.time(), error=str(exc))
            return
        self._saw(answer.latest_ledger_close_time)
        status = answer.status.value
        if status in ("PENDING", "DUPLICATE"):
            await self.store.write(ledger.update, record, state="sent", tries=record.tries + 1, sent_at=time.time(),
                                   error=None)
        elif status == "TRY_AGAIN_LATER":
            await self.store.write(ledger.update, record, tries=record.tries + 1, sent_at=time.time(),
                                   error="the network said TRY_AGAIN_LATER")
        else:
            code = result_code(answer.error_result_xdr)
            if code in _RESIGN and may_resign:
                await self._resign(record, code)
            elif code in _RESIGN:  # refused again right after re-signing: the tracker tries next tick
                await self.store.write(ledger.update, record, tries=record.tries + 1, sent_at=time.time(),
                                       error=f"refused by the network: {code}")
            else:
                await self.store.write(ledger.update, record, state="failed", error=f"refused by the network: {code}")
        self._poke()

    async def _resign(self, record: SorobanTx, why: str) -> None:
        """A new sequence number and time bound for ``record`` — once no hash of it can land."""
        for tx_hash in record.hashes:
            found = await self.rpc.transaction(tx_hash)
            if found.status.value != "NOT_FOUND":
                await self._landed(record, found)
                return
        key = self._keys.get(record.source)
        if key is None:
            log.warning("%s: %s needs re-signing (%s) but the key of %s is not loaded", self.chain, record.id, why,
                        record.source)
            return
        try:
            envelope, tx_hash, sequence, max_time = await self._build(key, record.contract, record.function, record.args)
        except ContractFailed as exc:
            await self.store.write(ledger.update, record, state="failed", error=str(exc), error_number=exc.number)
            return
        log.info("%s: %s re-signed (%s): sequence %d → %d", self.chain, record.id, why, record.sequence, sequence)
        await self.store.write(ledger.update, record, envelope=envelope, hashes=[*record.hashes, tx_hash],
                               sequence=sequence, max_time=max_time, state="signed")
        if not self.estop():
            await self._broadcast(record, may_resign=False)

    async def simulate(self, source: str, contract: str, function: str, args: list[sx.SCVal]) -> sx.SCVal:
        """The call's return value by simulation (nothing is signed or sent); a contract error
        raises :class:`ContractFailed`, named."""
        tx = (TransactionBuilder(Account(source, 0), self.passphrase() or "", base_fee=self.base_fee)
              .append_invoke_contract_function_op(contract, function, args).set_timeout(self.tx_timeout).build())
        try:
            sim = await self.rpc.simulate(tx.to_xdr())
        except ContractFailed as exc:
            raise self._named(exc, function) from None
        if not sim.results:
            raise ContractFailed(f"simulating {function} returned no result", number=None, method="simulateTransaction")
        return sx.SCVal.from_xdr(sim.results[0].xdr)

    def _named(self, exc: ContractFailed, function: str) -> ContractFailed:
        if exc.number is None:
            return ContractFailed(f"{function} would fail: {exc}", number=None, method=exc.method)
        return ContractFailed(f"{function} would fail: {self.error_name(exc.number)} (#{exc.number})",
                              number=exc.number, method=exc.method)

    # --- waiting and tracking ------------------------------------------------------------------

    async def track(self) -> None:
        open_txs = await self.store.read(ledger.open_txs, self.chain)
        if not open_txs:
            return
        async with trio.open_nursery() as nursery:  # one getTransaction per open transaction, at once
            for record in open_txs:
                nursery.start_soon(self._track_one, record)
        self._poke()

    async def _track_one(self, record: SorobanTx) -> None:
        try:
            if record.state == "signed":
                if not self.estop() and time.time() - (record.sent_at or 0) >= self.resend_after:
                    await self._broadcast(record)
                return
            head = self.head()
            if head is not None and self._looked.get(record.id) == head:
                return  # a transaction lands only when a ledger closes: one lookup per ledger, not per tick
            found = await self.rpc.transaction(record.hash)
            self._saw(found.latest_ledger_close_time)
            if head is not None:
                self._looked[record.id] = head
            if found.status.value != "NOT_FOUND":
                self._looked.pop(record.id, None)
                await self._landed(record, found)
            elif found.latest_ledger_close_time and int(found.latest_ledger_close_time) > record.max_time:
                await self._resign(record, "expired unseen")
        except ChainError as exc:
            log.info("%s: following %s: %s", self.chain, record.id, exc)

    async def _landed(self, record: SorobanTx, found: Any) -> None:
        if found.status.value == "SUCCESS":
            value = return_value(found.result_meta_xdr)
            await self.store.write(ledger.update, record, state="success", ledger=found.ledger, error=None,
                                   result=None if value is None else value.to_xdr())
            return
        number, why = await self._why_failed(record)
        await self.store.write(ledger.update, record, state="failed", ledger=found.ledger, error=why,
                               error_number=number)

    async def _why_failed(self, record: SorobanTx) -> tuple[int | None, str]:
        """The contract error of a failed transaction, by simulating its call again (the
        result XDR only says it trapped)."""
        tx = (TransactionBuilder(Account(record.source, record.sequence), self.passphrase() or "", base_fee=self.base_fee)
              .append_invoke_contract_function_op(record.contract, record.function,
                                                  [sx.SCVal.from_xdr(a) for a in record.args])
              .set_timeout(self.tx_timeout).build())
        try:
            await self.rpc.simulate(tx.to_xdr())
        except ContractFailed as exc:
            if exc.number is not None:
                return exc.number, f"{self.error_name(exc.number)} (#{exc.number})"
            return None, f"failed on chain: {exc}"
        return None, "failed on chain, but a new simulation passes (resources or footprint changed)"

    def status(self) -> dict[str, Any]:
        return {"signers": len(self._keys)}
