"""The CloudMesh program's interface (seed 004): instruction builders, the Job account's layout,
its addresses and its error codes — as the Anchor program ``cloudmesh`` defines them, plus the
optional per-job authority of Shiftboss's build (``programs/cloudmesh/cloudmesh.c``).

Borsh, by hand: the layouts are four strings, a few integers and a flag.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from enum import IntEnum

import base58
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM

from engine.chains.solana._rpc import SolanaRpc

#: the program id of the original (``declare_id!``; its IDL's ``address``)
PROGRAM_ID = Pubkey.from_string("2pbdwB29EXvsfEcigJrMwEaDx2T16zZ47aK5oGabjx7S")
JOB_SPACE = 413  # 8 + 32 + 3 * (4 + 100) + 28 + 33: room for every string at its limit
MAX_STRING = 100
MAX_TITLE = 32  # a PDA seed is at most 32 bytes


def _discriminator(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()[:8]


IX_INITIALIZE_JOB = _discriminator("global:initialize_job")
IX_COMPLETE_JOB = _discriminator("global:complete_job")
IX_MARK_PAYMENT = _discriminator("global:mark_payment")
IX_CANCEL_JOB = _discriminator("global:cancel_job")
JOB_DISCRIMINATOR = _discriminator("account:Job")

#: custom program error codes to names: the program's own (6000…) and Anchor's account checks
ERRORS = {
    100: "InstructionMissing", 101: "InstructionFallbackNotFound", 102: "InstructionDidNotDeserialize",
    2000: "ConstraintMut", 2006: "ConstraintSeeds", 3001: "AccountDiscriminatorNotFound",
    3002: "AccountDiscriminatorMismatch", 3003: "AccountDidNotDeserialize", 3005: "AccountNotEnoughKeys",
    3007: "AccountOwnedByWrongProgram", 3008: "InvalidProgramId", 3010: "AccountNotSigner",
    3012: "AccountNotInitialized",
    6000: "InvalidTitle", 6001: "InvalidCID", 6002: "InvalidCost", 6003: "JobAlreadyCompleted",
    6004: "JobCancelled", 6005: "JobAlreadyCancelled", 6006: "InvalidStatusTransition", 6007: "AlreadyPaid",
    6008: "Unauthorized",
}
ALREADY_COMPLETED = 6003
JOB_CANCELLED = 6004


class JobStatus(IntEnum):
    PENDING = 0
    COMPLETED = 1
    CANCELLED = 2


class JobType(IntEnum):
    CRON = 0
    API = 1
    MANUAL = 2


class LayoutError(ValueError):
    """Account data that is not a Job (wrong discriminator, truncated, bad lengths)."""


@dataclass(frozen=True)
class JobAccount:
    owner: Pubkey
    title: str
    code_cid: str
    result_cid: str
    start_time: int
    end_time: int
    status: JobStatus
    job_type: JobType
    cost: int
    cost_paid: bool
    bump: int
    authority: Pubkey | None  # Shiftboss's build only; None in the original's accounts

    @staticmethod
    def decode(data: bytes) -> JobAccount:
        if len(data) < 8 or data[:8] != JOB_DISCRIMINATOR:
            raise LayoutError("not a Job account (discriminator)")
        at = 40
        if len(data) < at:
            raise LayoutError("truncated before the owner's end")
        strings = []
        for name in ("title", "code_cid", "result_cid"):
            if len(data) < at + 4:
                raise LayoutError(f"truncated at {name}")
            (n,) = struct.unpack_from("<I", data, at)
            if n > MAX_STRING or len(data) < at + 4 + n:
                raise LayoutError(f"{name}: length {n} is past the data or over {MAX_STRING}")
            try:
                strings.append(data[at + 4:at + 4 + n].decode())
            except UnicodeDecodeError:
                raise LayoutError(f"{name}: not UTF-8") from None
            at += 4 + n
        if len(data) < at + 28:
            raise LayoutError("truncated in the fixed fields")
        start, end, status, job_type, cost, paid, bump = struct.unpack_from("<qqBBQBB", data, at)
        if status > 2 or job_type > 2 or paid > 1:
            raise LayoutError(f"status {status} / job_type {job_type} / cost_paid {paid} out of range")
        authority = None
        if len(data) >= at + 28 + 33 and data[at + 28] == 1:
            authority = Pubkey(data[at + 29:at + 61])
        return JobAccount(Pubkey(data[8:40]), strings[0], strings[1], strings[2], start, end, JobStatus(status),
                          JobType(job_type), cost, bool(paid), bump, authority)


def job_address(owner: Pubkey, title: str, program: Pubkey = PROGRAM_ID) -> Pubkey:
    """The job's PDA: seeds ``[b"job", owner, title]``."""
    if len(title.encode()) > MAX_TITLE:
        raise ValueError(f"title: {len(title.encode())} bytes; a PDA seed is at most {MAX_TITLE}")
    return Pubkey.find_program_address([b"job", bytes(owner), title.encode()], program)[0]


def _string(value: str) -> bytes:
    raw = value.encode()
    return struct.pack("<I", len(raw)) + raw


def initialize_job(owner: Pubkey, title: str, code_cid: str, job_type: JobType = JobType.MANUAL, *,
                   authority: Pubkey | None = None, program: Pubkey = PROGRAM_ID,
                   job: Pubkey | None = None) -> Instruction:
    """``job`` defaults to the PDA of (owner, title)."""
    data = IX_INITIALIZE_JOB + _string(title) + _string(code_cid) + bytes([job_type])
    if authority is not None:
        data += b"\x01" + bytes(authority)
    job = job if job is not None else job_address(owner, title, program)
    accounts = [AccountMeta(job, False, True), AccountMeta(owner, True, True),
                AccountMeta(SYSTEM_PROGRAM, False, False)]
    return Instruction(program, data, accounts)


def complete_job(job: Pubkey, worker: Pubkey, result_cid: str, cost: int, *,
                 program: Pubkey = PROGRAM_ID) -> Instruction:
    """As the seed's worker builds it: discriminator, result_cid, cost; [job (writable), worker (signer)]."""
    data = IX_COMPLETE_JOB + _string(result_cid) + struct.pack("<Q", cost)
    return Instruction(program, data, [AccountMeta(job, False, True), AccountMeta(worker, True, False)])


def mark_payment(job: Pubkey, owner: Pubkey, *, program: Pubkey = PROGRAM_ID) -> Instruction:
    return Instruction(program, IX_MARK_PAYMENT, [AccountMeta(job, False, True), AccountMeta(owner, True, False)])


def cancel_job(job: Pubkey, owner: Pubkey, *, program: Pubkey = PROGRAM_ID) -> Instruction:
    return Instruction(program, IX_CANCEL_JOB, [AccountMeta(job, False, True), AccountMeta(owner, True, False)])


#: ``getProgramAccounts`` filters for Job accounts: those that start with the Job discriminator
JOB_FILTERS = [{"memcmp": {"offset": 0, "bytes": base58.b58encode(JOB_DISCRIMINATOR).decode()}}]


async def read_jobs(rpc: SolanaRpc, program: Pubkey = PROGRAM_ID) -> tuple[list[tuple[str, JobAccount]], dict[str, str]]:
    """The program's Job accounts (fetched by their discriminator), decoded, by address; and
    those that do not decode, with why."""
    jobs, broken = [], {}
    for keyed in await rpc.program_accounts(program, JOB_FILTERS):
        try:
            jobs.append((keyed.pubkey, JobAccount.decode(keyed.account.bytes())))
        except LayoutError as exc:
            broken[keyed.pubkey] = str(exc)
    return jobs, broken


def error_name(code: int) -> str:
    return ERRORS.get(code, f"custom error {code}")
