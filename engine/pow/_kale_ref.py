"""KALE proof of work in plain Python: the preimage, the hash, the score — the reference every
kernel result is re-verified against before the engine accepts it (docs/design.md §6)."""

from __future__ import annotations

import base64
import binascii
import struct

from Crypto.Hash import keccak

_STRKEY_VERSIONS = {"G": 6 << 3, "C": 2 << 3}  # ed25519 public key, contract


class StrkeyError(ValueError):
    """Not a valid Stellar G…/C… address."""


def strkey_payload(address: str) -> bytes:
    """The 32-byte payload of a Stellar account (G…) or contract (C…) strkey, checksum checked."""
    if len(address) != 56 or address[0] not in _STRKEY_VERSIONS:
        raise StrkeyError("expected a 56-character Stellar address starting with G or C")
    try:
        raw = base64.b32decode(address)
    except (binascii.Error, ValueError):
        raise StrkeyError("not valid base32") from None
    version, payload, checksum = raw[0], raw[1:33], raw[33:]
    if version != _STRKEY_VERSIONS[address[0]]:
        raise StrkeyError(f"version byte {version} does not match the {address[0]} prefix")
    if struct.pack("<H", crc16_xmodem(raw[:33])) != checksum:
        raise StrkeyError("checksum mismatch (a mistyped character?)")
    return payload


def crc16_xmodem(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def preimage(index: int, nonce: int, entropy: bytes, farmer: bytes) -> bytes:
    """index u32 BE ‖ nonce u64 BE ‖ entropy (32) ‖ farmer (32): 76 bytes."""
    if len(entropy) != 32 or len(farmer) != 32:
        raise ValueError("entropy and farmer must be 32 bytes each")
    return struct.pack(">IQ", index, nonce) + entropy + farmer


def kale_hash(index: int, nonce: int, entropy: bytes, farmer: bytes) -> bytes:
    """Keccak-256 with the original Keccak padding (not FIPS SHA3-256)."""
    return keccak.new(digest_bits=256, data=preimage(index, nonce, entropy, farmer)).digest()
