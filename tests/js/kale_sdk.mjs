// The local KALE chain as the official JS SDK (@stellar/stellar-sdk) sees it: every call a
// client makes, in order, with nothing of Shiftboss in between. Prints one JSON object.
// usage: node kale_sdk.mjs <rpc url> <network passphrase> <farm contract>
import { rpc, Account, Keypair, Operation, TransactionBuilder, Contract, Address, nativeToScVal, authorizeEntry, xdr }
  from "@stellar/stellar-sdk";

const [url, passphrase, farm] = process.argv.slice(2);
const server = new rpc.Server(url, { allowHttp: true });
const contract = new Contract(farm);
const out = {};

function plantTx(source, farmer, stake) {
  return new TransactionBuilder(source, { fee: "100", networkPassphrase: passphrase })
    .addOperation(contract.call("plant", new Address(farmer).toScVal(), nativeToScVal(stake, { type: "i128" })))
    .setTimeout(30).build();
}

async function landed(tx) {
  const sent = await server.sendTransaction(tx);
  if (sent.status !== "PENDING") throw new Error(`sendTransaction: ${sent.status}`);
  return server.pollTransaction(sent.hash, { attempts: 30, sleepStrategy: () => 200 });
}

const latest = await server.getLatestLedger();
out.latest = { sequence: latest.sequence, header_sequence: latest.headerXdr.ledgerSeq(),
               meta_version: latest.metadataXdr.switch() };
out.version = (await server.getVersionInfo()).protocolVersion;
out.fee_p50 = (await server.getFeeStats()).sorobanInclusionFee.p50;

// a farmer funded by friendbot through the SDK, planting as its own source
const farmer = Keypair.random();
const account = await server.requestAirdrop(farmer.publicKey());
out.airdrop_sequence = account.sequenceNumber();
const own = plantTx(account, farmer.publicKey(), 0);
const prepared = await server.prepareTransaction(own);
prepared.sign(farmer);
const planted = await landed(prepared);
out.own_plant = { status: planted.status, ledger: planted.ledger, void: planted.returnValue?.switch().name };

// another farmer planted by a payer: the farmer signs only its auth entry (authorizeEntry)
const payerKey = Keypair.random();
const payer = await server.requestAirdrop(payerKey.publicKey());
const payerSequence = payer.sequenceNumber();
const other = Keypair.random();
await server.requestAirdrop(other.publicKey());
const paid = plantTx(payer, other.publicKey(), 0);
const sim = await server.simulateTransaction(paid);
if (!rpc.Api.isSimulationSuccess(sim)) throw new Error(`simulate: ${sim.error}`);
const entry = sim.result.auth[0];
out.recorded_credentials = entry.credentials().switch().name;
const until = (await server.getLatestLedger()).sequence + 60;
const signed = await authorizeEntry(entry, other, until, passphrase);
const func = paid.toEnvelope().v1().tx().operations()[0].body().invokeHostFunctionOp().hostFunction();
const withAuth = new TransactionBuilder(new Account(payerKey.publicKey(), payerSequence), { fee: "100", networkPassphrase: passphrase })
  .addOperation(Operation.invokeHostFunction({ func, auth: [signed] })).setTimeout(30).build();
const final = rpc.assembleTransaction(withAuth, sim).build();  // keeps the signed entry, adds the footprint
final.sign(payerKey);
const otherPlanted = await landed(final);
out.paid_plant = { status: otherPlanted.status };

// a work that the contract refuses (a hash that is not the block's): FAILED, read by the SDK
const work = new TransactionBuilder(await server.getAccount(farmer.publicKey()), { fee: "200000", networkPassphrase: passphrase })
  .addOperation(contract.call("work", new Address(farmer.publicKey()).toScVal(), nativeToScVal(Buffer.alloc(32, 1)),
                              nativeToScVal(7n, { type: "u64" })))
  .setTimeout(30).build();
const workSim = await server.simulateTransaction(work);
out.work_simulation_error = workSim.error ?? null;
const soroban = new xdr.SorobanTransactionData({
  ext: new xdr.SorobanTransactionDataExt(0), resourceFee: new xdr.Int64(50000),
  resources: new xdr.SorobanResources({ footprint: new xdr.LedgerFootprint({ readOnly: [], readWrite: [] }),
                                        instructions: 2000000, diskReadBytes: 4000, writeBytes: 2000 }) });
const unsimulated = TransactionBuilder.cloneFrom(work, { fee: "200000", sorobanData: soroban }).build();
unsimulated.sign(farmer);
const failed = await landed(unsimulated);
out.failed_work = { status: failed.status, has_meta: Boolean(failed.resultMetaXdr),
                    diagnostic: (failed.diagnosticEventsXdr ?? []).length,
                    result: failed.resultXdr.result().switch().name };
// the same transaction again, now that it is applied: its sequence number is used
const again = await server.sendTransaction(unsimulated);
out.resend = { status: again.status, code: again.errorResult?.result().switch().name ?? null };
console.log(JSON.stringify(out));
