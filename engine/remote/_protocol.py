"""The trusted pool's wire protocol: Ed25519 identities (PyNaCl) and the two signatures that make
an allowlist mean something.

* **Identity.** A worker's id is its Ed25519 public key, base64 (as in the seed). Keys live in
  files of mode 0600 holding the 32-byte seed, base64.
* **Requests from the coordinator** carry ``X-Shiftboss-Key`` (the coordinator's id),
  ``X-Shiftboss-Time``, ``X-Shiftboss-Nonce`` and ``X-Shiftboss-Signature`` over
  ``method \\n path?query \\n time \\n nonce \\n sha256(body)``. A worker accepts only its
  configured coordinator's key, a time within ``MAX_SKEW`` seconds, and a nonce it has not seen.
* **Health answers** are signed by the worker over the canonical JSON of their fields — the
  coordinator's fresh challenge, the worker id, the time and its capacity — so a server that
  merely knows (and echoes) a worker's public key cannot pass for it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.signing

MAX_SKEW = 30.0  # seconds between the signer's clock and ours
HEADERS = ("x-shiftboss-key", "x-shiftboss-time", "x-shiftboss-nonce", "x-shiftboss-signature")


class ProtocolError(Exception):
    """A signature, key or message that does not check out (the message says which part)."""


def worker_id(key: nacl.signing.VerifyKey) -> str:
    return base64.b64encode(bytes(key)).decode()


def verify_key(identity: str) -> nacl.signing.VerifyKey:
    """The public key of a base64 id; :class:`ProtocolError` if it is not one."""
    try:
        raw = base64.b64decode(identity, validate=True)
    except (ValueError, TypeError):
        raise ProtocolError(f"not a base64 Ed25519 public key: {identity[:60]!r}") from None
    if len(raw) != 32:
        raise ProtocolError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
    return nacl.signing.VerifyKey(raw)


def generate_key(path: Path) -> nacl.signing.SigningKey:
    """A new key written to ``path`` (mode 0600); refuses to overwrite."""
    key = nacl.signing.SigningKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # FileExistsError: never overwrite
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(bytes(key)).decode() + "\n")
    return key


def load_key(path: Path) -> nacl.signing.SigningKey:
    """The key in ``path``; refuses one that others can read."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ProtocolError(f"{path} is readable by others (mode {mode:o}): chmod 600 it")
    try:
        raw = base64.b64decode(path.read_text().strip(), validate=True)
    except (ValueError, TypeError):
        raise ProtocolError(f"{path} does not hold a base64 Ed25519 key") from None
    if len(raw) != 32:
        raise ProtocolError(f"{path} does not hold a 32-byte Ed25519 seed")
    return nacl.signing.SigningKey(raw)


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def _request_message(method: str, target: str, stamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), target, stamp, nonce, hashlib.sha256(body).hexdigest()]).encode()


def sign_request(key: nacl.signing.SigningKey, method: str, target: str, body: bytes = b"") -> dict[str, str]:
    """Headers that sign a request for ``target`` (path and query, as sent)."""
    stamp, nonce = f"{time.time():.3f}", secrets.token_hex(16)
    signature = key.sign(_request_message(method, target, stamp, nonce, body)).signature
    return {"X-Shiftboss-Key": worker_id(key.verify_key), "X-Shiftboss-Time": stamp, "X-Shiftboss-Nonce": nonce,
            "X-Shiftboss-Signature": base64.b64encode(signature).decode()}


class RequestVerifier:
    """Checks requests signed by the one key ``allowed``; remembers nonces for the skew window."""

    def __init__(self, allowed: str) -> None:
        self.allowed = allowed
        self._key = verify_key(allowed)
        self._seen: OrderedDict[str, float] = OrderedDict()

    def check(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        key, stamp, nonce, signature = (headers.get(h, "") for h in HEADERS)
        if not (key and stamp and nonce and signature):
            raise ProtocolError("unsigned request: X-Shiftboss-Key/Time/Nonce/Signature are required")
        if key != self.allowed:
            raise ProtocolError("signed by a key that is not this worker's coordinator")
        try:
            skew = abs(time.time() - float(stamp))
        except ValueError:
            raise ProtocolError("X-Shiftboss-Time is not a number") from None
        if skew > MAX_SKEW:
            raise ProtocolError(f"the request's time is {skew:.0f} s off (at most {MAX_SKEW:g})")
        now = time.time()
        while self._seen and next(iter(self._seen.values())) < now - 2 * MAX_SKEW:
            self._seen.popitem(last=False)
        if nonce in self._seen:
            raise ProtocolError("a replayed request (its nonce was seen)")
        try:
            self._key.verify(_request_message(method, target, stamp, nonce, body), base64.b64decode(signature))
        except (nacl.exceptions.BadSignatureError, ValueError):
            raise ProtocolError("the request's signature does not verify") from None
        self._seen[nonce] = now


def sign_fields(key: nacl.signing.SigningKey, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` plus ``signature``: base64 Ed25519 over their canonical JSON."""
    return {**fields, "signature": base64.b64encode(key.sign(canonical(fields)).signature).decode()}


def check_fields(identity: str, answer: dict[str, Any]) -> dict[str, Any]:
    """The fields of a signed answer from ``identity``; :class:`ProtocolError` unless its
    signature verifies against that key."""
    fields = {k: v for k, v in answer.items() if k != "signature"}
    signature = answer.get("signature")
    if not isinstance(signature, str):
        raise ProtocolError("the answer is not signed")
    try:
        verify_key(identity).verify(canonical(fields), base64.b64decode(signature))
    except (nacl.exceptions.BadSignatureError, ValueError):
        raise ProtocolError("the answer's signature does not verify against the allowlisted key") from None
    return fields


def check_health(identity: str, challenge: str, answer: dict[str, Any]) -> dict[str, Any]:
    """A health answer's fields, if it is this worker's, for this challenge, and fresh."""
    fields = check_fields(identity, answer)
    if fields.get("worker_id") != identity:
        raise ProtocolError("the answer names another worker")
    if fields.get("challenge") != challenge:
        raise ProtocolError("the answer is for another challenge (a replay?)")
    try:
        skew = abs(time.time() - float(fields.get("time", 0)))
    except (TypeError, ValueError):
        raise ProtocolError("the answer's time is not a number") from None
    if skew > MAX_SKEW:
        raise ProtocolError(f"the answer's time is {skew:.0f} s off")
    return fields
