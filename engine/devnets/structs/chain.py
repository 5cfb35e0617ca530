"""The local Structs chain's state and rules: accounts, players, structs and fleets, a mempool
checked as CometBFT's CheckTx does, and blocks that deliver transactions as the Cosmos SDK's
FinalizeBlock does — with the Structs keeper's rules for the four ``Msg*Complete`` messages.

It is a small fake chain (no consensus, no other modules, state in memory). What it keeps real:

* every transaction is decoded from its protobuf bytes and its **signature verified** against
  the sign doc (chain id, account number) — low-s secp256k1, the signer's address must be the
  message's ``creator``;
* **sequences** are checked at CheckTx against the mempool's view and again at delivery; a
  wrong one is refused with the SDK's ``account sequence mismatch, expected N, got M`` (code 32);
  the sequence is spent even when the messages then fail, as in the SDK;
* a transaction already in the mempool or committed is refused (``tx already exists in cache``);
* the proof is **recomputed from the struct's recorded block start** and must meet the
  difficulty at the struct's age in the block that includes it (``CalculateDifficulty``);
  errors carry the keeper's codes and messages (1800 work failure, 1250 wrong struct state,
  1100 permission, 1050 not found), wrapped as the SDK wraps them;
* mining and refining move their block start to the completing block (the next cycle), a built
  struct cannot be built again, a raid completes once.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

from engine.chains.cometbft import _tx as codec
from engine.pow.structs import difficulty

CHAIN_ID = "structstestnet-111"
PREFIX = "structs"
GAS_PER_BYTE = 10
GAS_BASE = 50_000


class TxRefused(Exception):
    """An ABCI answer with a non-zero code (CheckTx, simulate or delivery)."""

    def __init__(self, code: int, codespace: str, log: str) -> None:
        super().__init__(log)
        self.code, self.codespace, self.log = code, codespace, log


def _sdk(code: int, log: str) -> TxRefused:
    return TxRefused(code, "sdk", log)


def _structs(code: int, log: str) -> TxRefused:
    return TxRefused(code, "structs", log)


@dataclass
class Account:
    address: str
    number: int
    sequence: int = 0
    public_key: bytes | None = None


@dataclass
class Target:
    """A struct (build/mine/refine) or a fleet (raid) with its action's block start."""

    id: str
    owner: str  # player id
    action: str
    block_start: int
    difficulty_range: int
    planet_id: str | None = None
    done: bool = False

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "owner": self.owner, "action": self.action, "blockStart": str(self.block_start),
                "difficultyRange": str(self.difficulty_range), "planetId": self.planet_id, "done": self.done}


@dataclass
class Block:
    height: int
    time: float
    hash: str
    txs: list[bytes] = field(default_factory=list)

    def header(self, chain_id: str) -> dict[str, Any]:
        return {"chain_id": chain_id, "height": str(self.height),
                "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.time)) + f".{int(self.time % 1 * 1e9):09d}Z"}


@dataclass
class Included:
    height: int
    index: int
    raw: bytes
    code: int
    codespace: str
    log: str
    gas_wanted: int
    gas_used: int

    def public(self, hash_: str) -> dict[str, Any]:
        return {"hash": hash_, "height": str(self.height), "index": self.index, "tx": base64.b64encode(self.raw).decode(),
                "tx_result": {"code": self.code, "codespace": self.codespace, "log": self.log, "data": "",
                              "gas_wanted": str(self.gas_wanted), "gas_used": str(self.gas_used), "events": []}}


class StructsChain:
    def __init__(self, chain_id: str = CHAIN_ID, prefix: str = PREFIX, initial_height: int = 1) -> None:
        self.chain_id, self.prefix = chain_id, prefix
        self.blocks: list[Block] = [Block(initial_height, time.time(), hashlib.sha256(b"genesis").hexdigest().upper())]
        self.accounts: dict[str, Account] = {}
        self.players: dict[str, str] = {}  # player id → primary address
        self.targets: dict[tuple[str, str], Target] = {}  # (kind "struct"|"fleet", id) → target
        self.mempool: list[bytes] = []
        self._check_sequences: dict[str, int] = {}  # the mempool's view of each account's next sequence
        self.included: dict[str, Included] = {}
        self._next_struct = 1
        self._next_fleet = 1

    @property
    def height(self) -> int:
        return self.blocks[-1].height

    def block(self, height: int) -> Block | None:
        index = height - self.blocks[0].height
        return self.blocks[index] if 0 <= index < len(self.blocks) else None

    # --- set-up (the devnet's admin routes) ----------------------------------------------------

    def add_player(self, address: str) -> str:
        """A player whose primary address is ``address`` (its account is made if new)."""
        for player_id, primary in self.players.items():
            if primary == address:
                return player_id
        self._account(address, create=True)
        player_id = f"1-{len(self.players) + 1}"
        self.players[player_id] = address
        return player_id

    def add_target(self, owner: str, action: str, difficulty_range: int, planet_id: str | None = None,
                   age: int = 0) -> Target:
        """A struct whose ``action`` started ``age`` blocks ago (for raids: a fleet raiding ``planet_id``)."""
        if owner not in self.players:
            raise ValueError(f"no player {owner}")
        if action == "raid":
            if not planet_id:
                raise ValueError("a raid needs a planet id")
            target_id, self._next_fleet = f"9-{self._next_fleet}", self._next_fleet + 1
        else:
            target_id, self._next_struct = f"5-{self._next_struct}", self._next_struct + 1
        target = Target(target_id, owner, action, max(0, self.height - age), difficulty_range, planet_id)
        self.targets[("fleet" if action == "raid" else "struct", target_id)] = target
        return target

    def _account(self, address: str, *, create: bool = False) -> Account:
        account = self.accounts.get(address)
        if account is None:
            if not create:
                raise _sdk(9, f"account {address} not found: unknown address")
            account = self.accounts[address] = Account(address, len(self.accounts) + 1)
        return account

    def account_json(self, address: str) -> dict[str, Any] | None:
        account = self.accounts.get(address)
        if account is None:
            return None
        pub = None if account.public_key is None else {
            "@type": codec.PUBKEY_TYPE, "key": base64.b64encode(account.public_key).decode()}
        return {"@type": "/cosmos.auth.v1beta1.BaseAccount", "address": address, "pub_key": pub,
                "account_number": str(account.number), "sequence": str(account.sequence)}

    # --- CheckTx, simulate, delivery ----------------------------------------------------------

    def _ante(self, raw: bytes, sequences: dict[str, int] | None, *, verify: bool = True) -> codec.Decoded:
        """Decode, signer and signature, sequence (against ``sequences``, then spent there)."""
        try:
            tx = codec.decode(raw)
        except codec.TxCodecError as exc:
            raise _sdk(2, f"{exc}: tx parse error") from None
        signer = tx.signer(self.prefix)
        for msg in tx.msgs:
            if msg.get("creator") != signer:
                raise _sdk(8, f"pubKey does not match signer address {msg.get('creator')} with signer index: 0: "
                              "invalid pubkey")
        account = self._account(signer)
        expected = account.sequence if sequences is None else sequences.get(signer, account.sequence)
        if tx.sequence != expected:
            raise _sdk(32, f"account sequence mismatch, expected {expected}, got {tx.sequence}: incorrect account "
                           "sequence")
        if verify and not tx.verify(self.chain_id, account.number):
            raise _sdk(4, f"signature verification failed; please verify account number ({account.number}), "
                          f"sequence ({tx.sequence}) and chain-id ({self.chain_id}): unauthorized")
        if sequences is not None:
            sequences[signer] = expected + 1
        return tx

    def gas(self, raw: bytes) -> int:
        return GAS_BASE + GAS_PER_BYTE * len(raw)

    def check_tx(self, raw: bytes) -> str:
        """CheckTx: the transaction enters the mempool (its hash returned) or :class:`TxRefused`."""
        hash_ = codec.tx_hash(raw)
        if hash_ in self.included or raw in self.mempool:
            raise DuplicateTx("tx already exists in cache")
        tx = self._ante(raw, self._check_sequences)
        if tx.gas < self.gas(raw):
            self._check_sequences[tx.signer(self.prefix)] -= 1
            raise _sdk(11, f"out of gas in location: txSize; gasWanted: {tx.gas}, gasUsed: {self.gas(raw)}: out of gas")
        self.mempool.append(raw)
        return hash_

    def simulate(self, raw: bytes) -> int:
        """The gas the transaction would use, executing its messages in the next block on the
        mempool's state (the signature is not checked, as the SDK's simulation does not)."""
        tx = self._ante(raw, dict(self._check_sequences), verify=False)  # against the mempool's view
        for index, msg in enumerate(tx.msgs):
            try:
                self._execute(msg, self.height + 1, dry_run=True)
            except TxRefused as exc:
                raise TxRefused(exc.code, exc.codespace,
                                f"failed to execute message; message index: {index}: {exc.log}") from None
        return self.gas(raw)

    def produce_block(self) -> Block:
        """The next block with the mempool's transactions in the order they arrived."""
        height = self.height + 1
        txs, self.mempool = self.mempool, []
        block = Block(height, time.time(), hashlib.sha256(f"{self.chain_id}/{height}".encode()).hexdigest().upper(), txs)
        for index, raw in enumerate(txs):
            self.included[codec.tx_hash(raw)] = self._deliver(raw, height, index)
        self.blocks.append(block)
        self._check_sequences = {}  # the mempool is empty: CheckTx sees the committed state again
        return block

    def _deliver(self, raw: bytes, height: int, index: int) -> Included:
        gas_wanted = 0
        try:
            tx = self._ante(raw, None)
            gas_wanted = tx.gas
            account = self.accounts[tx.signer(self.prefix)]
            account.sequence += 1  # spent even if the messages fail
            account.public_key = tx.public_key
            for i, msg in enumerate(tx.msgs):
                try:
                    self._execute(msg, height, dry_run=True)
                except TxRefused as exc:
                    raise TxRefused(exc.code, exc.codespace,
                                    f"failed to execute message; message index: {i}: {exc.log}") from None
            for msg in tx.msgs:
                self._execute(msg, height, dry_run=False)
        except TxRefused as exc:
            return Included(height, index, raw, exc.code, exc.codespace, exc.log, gas_wanted, self.gas(raw))
        return Included(height, index, raw, 0, "", "[]", gas_wanted, self.gas(raw))

    # --- the keeper's rules --------------------------------------------------------------------

    def _execute(self, msg: dict[str, Any], height: int, *, dry_run: bool) -> None:
        action = next(a for a, (name, _f) in codec.ACTIONS.items() if msg["@type"].endswith("." + name))
        creator = msg.get("creator", "")
        player = next((p for p, a in self.players.items() if a == creator), None)
        if player is None:
            raise _structs(1150, f"player account required: no player for address {creator}")
        kind = "fleet" if action == "raid" else "struct"
        object_id = msg.get("fleetId" if action == "raid" else "structId", "")
        target = self.targets.get((kind, object_id))
        if target is None:
            raise _structs(1050, f"{kind} ({object_id}) not found")
        if target.owner != player:
            raise _structs(1100, f"player ({player}) has no play permission on {kind} ({object_id}): permission denied")
        if action == "raid" and target.done:
            raise _structs(1250, f"fleet ({object_id}) is not raiding but must be raiding for raid_complete")
        if target.action == "build" and target.done and action == "build":
            raise _structs(1250, f"struct ({object_id}) is built but must be building for build_complete")
        if target.action != action:
            state = "built" if target.done else "building"
            raise _structs(1250, f"struct ({object_id}) is {state} but must be {'building' if action == 'build' else 'online'}"
                                 f" for {action}_complete")
        if height < target.block_start:
            raise _structs(1002, f"block height {height} precedes start block {target.block_start}: invalid message "
                                 "parameters")
        label = {"build": "BUILD", "mine": "MINE", "refine": "REFINE"}.get(action)
        hash_input = (f"{object_id}{label}{target.block_start}NONCE{msg.get('nonce', '')}" if label
                      else f"{object_id}@{target.planet_id}RAID{target.block_start}NONCE{msg.get('nonce', '')}")
        proof = hashlib.sha256(hash_input.encode()).hexdigest()
        needed = difficulty(height - target.block_start, target.difficulty_range)
        if proof != msg.get("proof") or not proof.startswith("0" * needed):
            raise _structs(1800, f"work failure for input ({hash_input}) when trying to {action} on struct {object_id}")
        if dry_run:
            return
        if action in ("mine", "refine"):
            target.block_start = height  # the next cycle starts now
        else:
            target.done = True


class DuplicateTx(Exception):
    """CometBFT's mempool cache: these bytes were seen already."""
