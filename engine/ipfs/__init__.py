"""IPFS: files as kubo stores them and their CIDs (so fetched bytes are checked against the CID
they were asked for)."""

from engine.ipfs._unixfs import CHUNK, Importer, cid_of, matches

__all__ = ["CHUNK", "Importer", "cid_of", "matches"]
