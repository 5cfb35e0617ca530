"""The CloudMesh worker end to end in a real engine: the local Solana node (LiteSVM running the
program), the local IPFS endpoint and a gateway that lies. Pending jobs are found, their code
checked against its CID, run sandboxed, the result pinned, and each job completed once on chain;
code whose bytes do not match its CID is refused and its job left pending; a runaway loop is
stopped at its limit and reported; a job for another authority and an account that is not a
Job are skipped."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import trio
from multiformats import CID
from solders.account import Account
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from engine.chains.solana import _txledger as txledger
from engine.chains.solana import cloudmesh as cm
from engine.devnets.ipfs import IpfsDevnet
from engine.devnets.solana import SolanaDevnet
from engine.ipfs import cid_of
from engine.jobs.cloudmesh import load_or_create_key
from tests.conftest import make_settings, running_engine, until_state, wait_for
from tests.engine.ipfs.test_client import lying_gateway
from tests.engine.solana.test_program import PROGRAM, Chain

GOOD = b'import sys\nprint("squares", [n * n for n in range(5)])\nprint("to stderr", file=sys.stderr)\n'
LOOP = b"while True:\n    pass\n"


def create_job(node: SolanaDevnet, owner: Keypair, title: str, cid: str, authority: Pubkey | None = None) -> Pubkey:
    blockhash = node.svm.latest_blockhash()
    ix = cm.initialize_job(owner.pubkey(), title, cid, authority=authority)
    result = node.svm.send_transaction(Transaction([owner], Message.new_with_blockhash([ix], owner.pubkey(), blockhash),
                                                   blockhash))
    assert not hasattr(result, "err"), result
    return cm.job_address(owner.pubkey(), title)


def job_on_chain(node: SolanaDevnet, address: Pubkey) -> cm.JobAccount:
    return cm.JobAccount.decode(bytes(node.svm.get_account(address).data))


@pytest.mark.slow
@pytest.mark.trio
async def test_pending_jobs_run_once_and_bad_code_is_refused(tmp_path: Path) -> None:
    Chain()
    node = SolanaDevnet({cm.PROGRAM_ID: PROGRAM}, slot_seconds=0.05)
    ipfs = IpfsDevnet(pinata_jwt="pinata-test-jwt")
    owner = Keypair()
    node.svm.airdrop(owner.pubkey(), 10**10)
    worker, _ = load_or_create_key(tmp_path / "worker.json")
    node.svm.airdrop(worker.pubkey(), 10**10)
    good = create_job(node, owner, "squares", ipfs.store(GOOD))
    loop = create_job(node, owner, "forever", ipfs.store(LOOP))
    forged = create_job(node, owner, "forged", cid_of(b"print('the code the owner meant')\n"))  # not on the node
    elsewhere = create_job(node, owner, "elsewhere", ipfs.store(GOOD), authority=Keypair().pubkey())
    junk = Pubkey.new_unique()
    node.svm.set_account(junk, Account(10**9, cm.JOB_DISCRIMINATOR + b"\x00" * 36, cm.PROGRAM_ID, False, 0))
    (tmp_path / "jwt").write_text("pinata-test-jwt\n")
    work_dir = Path(tempfile.mkdtemp(prefix="shiftboss-cloudmesh-test-", dir="/tmp"))
    async with trio.open_nursery() as nursery:
        rpc = await nursery.start(node.run)
        honest = await nursery.start(ipfs.run)
        liar = await nursery.start(lying_gateway)
        settings = make_settings(tmp_path / "engine", **{
            "chains.sol.kind": "solana", "chains.sol.rpc": [rpc], "chains.sol.poll_interval": 0.1,
            "cloudmesh.chain": "sol", "cloudmesh.keypair": str(tmp_path / "worker.json"),
            "cloudmesh.poll_interval": 0.5, "cloudmesh.ipfs_gateways": [liar, honest],
            "cloudmesh.pinata_url": honest, "cloudmesh.pinata_jwt_file": str(tmp_path / "jwt"),
            "cloudmesh.timeout": 2, "cloudmesh.work_dir": str(work_dir)})
        async with running_engine(settings) as (engine, client):
            async def settled() -> bool:
                done = job_on_chain(node, good).status == job_on_chain(node, loop).status == cm.JobStatus.COMPLETED
                runs = (await client.get("/v1/jobs", params={"kind": "cloudmesh.run", "state": "failed"})).json()
                return done and runs["total"] >= 1

            await wait_for(settled, within=60, interval=0.2)
            finished = job_on_chain(node, good)
            assert finished.cost == 1_000_000 and finished.end_time >= finished.start_time
            result = json.loads(ipfs.files[bytes(CID.decode(finished.result_cid).digest)])
            assert result["stdout"] == "squares [0, 1, 4, 9, 16]\n" and result["returncode"] == 0
            assert "to stderr" in result["stderr"] and result["job"] == str(good) and result["executed_at"].endswith("Z")
            looped = json.loads(ipfs.files[bytes(CID.decode(job_on_chain(node, loop).result_cid).digest)])
            assert looped["status"] == "timeout" and looped["limit"].startswith("wall clock")

            failed = (await client.get("/v1/jobs", params={"kind": "cloudmesh.run", "state": "failed"})).json()["jobs"]
            assert [j["payload"]["account"] for j in failed] == [str(forged)]
            assert failed[0]["error"]["code"] == "code_unverified" and "refused" in failed[0]["error"]["message"]
            assert job_on_chain(node, forged).status == cm.JobStatus.PENDING
            assert job_on_chain(node, elsewhere).status == cm.JobStatus.PENDING

            scans = (await client.get("/v1/jobs", params={"kind": "cloudmesh.scan", "state": "completed"})).json()
            last: dict[str, Any] = scans["jobs"][0]["result"]
            assert str(junk) in last["skipped"] and last["for_other_authorities"] == 1
            runs = (await client.get("/v1/jobs", params={"kind": "cloudmesh.run", "limit": 50})).json()["jobs"]
            assert sorted(j["payload"]["account"] for j in runs) == sorted(map(str, (good, loop, forged)))  # once each
            txs = engine.services.solana["sol"].txs

            async def confirmed() -> bool:  # the chain says completed at "processed"; the ledger waits for "confirmed"
                return await txs.store.read(txledger.counts, "sol") == {"success": 2}  # one complete_job per run

            await wait_for(confirmed, within=10, interval=0.1)
            chains = {c["name"]: c for c in (await client.get("/v1/chains")).json()["chains"]}
            mesh = chains["sol"]["detail"]["cloudmesh"]
            assert mesh["address"] == str(worker.pubkey()) and mesh["balance"] and not mesh["low_balance"]

            view = (await client.get("/v1/cloudmesh")).json()
            listed = {j["account"]: j for j in view["jobs"]}
            assert view["address"] == str(worker.pubkey()) and str(junk) in view["not_jobs"]
            assert listed[str(good)]["state"] == "completed" and listed[str(good)]["run"]["state"] == "completed"
            assert listed[str(good)]["run"]["result_cid"] == finished.result_cid
            assert listed[str(forged)]["state"] == "pending" and listed[str(forged)]["run"]["state"] == "failed"
            assert listed[str(elsewhere)]["run"] is None and listed[str(elsewhere)]["authority"]
        nursery.cancel_scope.cancel()


@pytest.mark.slow
@pytest.mark.trio
async def test_a_result_that_could_not_be_stored_is_stored_later_without_running_the_code_again(tmp_path: Path) -> None:
    Chain()
    node = SolanaDevnet({cm.PROGRAM_ID: PROGRAM}, slot_seconds=0.05)
    ipfs = IpfsDevnet(pinata_jwt="not-the-engines-jwt")  # Pinata refuses the engine's uploads at first
    owner = Keypair()
    node.svm.airdrop(owner.pubkey(), 10**10)
    worker, _ = load_or_create_key(tmp_path / "worker.json")
    node.svm.airdrop(worker.pubkey(), 10**10)
    engine_dir = tmp_path / "engine"
    code = (f"import os, secrets\nprint('ran as', os.getuid(), secrets.token_hex(8))\n"
            f"print('sees', [p for p in ['{engine_dir}', '{engine_dir}/shiftboss.db', '{engine_dir}/engine.sock', "
            f"'{tmp_path / 'worker.json'}', '{tmp_path / 'jwt'}'] if os.path.exists(p)], sorted(os.environ))\n").encode()
    job = create_job(node, owner, "once", ipfs.store(code))
    (tmp_path / "jwt").write_text("pinata-test-jwt\n")
    async with trio.open_nursery() as nursery:
        rpc = await nursery.start(node.run)
        gateway = await nursery.start(ipfs.run)
        settings = make_settings(engine_dir, **{
            "chains.sol.kind": "solana", "chains.sol.rpc": [rpc], "chains.sol.poll_interval": 0.1,
            "cloudmesh.chain": "sol", "cloudmesh.keypair": str(tmp_path / "worker.json"),
            "cloudmesh.poll_interval": 0.5, "cloudmesh.ipfs_gateways": [gateway], "cloudmesh.pinata_url": gateway,
            "cloudmesh.pinata_jwt_file": str(tmp_path / "jwt")})
        async with running_engine(settings) as (_engine, client):
            async def refused_once() -> Any:
                runs = (await client.get("/v1/jobs", params={"kind": "cloudmesh.run"})).json()["jobs"]
                return runs and runs[0]["attempts"] >= 1 and runs[0]["error"] and runs[0]

            first = await wait_for(refused_once, within=30, interval=0.1)
            assert first["error"]["code"] == "ipfs" and "kept" in first["error"]["message"]
            ipfs.pinata_jwt = "pinata-test-jwt"  # Pinata takes it now

            run = await until_state(client, first["id"], "completed", "failed", within=40)
        nursery.cancel_scope.cancel()
    assert run["attempts"] >= 2 and run["result"]["code_ran"].startswith("an earlier attempt")
    stored = json.loads(ipfs.files[bytes(CID.decode(job_on_chain(node, job).result_cid).digest)])
    assert stored["stdout"].startswith("ran as ") and stored["returncode"] == 0  # the code really ran, as its own uid
    assert int(stored["stdout"].split()[2]) >= 2_000_000_000
    sees = stored["stdout"].splitlines()[1]  # nothing of the engine: data dir, database, socket, keys, environment
    assert sees == "sees [] ['HOME', 'LANG', 'PATH', 'PWD', 'PYTHONDONTWRITEBYTECODE', 'TMPDIR', 'USER']", sees
