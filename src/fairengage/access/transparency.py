"""Signed checkpoints of the audit log's Merkle tree, the folder they are kept in, and their checks.

A checkpoint is the C2SP "tlog-checkpoint" body (origin line, tree size, base64 root hash, then one
extension line `time <UTC instant>`) in a C2SP "signed note": the body, a blank line, and one line
`— <key name> <base64(4-byte key id || Ed25519 signature)>`. The key id is the first four bytes of
SHA-256(key name || 0x0A || 0x01 || public key), as the signed-note spec gives for Ed25519 keys.

The private key lives in a PEM file named by FAIRENGAGE_AUDIT_SIGNING_KEY_FILE, outside the database
and apart from the secret key; `fairengage audit keygen` makes one. In debug mode without a key file
the service signs with a key made at start-up and kept in memory only (nothing is written to the
folder); outside debug mode without one, nothing is signed and the public page says so.

Checkpoints are written to FAIRENGAGE_AUDIT_CHECKPOINT_DIR, each in a new file created exclusively
(never overwritten); the newest one's size is the floor the log may never shrink below (audit.Guard).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine, and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from fairengage.access import audit, merkle
from fairengage.access.models import AuditEntry, AuditHead, AuditTreeNode
from fairengage.config import Settings

log = logging.getLogger(__name__)

SIGNATURE_DASH = "\u2014"
ED25519 = b"\x01"
SUFFIX = ".checkpoint"


class CheckpointError(ValueError):
    """A checkpoint that cannot be trusted or read: malformed, badly signed, or by an unknown key."""


def b64(data: bytes) -> str:
    """Standard base64 with padding, as signed notes and checkpoints use."""
    return base64.b64encode(data).decode("ascii")


def key_id(name: str, public: Ed25519PublicKey) -> bytes:
    """The 4-byte id of an Ed25519 note key: SHA-256 of name, newline, 0x01 and the raw key."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519 + raw).digest()[:4]


def origin_of(public_url: str) -> str:
    """The log's origin line (and key name): the public URL without its scheme, then the log's path."""
    parts = urlsplit(public_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/transparency/audit"


@dataclass(frozen=True)
class Signer:
    """A note key: its name (the log's origin) and Ed25519 private key; `ephemeral` if made in memory."""

    name: str
    private: Ed25519PrivateKey
    ephemeral: bool = False

    @property
    def public(self) -> Ed25519PublicKey:
        """The public half."""
        return self.private.public_key()

    @property
    def vkey(self) -> str:
        """The verifier key in the signed-note text form: name+hex key id+base64(0x01 || key)."""
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return f"{self.name}+{key_id(self.name, self.public).hex()}+{b64(ED25519 + raw)}"

    @property
    def public_pem(self) -> str:
        """The public key as PEM (SubjectPublicKeyInfo)."""
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def sign(self, body: str) -> str:
        """The signed note: the body, a blank line, and this key's signature line."""
        signature = self.private.sign(body.encode("utf-8"))
        return f"{body}\n{SIGNATURE_DASH} {self.name} {b64(key_id(self.name, self.public) + signature)}\n"


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in a PEM file; CheckpointError naming the file if it is not one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path}: not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file, or the public half of a private key's PEM file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: {exc.strerror or exc}") from None
    if b"PRIVATE KEY" in data:
        return load_private_key(path).public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"{path}: not an Ed25519 key")
    return key


def keygen(path: Path) -> Ed25519PrivateKey:
    """Write a new Ed25519 private key to `path` as PEM, mode 0600; refuse to overwrite a file."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # O_EXCL: an existing key is never replaced, or every checkpoint signed with it would be orphaned.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


_EPHEMERAL: dict[str, Ed25519PrivateKey] = {}


def signer_for(settings: Settings) -> Signer | None:
    """The service's signer: its key file, else (debug mode only) a key kept in memory, else None."""
    name = origin_of(settings.public_url)
    if settings.audit_signing_key_file is not None:
        return Signer(name, load_private_key(settings.audit_signing_key_file))
    if settings.debug:
        return Signer(name, _EPHEMERAL.setdefault(name, Ed25519PrivateKey.generate()), ephemeral=True)
    return None


@dataclass(frozen=True)
class Checkpoint:
    """A tree size and root hash at a moment, as a log's origin states them."""

    origin: str
    size: int
    root: bytes
    time: datetime

    def body(self) -> str:
        """The checkpoint's text before signing: origin, size, base64 root, time; each ending in \\n."""
        stamp = self.time.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return f"{self.origin}\n{self.size}\n{b64(self.root)}\ntime {stamp}\n"

    def as_json(self) -> dict[str, object]:
        """The same facts as JSON values (root in base64 and hex)."""
        return {
            "origin": self.origin,
            "tree_size": self.size,
            "root_hash": b64(self.root),
            "root_hash_hex": self.root.hex(),
            "time": self.time.astimezone(UTC).isoformat(timespec="seconds"),
        }


def parse_note(text: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """A signed note's body and its signatures as (key name, key id, signature)."""
    body, sep, signatures = text.rpartition("\n\n")
    if not sep or not body:
        raise CheckpointError("not a signed note: no blank line before the signatures")
    body += "\n"
    found = []
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != SIGNATURE_DASH:
            raise CheckpointError(f"not a signature line: {line[:80]!r}")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            raise CheckpointError(f"signature of {parts[1]} is not base64") from None
        if len(blob) < 5:
            raise CheckpointError(f"signature of {parts[1]} is too short")
        found.append((parts[1], blob[:4], blob[4:]))
    if not found:
        raise CheckpointError("not a signed note: no signature")
    return body, found


def parse_checkpoint_body(body: str) -> Checkpoint:
    """The origin, size, root and time of a checkpoint body."""
    lines = body.split("\n")[:-1]
    if len(lines) < 3:
        raise CheckpointError("a checkpoint needs an origin, a tree size and a root hash")
    origin, size_text, root_text = lines[:3]
    if not size_text.isdigit():
        raise CheckpointError(f"tree size {size_text[:30]!r} is not a number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError:
        raise CheckpointError("root hash is not base64") from None
    if len(root) != 32:
        raise CheckpointError("root hash is not 32 bytes")
    moment = datetime.fromtimestamp(0, UTC)
    for extra in lines[3:]:
        if extra.startswith("time "):
            try:
                moment = datetime.fromisoformat(extra[5:].replace("Z", "+00:00"))
            except ValueError:
                raise CheckpointError(f"time {extra[5:35]!r} is not an ISO 8601 instant") from None
    return Checkpoint(origin, int(size_text), root, moment)


def open_checkpoint(text: str, public: Ed25519PublicKey) -> Checkpoint:
    """The checkpoint in a signed note, if `public` signed it; CheckpointError saying why not."""
    body, signatures = parse_note(text)
    for name, kid, signature in signatures:
        if kid != key_id(name, public):
            continue
        try:
            public.verify(signature, body.encode("utf-8"))
        except InvalidSignature:
            raise CheckpointError(f"bad signature by {name}: the checkpoint was altered") from None
        return parse_checkpoint_body(body)
    names = ", ".join(name for name, _, _ in signatures)
    raise CheckpointError(f"signed by an unknown key ({names}), not by this log's key")


# --- The tree in the database -------------------------------------------------------------------


def db_nodes(session: Session) -> merkle.NodeReader:
    """A reader of complete-subtree hashes from audit_tree, one query per proof."""

    def read(wanted: set[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        if not wanted:
            return {}
        by_level: dict[int, list[int]] = {}
        for level, idx in wanted:
            by_level.setdefault(level, []).append(idx)
        # One indexed lookup per level (an OR of them), which both databases answer from the primary
        # key; a row-value IN over (level, idx) is not always planned as an index search.
        rows = session.execute(
            select(AuditTreeNode.level, AuditTreeNode.idx, AuditTreeNode.hash).where(
                or_(
                    *(
                        and_(AuditTreeNode.level == level, AuditTreeNode.idx.in_(sorted(idxs)))
                        for level, idxs in by_level.items()
                    )
                )
            )
        ).all()
        found = {(row.level, row.idx): bytes(row.hash) for row in rows}
        missing = wanted - set(found)
        if missing:
            raise CheckpointError(f"the audit tree lacks {len(missing)} node(s), e.g. {min(missing)}")
        return found

    return read


def tree_head(session: Session) -> tuple[int, bytes]:
    """The size and root of the tree the head keeps."""
    head = session.get(AuditHead, 1)
    if head is None or head.tree_size == 0:
        return 0, merkle.EMPTY_ROOT
    text = head.frontier
    return head.tree_size, merkle.fold([bytes.fromhex(text[i : i + 64]) for i in range(0, len(text), 64)])


def root_at(session: Session, size: int) -> bytes:
    """The root of the tree of the first `size` entries, from stored nodes."""
    return merkle.range_hashes([(0, size)], db_nodes(session))[0] if size else merkle.EMPTY_ROOT


def inclusion_proof(session: Session, index: int, size: int) -> list[bytes]:
    """The RFC 9162 inclusion proof of leaf `index` (entry seq index+1) in the tree of `size`."""
    return merkle.range_hashes(merkle.inclusion_ranges(index, size), db_nodes(session))


def consistency_proof(session: Session, first: int, second: int) -> list[bytes]:
    """The RFC 9162 consistency proof from the tree of `first` entries to that of `second`."""
    return merkle.range_hashes(merkle.consistency_ranges(first, second), db_nodes(session))


def leaf_of(session: Session, seq: int) -> bytes | None:
    """The leaf hash of entry `seq`, from its stored fields; None if there is no such entry."""
    entry = session.get(AuditEntry, seq)
    return merkle.leaf_hash(audit.canonical_bytes(audit.entry_record(entry))) if entry else None


# --- The folder ---------------------------------------------------------------------------------


class CheckpointFolder:
    """An append-only folder of signed checkpoints: one new file each, created exclusively."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def files(self) -> list[Path]:
        """The checkpoint files, oldest (smallest tree) first."""
        if not self.path.is_dir():
            return []
        return sorted(p for p in self.path.iterdir() if p.name.endswith(SUFFIX))

    def write(self, checkpoint: Checkpoint, note: str) -> Path | None:
        """Keep a signed checkpoint in a new file; None if one of that size and second exists."""
        self.path.mkdir(parents=True, exist_ok=True)
        stamp = checkpoint.time.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.path / f"{checkpoint.size:012d}-{stamp}{SUFFIX}"
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(note)
            handle.flush()
            os.fsync(handle.fileno())
        return target

    def opened(self, public: Ed25519PublicKey) -> list[tuple[Path, Checkpoint | CheckpointError]]:
        """Every file with its checkpoint, or the error that makes it untrustworthy."""
        out: list[tuple[Path, Checkpoint | CheckpointError]] = []
        for path in self.files():
            try:
                out.append((path, open_checkpoint(path.read_text(encoding="utf-8"), public)))
            except (CheckpointError, OSError, UnicodeDecodeError) as exc:
                out.append((path, exc if isinstance(exc, CheckpointError) else CheckpointError(str(exc))))
        return out

    def latest(self, public: Ed25519PublicKey) -> Checkpoint | None:
        """The checkpoint of the largest tree that this key signed."""
        for path in reversed(self.files()):
            try:
                return open_checkpoint(path.read_text(encoding="utf-8"), public)
            except (CheckpointError, OSError, UnicodeDecodeError):
                continue
        return None


def folder_of(settings: Settings) -> CheckpointFolder:
    """The service's checkpoint folder."""
    return CheckpointFolder(settings.audit_checkpoint_dir)


def folder_checkpoints(settings: Settings) -> tuple[list[tuple[str, Checkpoint]], list[str]]:
    """The folder's checkpoints this service's key signed, by file name, and a line per bad file."""
    signer = signer_for(settings)
    if signer is None or signer.ephemeral:
        return [], []
    kept: list[tuple[str, Checkpoint]] = []
    bad: list[str] = []
    for path, opened in folder_of(settings).opened(signer.public):
        if isinstance(opened, CheckpointError):
            bad.append(f"checkpoint {path}: {opened}")
        else:
            kept.append((str(path), opened))
    return kept, bad


def bind(engine: Engine, settings: Settings) -> audit.Guard:
    """Set the engine's audit guard: the journal MAC key and the floor from the latest checkpoint."""
    guard = audit.Guard(audit.journal_mac_key(settings.secret))
    signer = signer_for(settings)
    if signer is None:
        log.warning(
            "FAIRENGAGE_AUDIT_SIGNING_KEY_FILE is not set: the audit log is not checkpointed, so a rewrite "
            "by someone with database access would go unnoticed (make a key: fairengage audit keygen)"
        )
    if signer is not None and not signer.ephemeral:
        latest = folder_of(settings).latest(signer.public)
        guard.floor = latest.size if latest else 0
    audit.set_guard(engine, guard)
    return guard


def current_checkpoint(
    session: Session, signer: Signer, now: datetime | None = None
) -> tuple[Checkpoint, str]:
    """The checkpoint of the tree the head keeps now, and its signed note."""
    size, root = tree_head(session)
    checkpoint = Checkpoint(signer.name, size, root, (now or datetime.now(UTC)).replace(microsecond=0))
    return checkpoint, signer.sign(checkpoint.body())


def write_checkpoint(
    sessions: sessionmaker[Session], settings: Settings, *, only_if_grown: bool = False
) -> tuple[Checkpoint, str, Path | None]:
    """Seal the journal, sign the current tree and keep it in the folder (unless the key is ephemeral).

    With `only_if_grown`, nothing is written when the folder already holds a checkpoint of this size.
    """
    signer = signer_for(settings)
    if signer is None:
        raise CheckpointError("no signing key: set FAIRENGAGE_AUDIT_SIGNING_KEY_FILE")
    audit.seal_all(sessions)
    with sessions.begin() as session:
        audit.complete_tree(session)
    with sessions() as session:
        checkpoint, note = current_checkpoint(session, signer)
    if signer.ephemeral:
        return checkpoint, note, None
    folder = folder_of(settings)
    latest = folder.latest(signer.public)
    if latest is not None and latest.size > checkpoint.size:
        raise audit.AuditRolledBack(
            f"the log has {checkpoint.size} entries but checkpoint {latest.origin} covers {latest.size}"
        )
    if only_if_grown and latest is not None and latest.size == checkpoint.size:
        return checkpoint, note, None
    path = folder.write(checkpoint, note)
    audit.raise_floor(sessions.kw["bind"], checkpoint.size)
    return checkpoint, note, path


# --- Checking the log against checkpoints -------------------------------------------------------


@dataclass(frozen=True)
class LogCheck:
    """The outcome of checking the log: its chain report and one line per problem found."""

    report: audit.ChainReport
    problems: list[str]

    @property
    def ok(self) -> bool:
        """True when the chain verified and every checkpoint is extended by the log."""
        return self.report.ok and not self.problems


def check_log(session: Session, checkpoints: list[tuple[str, Checkpoint]]) -> LogCheck:
    """Verify the chain and tree, and that the log extends each (label, checkpoint) given."""
    report = audit.verify(session, sizes={cp.size for _, cp in checkpoints})
    problems = []
    if not report.ok:
        problems.append(
            f"audit log entry {report.first_bad_seq}: {report.problem} "
            f"({report.checked} entries before it verified)"
        )
    for label, cp in checkpoints:
        if report.checked < cp.size:
            if report.checked == 0:
                problems.append(f"the log is empty but checkpoint {label} covers {cp.size}: it was wiped")
            elif report.ok:
                problems.append(
                    f"the log has {report.checked} entries but checkpoint {label} covers {cp.size}: "
                    "it was truncated or rolled back"
                )
            else:
                problems.append(
                    f"only {report.checked} entries of the log verify but checkpoint {label} covers {cp.size}"
                )
            continue
        root = report.roots.get(cp.size)
        if root is not None and root != cp.root:
            problems.append(
                f"the log's root at size {cp.size} is {b64(root)} but checkpoint {label} says "
                f"{b64(cp.root)}: entries up to {cp.size} were rewritten, re-ordered, removed or inserted"
            )
    return LogCheck(report, problems)


# --- Inclusion proofs of one entry, checkable offline -------------------------------------------

PROOF_FORMAT = "fairengage-audit-inclusion/1"


def entry_proof(session: Session, seq: int, note: str, public: Ed25519PublicKey) -> dict[str, Any]:
    """Entry `seq`, its leaf hash and its inclusion proof against the signed checkpoint `note`."""
    checkpoint = open_checkpoint(note, public)
    if not 1 <= seq <= checkpoint.size:
        raise CheckpointError(f"entry {seq} is not in the checkpoint of {checkpoint.size} entries")
    entry = session.get(AuditEntry, seq)
    if entry is None:
        raise CheckpointError(f"entry {seq} is missing from the log")
    record = audit.entry_record(entry)
    path = inclusion_proof(session, seq - 1, checkpoint.size)
    return {
        "format": PROOF_FORMAT,
        "entry": record,
        "leaf_index": seq - 1,
        "tree_size": checkpoint.size,
        "leaf_hash": merkle.leaf_hash(audit.canonical_bytes(record)).hex(),
        "proof": [b64(h) for h in path],
        "checkpoint": note,
    }


def check_entry_proof(proof: dict[str, Any], public: Ed25519PublicKey) -> Checkpoint:
    """The checkpoint an entry's inclusion proof is good against; ValueError saying what fails."""
    if proof.get("format") != PROOF_FORMAT:
        raise ValueError(f"not a {PROOF_FORMAT} file")
    checkpoint = open_checkpoint(proof["checkpoint"], public)
    record = proof["entry"]
    index = int(record["seq"]) - 1
    if checkpoint.size != proof["tree_size"] or index != proof["leaf_index"]:
        raise ValueError("the proof's tree size or leaf index does not match its entry and checkpoint")
    leaf = merkle.leaf_hash(audit.canonical_bytes(record))
    path = [base64.b64decode(h, validate=True) for h in proof["proof"]]
    if not merkle.verify_inclusion(index, checkpoint.size, leaf, path, checkpoint.root):
        raise ValueError(f"entry {index + 1} as given is not in the signed tree of {checkpoint.size} entries")
    return checkpoint


@dataclass(frozen=True)
class ShownProof:
    """An entry's inclusion proof as the audit page shows it, and whether it verified."""

    seq: int
    verified: bool
    checkpoint: Checkpoint | None = None
    proof: tuple[str, ...] = ()
    leaf_hash: str = ""
    problem: str | None = None


def proof_for_page(session: Session, settings: Settings, seq: int) -> ShownProof:
    """Entry `seq`'s proof against the latest kept checkpoint that covers it (else one signed now),
    checked the way an outsider would: from the entry's fields, the signed note and the public key."""
    signer = signer_for(settings)
    if signer is None:
        return ShownProof(seq, False, problem="no signing key is configured")
    latest = None if signer.ephemeral else folder_of(settings).latest(signer.public)
    note = None
    if latest is not None and latest.size >= seq:
        note = signer.sign(latest.body())
    if note is None:
        note = current_checkpoint(session, signer)[1]
    try:
        proof = entry_proof(session, seq, note, signer.public)
        checkpoint = check_entry_proof(proof, signer.public)
    except (CheckpointError, ValueError) as exc:
        return ShownProof(seq, False, problem=str(exc))
    return ShownProof(
        seq, True, checkpoint, tuple(proof["proof"]), str(proof["leaf_hash"])
    )
