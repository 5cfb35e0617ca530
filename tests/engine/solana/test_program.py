"""The CloudMesh program (programs/cloudmesh/cloudmesh.c, built by make) executed by LiteSVM,
instruction by instruction, against the original Anchor program's rules: accounts, layout,
checks and error codes — and the per-job authority it adds."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from engine.chains.solana import cloudmesh as cm
from tests.conftest import IN_CI

PROGRAM = Path(__file__).resolve().parents[3] / "engine/devnets/solana/programs/cloudmesh.so"
CID = "QmZMQAEDSAmHhnb7wVEQVS68kbuYGBcDHf52wx8m5E6YvX"
RESULT = "bafkreiacx2tlwlykuifxfzxow7tganftslz6qkeycvl5i4evz6qihqq2xq"
NOW = 1_761_645_000


class Chain:
    def __init__(self) -> None:
        if not PROGRAM.is_file():
            message = f"{PROGRAM} is not built (`make programs` builds it)"
            if IN_CI:
                pytest.fail(message + " — required under CI")
            pytest.skip(message)
        self.svm = LiteSVM()
        self.svm.add_program(cm.PROGRAM_ID, PROGRAM.read_bytes())
        self.at(NOW)

    def at(self, unix_time: int) -> None:
        clock = self.svm.get_clock()
        clock.unix_timestamp = unix_time
        self.svm.set_clock(clock)

    def funded(self) -> Keypair:
        key = Keypair()
        self.svm.airdrop(key.pubkey(), 10**10)
        return key

    def send(self, ix: Instruction, *signers: Keypair) -> int | None:
        """None on success, else the custom error code (any other failure fails the test)."""
        self.svm.expire_blockhash()  # a repeated instruction is a new transaction
        blockhash = self.svm.latest_blockhash()
        tx = Transaction(list(signers), Message.new_with_blockhash([ix], signers[0].pubkey(), blockhash), blockhash)
        result = self.svm.send_transaction(tx)
        if not hasattr(result, "err"):
            return None
        found = re.search(r"Custom\((\d+)\)", str(result.err()))
        assert found, f"not a custom error: {result.err()}"
        return int(found.group(1))

    def job(self, address: Pubkey) -> cm.JobAccount:
        account = self.svm.get_account(address)
        assert account is not None and account.owner == cm.PROGRAM_ID and len(account.data) == cm.JOB_SPACE
        return cm.JobAccount.decode(bytes(account.data))

    def create(self, owner: Keypair, title: str = "nightly", **kw: object) -> Pubkey:
        assert self.send(cm.initialize_job(owner.pubkey(), title, CID, **kw), owner) is None  # type: ignore[arg-type]
        return cm.job_address(owner.pubkey(), title)


@pytest.fixture
def chain() -> Chain:
    return Chain()


def test_initialize_job_creates_the_pda_account_with_the_original_layout(chain: Chain) -> None:
    owner = chain.funded()
    address = chain.create(owner, "nightly", job_type=cm.JobType.CRON)
    account = chain.svm.get_account(address)
    assert account.lamports == chain.svm.minimum_balance_for_rent_exemption(cm.JOB_SPACE)
    job = chain.job(address)
    assert (job.owner, job.title, job.code_cid, job.result_cid) == (owner.pubkey(), "nightly", CID, "")
    assert (job.start_time, job.end_time, job.status, job.job_type) == (NOW, 0, cm.JobStatus.PENDING, cm.JobType.CRON)
    assert (job.cost, job.cost_paid, job.authority) == (0, False, None)
    assert job.bump == Pubkey.find_program_address([b"job", bytes(owner.pubkey()), b"nightly"], cm.PROGRAM_ID)[1]
    # the same title again: the account exists (the system program refuses: AccountAlreadyInUse = 0)
    assert chain.send(cm.initialize_job(owner.pubkey(), "nightly", CID), owner) == 0


def test_initialize_job_refuses_bad_arguments_and_accounts(chain: Chain) -> None:
    owner = chain.funded()
    me = owner.pubkey()
    assert chain.send(cm.initialize_job(me, "", CID), owner) == 6000
    long_title = cm.initialize_job(me, "t" * 33, CID, job=Pubkey.new_unique())  # over a seed's 32 bytes
    assert chain.send(long_title, owner) == 6000
    assert chain.send(cm.initialize_job(me, "t", ""), owner) == 6001
    assert chain.send(cm.initialize_job(me, "t", "c" * 101), owner) == 6001
    bad_type = cm.initialize_job(me, "t", CID)
    assert chain.send(Instruction(cm.PROGRAM_ID, bad_type.data[:-1] + b"\x03", bad_type.accounts), owner) == 102
    truncated = Instruction(cm.PROGRAM_ID, bad_type.data[:12], bad_type.accounts)
    assert chain.send(truncated, owner) == 102
    other_pda = cm.initialize_job(me, "other", CID).accounts[0]
    assert chain.send(Instruction(cm.PROGRAM_ID, bad_type.data, [other_pda, *bad_type.accounts[1:]]), owner) == 2006
    assert chain.send(Instruction(cm.PROGRAM_ID, b"\x00" * 8, bad_type.accounts), owner) == 101
    payer = chain.funded()  # the owner's key listed, but not signing
    unsigned = cm.initialize_job(me, "t", CID)
    metas = list(unsigned.accounts)
    metas[1] = type(metas[1])(me, False, True)
    assert chain.send(Instruction(cm.PROGRAM_ID, unsigned.data, metas), payer) == 3010
    assert chain.svm.get_account(cm.job_address(me, "t")) is None  # nothing was created


def test_complete_job_records_the_result_once(chain: Chain) -> None:
    owner, worker = chain.funded(), chain.funded()
    address = chain.create(owner)
    chain.at(NOW + 90)
    assert chain.send(cm.complete_job(address, worker.pubkey(), RESULT, 0), worker) == 6002
    assert chain.send(cm.complete_job(address, worker.pubkey(), "", 5), worker) == 6001
    assert chain.send(cm.complete_job(address, worker.pubkey(), RESULT, 1_000_000), worker) is None
    job = chain.job(address)
    assert (job.result_cid, job.end_time, job.status, job.cost) == (RESULT, NOW + 90, cm.JobStatus.COMPLETED, 1_000_000)
    assert (job.title, job.code_cid, job.start_time, job.job_type) == ("nightly", CID, NOW, cm.JobType.MANUAL)
    late = chain.funded()  # another worker, late: never a second completion
    assert chain.send(cm.complete_job(address, late.pubkey(), "QmOther", 7), late) == 6003
    assert chain.send(cm.complete_job(address, worker.pubkey(), "QmOther", 7), worker) == 6003
    assert chain.job(address).result_cid == RESULT


def test_complete_job_checks_the_account_is_a_real_job_at_its_address(chain: Chain) -> None:
    owner, worker = chain.funded(), chain.funded()
    address = chain.create(owner)
    data = bytes(chain.svm.get_account(address).data)
    forged = Pubkey.new_unique()  # a copy of a real job's data at an address that is not its PDA
    chain.svm.set_account(forged, Account(10**9, data, cm.PROGRAM_ID, False, 0))
    assert chain.send(cm.complete_job(forged, worker.pubkey(), RESULT, 1), worker) == 2006
    chain.svm.set_account(forged, Account(10**9, b"\x01" * 8 + data[8:], cm.PROGRAM_ID, False, 0))
    assert chain.send(cm.complete_job(forged, worker.pubkey(), RESULT, 1), worker) == 3002
    chain.svm.set_account(forged, Account(10**9, data, Pubkey.new_unique(), False, 0))
    assert chain.send(cm.complete_job(forged, worker.pubkey(), RESULT, 1), worker) == 3007
    chain.svm.set_account(forged, Account(10**9, data[:60], cm.PROGRAM_ID, False, 0))
    assert chain.send(cm.complete_job(forged, worker.pubkey(), RESULT, 1), worker) == 3003
    unsigned = cm.complete_job(address, worker.pubkey(), RESULT, 1)
    metas = [unsigned.accounts[0], type(unsigned.accounts[1])(worker.pubkey(), False, False)]
    assert chain.send(Instruction(cm.PROGRAM_ID, unsigned.data, metas), owner) == 3010
    assert chain.job(address).status == cm.JobStatus.PENDING


def test_a_job_that_names_an_authority_is_completed_only_by_it(chain: Chain) -> None:
    owner, allowed, stranger = chain.funded(), chain.funded(), chain.funded()
    address = chain.create(owner, authority=allowed.pubkey())
    assert chain.job(address).authority == allowed.pubkey()
    assert chain.send(cm.complete_job(address, stranger.pubkey(), RESULT, 1), stranger) == 6008
    assert chain.send(cm.complete_job(address, allowed.pubkey(), RESULT, 1), allowed) is None
    assert chain.job(address).status == cm.JobStatus.COMPLETED


def test_mark_payment_and_cancel_job_are_the_owners(chain: Chain) -> None:
    owner, worker, stranger = chain.funded(), chain.funded(), chain.funded()
    done = chain.create(owner, "done")
    assert chain.send(cm.complete_job(done, worker.pubkey(), RESULT, 5), worker) is None
    assert chain.send(cm.mark_payment(done, stranger.pubkey()), stranger) == 6008
    assert chain.send(cm.mark_payment(done, owner.pubkey()), owner) is None
    assert chain.job(done).cost_paid is True
    assert chain.send(cm.mark_payment(done, owner.pubkey()), owner) == 6007
    assert chain.send(cm.cancel_job(done, owner.pubkey()), owner) == 6003

    pending = chain.create(owner, "pending")
    assert chain.send(cm.cancel_job(pending, stranger.pubkey()), stranger) == 6008
    chain.at(NOW + 5)
    assert chain.send(cm.cancel_job(pending, owner.pubkey()), owner) is None
    job = chain.job(pending)
    assert (job.status, job.end_time) == (cm.JobStatus.CANCELLED, NOW + 5)
    assert chain.send(cm.cancel_job(pending, owner.pubkey()), owner) == 6005
    assert chain.send(cm.complete_job(pending, worker.pubkey(), RESULT, 5), worker) == 6004


def test_job_accounts_decode_and_refuse_what_is_not_one() -> None:
    owner = Pubkey.new_unique()
    body = bytes(owner) + b"".join(struct.pack("<I", len(s)) + s for s in (b"t", CID.encode(), b""))
    tail = struct.pack("<qqBBQBB", NOW, 0, 0, 2, 0, 0, 254)
    job = cm.JobAccount.decode(cm.JOB_DISCRIMINATOR + body + tail)  # the original's layout, no authority
    assert (job.owner, job.title, job.code_cid, job.bump, job.authority) == (owner, "t", CID, 254, None)
    with pytest.raises(cm.LayoutError, match="discriminator"):
        cm.JobAccount.decode(b"\x00" * 8 + body + tail)
    with pytest.raises(cm.LayoutError, match="truncated"):
        cm.JobAccount.decode(cm.JOB_DISCRIMINATOR + body + tail[:10])
    with pytest.raises(cm.LayoutError, match="past the data"):
        cm.JobAccount.decode(cm.JOB_DISCRIMINATOR + bytes(owner) + struct.pack("<I", 90) + b"x")
    assert cm.error_name(6003) == "JobAlreadyCompleted" and cm.error_name(42) == "custom error 42"
