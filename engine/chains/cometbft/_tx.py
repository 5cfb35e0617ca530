"""Cosmos SDK transactions for the Structs chain, without generated protobuf code: the four
``structs.structs.Msg*Complete`` messages registered from a hand-built file descriptor, keys
(secp256k1 key files, mode 0600), signing in ``SIGN_MODE_DIRECT``, and the reverse — decoding a
``TxRaw`` and verifying its signature — which the local chain uses to apply the real rules.

The protobuf classes of the SDK itself (``TxRaw``, ``TxBody``, ``AuthInfo``, ``SignDoc``,
``PubKey``) and the secp256k1 keys are cosmpy's.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cosmpy.crypto.address import Address
from cosmpy.crypto.keypairs import PrivateKey, PublicKey
from cosmpy.protos.cosmos.base.v1beta1.coin_pb2 import Coin
from cosmpy.protos.cosmos.crypto.secp256k1.keys_pb2 import PubKey as ProtoPubKey
from cosmpy.protos.cosmos.tx.signing.v1beta1.signing_pb2 import SignMode
from cosmpy.protos.cosmos.tx.v1beta1.tx_pb2 import AuthInfo, Fee, ModeInfo, SignDoc, SignerInfo, TxBody, TxRaw
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

PACKAGE = "structs.structs"
PUBKEY_TYPE = "/cosmos.crypto.secp256k1.PubKey"
#: action → (message name, the id field); every field is a string
ACTIONS: dict[str, tuple[str, str]] = {
    "build": ("MsgStructBuildComplete", "structId"),
    "mine": ("MsgStructOreMinerComplete", "structId"),
    "refine": ("MsgStructOreRefineryComplete", "structId"),
    "raid": ("MsgPlanetRaidComplete", "fleetId"),
}
_SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


class TxCodecError(ValueError):
    """Bytes that are not a transaction this chain can read, or a key file that is not a key."""


def _register() -> dict[str, type[Message]]:
    pool = descriptor_pool.Default()
    names = [name for name, _field in ACTIONS.values()]
    try:
        pool.FindMessageTypeByName(f"{PACKAGE}.{names[0]}")
    except KeyError:
        fdp = descriptor_pb2.FileDescriptorProto(name="structs/structs/tx_complete.proto", package=PACKAGE,
                                                 syntax="proto3")
        for name, id_field in ACTIONS.values():
            msg = fdp.message_type.add(name=name)
            for number, field in enumerate(("creator", id_field, "proof", "nonce"), start=1):
                msg.field.add(name=field, number=number, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                              label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL, json_name=field)
        pool.Add(fdp)
    return {f"/{PACKAGE}.{name}": message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))
            for name in names}


MESSAGES = _register()  # type URL → class


def type_url(action: str) -> str:
    return f"/{PACKAGE}.{ACTIONS[action][0]}"


def completion(action: str, creator: str, object_id: str, proof: str, nonce: str) -> dict[str, Any]:
    """The ``Msg*Complete`` of ``action`` as stored in the ledger: ``{"@type": url, field: value}``."""
    return {"@type": type_url(action), "creator": creator, ACTIONS[action][1]: object_id, "proof": proof,
            "nonce": nonce}


def _pack(msg: dict[str, Any]) -> any_pb2.Any:
    cls = MESSAGES.get(msg["@type"])
    if cls is None:
        raise TxCodecError(f"unknown message type {msg['@type']}")
    fields = {k: v for k, v in msg.items() if k != "@type"}
    return any_pb2.Any(type_url=msg["@type"], value=cls(**fields).SerializeToString())


# --- keys --------------------------------------------------------------------------------------


def address(public_key: bytes | PublicKey, prefix: str) -> str:
    key = public_key if isinstance(public_key, PublicKey) else PublicKey(public_key)
    return str(Address(key, prefix=prefix))


def load_key(path: Path) -> PrivateKey:
    """A secp256k1 key from ``path``: 64 hex characters, in a file only its owner may read."""
    try:
        mode = path.stat().st_mode & 0o777
        text = path.read_text().strip()
    except OSError as exc:
        raise TxCodecError(f"{path}: {exc.strerror or exc}") from None
    if mode & 0o077:
        raise TxCodecError(f"{path} is readable by others (mode {mode:o}): chmod 600 it")
    try:
        raw = bytes.fromhex(text.removeprefix("0x"))
        if len(raw) != 32:
            raise ValueError
        return PrivateKey(raw)
    except ValueError:
        raise TxCodecError(f"{path}: not a secp256k1 key (64 hex characters)") from None


def create_key(path: Path) -> PrivateKey:
    """A new key written to ``path`` (0600); never over an existing file."""
    key = PrivateKey()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.private_key_bytes.hex() + "\n")
    return key


# --- signing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    raw: bytes
    hash: str  # uppercase hex SHA-256 of the raw bytes, as CometBFT names a transaction


def tx_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest().upper()


def sign(key: PrivateKey, msgs: list[dict[str, Any]], *, chain_id: str, account_number: int, sequence: int,
         gas: int, fee: int = 0, denom: str = "ualpha", memo: str = "") -> Signed:
    """A ``TxRaw`` with ``msgs`` signed by ``key`` (direct mode)."""
    body = TxBody(messages=[_pack(m) for m in msgs], memo=memo).SerializeToString()
    pub = any_pb2.Any(type_url=PUBKEY_TYPE, value=ProtoPubKey(key=key.public_key.public_key_bytes).SerializeToString())
    auth = AuthInfo(signer_infos=[SignerInfo(public_key=pub, sequence=sequence,
                                             mode_info=ModeInfo(single=ModeInfo.Single(mode=SignMode.SIGN_MODE_DIRECT)))],
                    fee=Fee(amount=[Coin(denom=denom, amount=str(fee))] if fee else [], gas_limit=gas)
                    ).SerializeToString()
    doc = SignDoc(body_bytes=body, auth_info_bytes=auth, chain_id=chain_id, account_number=account_number)
    signature = key.sign(doc.SerializeToString(), deterministic=True, canonicalise=True)
    raw = TxRaw(body_bytes=body, auth_info_bytes=auth, signatures=[signature]).SerializeToString()
    return Signed(raw, tx_hash(raw))


# --- reading (the local chain) ------------------------------------------------------------------


@dataclass(frozen=True)
class Decoded:
    msgs: list[dict[str, Any]]
    public_key: bytes
    sequence: int
    gas: int
    signature: bytes
    body_bytes: bytes
    auth_info_bytes: bytes

    def signer(self, prefix: str) -> str:
        return address(self.public_key, prefix)

    def verify(self, chain_id: str, account_number: int) -> bool:
        """The signature is the signer's over this chain's sign doc, in low-s form."""
        if len(self.signature) != 64 or int.from_bytes(self.signature[32:], "big") > _SECP256K1_HALF_N:
            return False
        doc = SignDoc(body_bytes=self.body_bytes, auth_info_bytes=self.auth_info_bytes, chain_id=chain_id,
                      account_number=account_number).SerializeToString()
        return PublicKey(self.public_key).verify(doc, self.signature)


def decode(raw: bytes) -> Decoded:
    """Read a ``TxRaw`` with one direct-mode secp256k1 signer and Structs messages."""
    try:
        tx = TxRaw.FromString(raw)
        body, auth = TxBody.FromString(tx.body_bytes), AuthInfo.FromString(tx.auth_info_bytes)
    except DecodeError as exc:
        raise TxCodecError(f"tx parse error: {exc}") from None
    if len(auth.signer_infos) != 1 or len(tx.signatures) != 1:
        raise TxCodecError("expected one signer and one signature")
    info = auth.signer_infos[0]
    if info.public_key.type_url != PUBKEY_TYPE:
        raise TxCodecError(f"unsupported public key type {info.public_key.type_url or '(none)'}")
    if not body.messages:
        raise TxCodecError("must contain at least one message")
    msgs = []
    for packed in body.messages:
        cls = MESSAGES.get(packed.type_url)
        if cls is None:
            raise TxCodecError(f"unable to resolve type URL {packed.type_url}")
        try:
            msg = cls.FromString(packed.value)
        except DecodeError as exc:
            raise TxCodecError(f"tx parse error: {exc}") from None
        msgs.append({"@type": packed.type_url, **{f.name: v for f, v in msg.ListFields()}})
    try:
        key = ProtoPubKey.FromString(info.public_key.value).key
    except DecodeError as exc:
        raise TxCodecError(f"tx parse error: {exc}") from None
    return Decoded(msgs, key, info.sequence, auth.fee.gas_limit, tx.signatures[0], tx.body_bytes,
                   tx.auth_info_bytes)
