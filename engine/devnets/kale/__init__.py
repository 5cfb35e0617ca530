"""The local KALE chain: a Soroban-RPC-compatible devnet whose ledger runs a model of the KALE contract."""
