"""CometBFT / Cosmos SDK chains (the Structs chain): the adapter, its RPC and REST client, the
transaction sender and its ledger, and the Structs messages and keys."""

from engine.chains.cometbft import _tx as tx
from engine.chains.cometbft._chain import CometChain
from engine.chains.cometbft._rpc import CometRpc, Refused
from engine.chains.cometbft._txs import CosmosTxs, TxFailed

__all__ = ["CometChain", "CometRpc", "CosmosTxs", "Refused", "TxFailed", "tx"]
