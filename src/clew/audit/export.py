"""The audit log as JSON Lines, its head signed with Ed25519, and a verifier that needs only
the file and the public key (issue 6, item 4).

An export is one line per event, in ``seq`` order, carrying every column the chain hashes
(``summary`` as the exact JSON text that was chained), then one ``head`` line: the last
event's ``seq`` and ``hash``, the time of the export and, when a signing key is configured
(``CLEW_AUDIT_SIGNING_KEY``), an Ed25519 signature over the head's canonical JSON with the key's
id (the first 16 hex digits of the SHA-256 of its raw public bytes).

``verify_export`` recomputes each event's hash from the line, checks each ``prev_hash`` against
the line before (an export from ``since`` starts from the ``prev_hash`` it carries), that the
head names the last event, and the signature. So a log handed to an auditor can be checked
anywhere: an edited, dropped, reordered or appended line, or a head re-signed with another
key, is named.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, select

from clew.core import schema
from clew.core.audit import GENESIS, canonical_json, entry_hash
from clew.core.errors import InvalidInput
from clew.core.ids import now_ms

#: Columns of an event line, as the chain hashes them (``hash`` aside).
FIELDS: Final = ("seq", "time", "actor", "actor_kind", "action", "resource_type",
                 "resource_id", "summary")  # fmt: skip
_BATCH: Final = 5000


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def new_key() -> tuple[bytes, bytes]:
    """A fresh signing key: ``(private PEM, public PEM)``."""
    private = Ed25519PrivateKey.generate()
    return (
        private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
        private.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo),
    )  # fmt: skip


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"Cannot read the signing key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"Cannot read the public key {path}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(f"{path} is not an Ed25519 public key")
    return key


def export_lines(
    conn: Connection, signer: Ed25519PrivateKey | None = None, since_seq: int = 1
) -> Iterator[bytes]:
    """The log from ``since_seq`` as JSON Lines (each ending in a newline), then its head."""
    t = schema.audit_events
    last: dict[str, Any] | None = None
    next_seq = since_seq
    while True:
        rows = conn.execute(
            select(t).where(t.c.seq >= next_seq).order_by(t.c.seq).limit(_BATCH)
        ).mappings()
        batch = [dict(r) for r in rows]
        if not batch:
            break
        for row in batch:
            line = {k: row[k] for k in FIELDS} | {"prev_hash": row["prev_hash"],
                                                   "hash": row["hash"]}  # fmt: skip
            yield orjson.dumps(line) + b"\n"
            last = row
        next_seq = batch[-1]["seq"] + 1
    head: dict[str, Any] = {
        "seq": 0 if last is None else last["seq"],
        "hash": GENESIS if last is None else last["hash"],
        "exported_at": now_ms(),
    }
    record: dict[str, Any] = {"head": head}
    if signer is not None:
        record["key_id"] = key_id(signer.public_key())
        record["signature"] = base64.b64encode(signer.sign(canonical_json(head))).decode()
    yield orjson.dumps(record) + b"\n"


@dataclass(frozen=True)
class ExportCheck:
    ok: bool
    checked: int
    first_seq: int | None
    last_seq: int | None
    signed: bool
    broken_seq: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def verify_export(lines: Iterable[bytes], public_key: Ed25519PublicKey | None) -> ExportCheck:
    """Check an export line by line; with ``public_key``, its head must be signed by it."""
    prev: str | None = None
    first: int | None = None
    last: int | None = None
    checked = 0
    head: dict[str, Any] | None = None

    def broken(seq: int | None, why: str) -> ExportCheck:
        return ExportCheck(False, checked, first, last, head is not None and "signature" in head,
                           seq, why)  # fmt: skip

    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return broken(None, f"line {number} is not JSON")
        if head is not None:
            return broken(None, f"line {number} follows the head: lines were appended")
        if "head" in record:
            head = record
            continue
        seq = record.get("seq")
        if not isinstance(seq, int) or any(k not in record for k in (*FIELDS, "hash")):
            return broken(None, f"line {number} is not an audit event")
        if last is not None and seq != last + 1:
            return broken(last + 1, "event missing")
        if prev is not None and record["prev_hash"] != prev:
            return broken(seq, "prev_hash does not match previous event")
        if entry_hash(record["prev_hash"], {k: record[k] for k in FIELDS}) != record["hash"]:
            return broken(seq, "content was altered")
        first = seq if first is None else first
        prev, last = record["hash"], seq
        checked += 1
    if head is None:
        return broken(None, "the export has no head line: it was cut short")
    named = head["head"]
    if named.get("seq") != (last or 0) or named.get("hash") != (prev or GENESIS):
        return broken(last, "the head does not name the last event")
    signed = "signature" in head
    if public_key is not None:
        if not signed:
            return broken(None, "the head is not signed")
        try:
            public_key.verify(base64.b64decode(head["signature"]), canonical_json(named))
        except (InvalidSignature, ValueError):
            return broken(None, "the head's signature is not this key's")
    return ExportCheck(True, checked, first, last, signed)
