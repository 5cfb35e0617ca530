"""Custodial farmer secrets at rest: sealed with PyNaCl's SecretBox (XSalsa20-Poly1305) under a
32-byte key kept in a file of mode 0600 (created on first use, never overwritten).

A secret is checked against the farmer's address before it is sealed, and is only ever opened
in memory to sign; it never reaches a log, an event, an audit record or an API answer.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import nacl.exceptions
import nacl.secret
import nacl.utils
from stellar_sdk import Keypair
from stellar_sdk.exceptions import Ed25519SecretSeedInvalidError

from engine.errors import ConfigError


class SecretMismatch(ValueError):
    """A secret that is not a Stellar seed, or not the seed of the address it came with."""


def keypair_for(address: str, secret: str) -> Keypair:
    """The keypair of ``secret`` if it belongs to ``address``; :class:`SecretMismatch` otherwise
    (the message never contains the secret)."""
    try:
        key = Keypair.from_secret(secret.strip())
    except (Ed25519SecretSeedInvalidError, ValueError):
        raise SecretMismatch("not a Stellar secret seed (S…, 56 characters)") from None
    if key.public_key != address:
        raise SecretMismatch(f"the secret seed belongs to {key.public_key}, not {address}")
    return key


class Vault:
    def __init__(self, key_path: Path) -> None:
        self.path = key_path
        self._box = nacl.secret.SecretBox(self._load_or_create(key_path))

    @staticmethod
    def _load_or_create(path: Path) -> bytes:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise ConfigError([("kale.key_file", f"{path} is readable by others (mode {mode:o}); chmod 600 it")]) from None
            key = path.read_bytes()
            if len(key) != nacl.secret.SecretBox.KEY_SIZE:
                raise ConfigError([("kale.key_file", f"{path} is not a {nacl.secret.SecretBox.KEY_SIZE}-byte key")]) from None
            return key
        key = nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        return key

    def seal(self, secret: str) -> str:
        return base64.b64encode(bytes(self._box.encrypt(secret.encode()))).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._box.decrypt(base64.b64decode(sealed)).decode()
        except (nacl.exceptions.CryptoError, ValueError) as exc:
            raise SecretMismatch(f"a sealed secret does not open with {self.path} (another key file?)") from exc
