"""IPFS: files as kubo stores them and their CIDs, and a client for Kubo's API, gateways and
Pinata that checks every file against its CID."""

from engine.ipfs._client import IpfsClient, IpfsError
from engine.ipfs._unixfs import CHUNK, Importer, cid_of, matches

__all__ = ["CHUNK", "Importer", "IpfsClient", "IpfsError", "cid_of", "matches"]
