"""Signer keys: an encrypted JSON keystore (password from a file or an environment variable) or a
plain key file that only its owner may read (0600). Keys are never logged or printed; a
``LocalAccount`` is what leaves this module.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from engine.errors import ConfigError


def signing_backend() -> str:
    """Which secp256k1 implementation eth-account signs with: ``coincurve`` (libsecp256k1, about
    ten times faster) when installed, else eth-keys' pure-Python one."""
    from eth_keys.backends import get_backend

    return "coincurve" if type(get_backend()).__name__ == "CoinCurveECCBackend" else "pure-python"


def password_from(file: str | Path | None = None, env: str | None = None) -> str:
    if file:
        return Path(file).read_text().rstrip("\n")
    if env:
        value = os.environ.get(env)
        if value is None:
            raise ConfigError([(env, "the password environment variable is not set")])
        return value
    raise ConfigError([("password", "a keystore needs a password: --password-file FILE or --password-env VAR")])


def write_private(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600 (never overwrite an existing key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def save(account: LocalAccount, path: Path, password: str | None) -> None:
    """A keystore when ``password`` is given, else a 0600 key file."""
    if password is not None:
        keystore = Account.encrypt(account.key, password)
        write_private(path, json.dumps(keystore, indent=1) + "\n")
    else:
        write_private(path, account.key.hex() if account.key.hex().startswith("0x") else "0x" + account.key.hex())


def load(path: str | Path, password: str | None = None) -> LocalAccount:
    """A signer from a keystore (needs ``password``) or a key file (must not be readable by others)."""
    path = Path(path)
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigError([(str(path), f"cannot read the key: {exc.strerror}")]) from None
    if text.startswith("{"):
        if password is None:
            raise ConfigError([(str(path), "this is an encrypted keystore: give its password (file or env)")])
        try:
            data: dict[str, Any] = json.loads(text)
            return Account.from_key(Account.decrypt(data, password))
        except ValueError as exc:
            raise ConfigError([(str(path), f"cannot decrypt the keystore: {exc}")]) from None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError([(str(path), f"a plain key file must be private (mode {mode:o}): chmod 600 {path}")])
    try:
        return Account.from_key(text)
    except (ValueError, TypeError):
        raise ConfigError([(str(path), "not a private key (64 hex digits) nor a keystore")]) from None


def address_of(path: str | Path) -> str | None:
    """A keystore's address without its password (keystores record it); None for key files."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    address = data.get("address") if isinstance(data, dict) else None
    return to_checksum_address("0x" + address.removeprefix("0x")) if isinstance(address, str) else None
