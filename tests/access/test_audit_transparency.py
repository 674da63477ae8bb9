"""The audit Merkle tree in the database, signed checkpoints, the folder, the public pages and proofs."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from access.test_audit_pages import add_staff, sign_in
from fairengage.access import audit, merkle, sealer, transparency
from fairengage.access.models import AuditEntry, AuditHead, AuditTreeNode
from fairengage.db import transaction


def fill(sessions, n: int, start: int = 0) -> None:
    with transaction(sessions) as s:
        for i in range(start, start + n):
            audit.append(s, actor="tester", action="test.write", entity="thing", entity_id=str(i),
                         purpose="testing", details={"i": i, "note": "é"})


def journal(sessions, n: int) -> None:
    for i in range(n):
        with transaction(sessions) as s:
            audit.journal(s, actor="officer", action="engagement.create", entity="engagement",
                          entity_id=f"j{i}", purpose="recording")


def leaves(sessions) -> list[bytes]:
    with sessions() as s:
        return [
            merkle.leaf_hash(audit.canonical_bytes(audit.entry_record(e)))
            for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))
        ]


def test_the_stored_tree_answers_every_proof_like_the_tree_in_memory(sessions, monkeypatch):
    monkeypatch.setattr(audit, "SEAL_BATCH", 3)
    fill(sessions, 5)
    journal(sessions, 7)
    audit.seal_all(sessions)
    fill(sessions, 9, start=100)
    hashes = leaves(sessions)
    n = len(hashes)
    assert n == 21
    with sessions() as s:
        assert transparency.tree_head(s) == (n, merkle.root_of(hashes))
        for size in range(1, n + 1):
            root = merkle.root_of(hashes[:size])
            assert transparency.root_at(s, size) == root
            for index in range(size):
                proof = transparency.inclusion_proof(s, index, size)
                assert merkle.verify_inclusion(index, size, hashes[index], proof, root)
            for first in range(0, size + 1):
                proof = transparency.consistency_proof(s, first, size)
                assert merkle.verify_consistency(first, size, merkle.root_of(hashes[:first]), root, proof)
        # One node per complete subtree, each written once.
        assert s.query(AuditTreeNode).count() == sum(n >> level for level in range(n.bit_length()))
        assert audit.verify(s).ok


def test_a_log_from_before_the_tree_gets_its_tree_on_the_next_append(sessions):
    fill(sessions, 6)
    with transaction(sessions) as s:
        s.execute(delete(AuditTreeNode))
        s.execute(update(AuditHead).values(tree_size=0, frontier=""))
    fill(sessions, 1, start=6)
    hashes = leaves(sessions)
    with sessions() as s:
        assert transparency.tree_head(s) == (7, merkle.root_of(hashes))
        assert transparency.root_at(s, 4) == merkle.root_of(hashes[:4])
        assert audit.verify(s).ok


def test_a_checkpoint_of_a_log_from_before_the_tree_covers_every_entry(sessions, signing):
    fill(sessions, 5)
    with transaction(sessions) as s:
        s.execute(delete(AuditTreeNode))
        s.execute(update(AuditHead).values(tree_size=0, frontier=""))
    result = signing.cli("audit", "checkpoint")
    assert result.exit_code == 0 and "checkpoint of 5 entries" in result.output
    assert signing.cli("audit", "verify").exit_code == 0


def test_a_head_whose_tree_was_altered_fails_verification(sessions):
    fill(sessions, 3)
    with transaction(sessions) as s:
        s.execute(update(AuditHead).values(frontier="00" * 64))
    with sessions() as s:
        report = audit.verify(s)
    assert not report.ok and "Merkle tree" in report.problem


def test_keygen_writes_a_private_file_once_and_prints_the_public_key(signing, tmp_path):
    target = tmp_path / "new.pem"
    result = signing.cli("audit", "keygen", "--out", str(target))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    public = transparency.load_private_key(target).public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    name = "testserver/transparency/audit"
    kid = hashlib.sha256(name.encode() + b"\n\x01" + raw).digest()[:4]
    vkey = base64.b64encode(b"\x01" + raw).decode()
    assert f"{name}+{kid.hex()}+{vkey}" in result.output
    before = target.read_bytes()
    again = signing.cli("audit", "keygen", "--out", str(target))
    assert again.exit_code == 1 and "already exists" in again.output
    assert target.read_bytes() == before


def test_a_checkpoint_is_a_signed_note(sessions, signing, tmp_path):
    fill(sessions, 3)
    out = tmp_path / "cp.txt"
    result = signing.cli("audit", "checkpoint", "--out", str(out))
    assert result.exit_code == 0, result.output
    note = out.read_text(encoding="utf-8")
    body, signature = note.split("\n\n")
    origin, size, root, moment = body.split("\n")
    assert (origin, size) == ("testserver/transparency/audit", "3")
    assert base64.b64decode(root) == merkle.root_of(leaves(sessions)) and moment.startswith("time ")
    dash, name, blob = signature.rstrip("\n").split(" ")
    assert dash == "\u2014" and name == origin
    raw = base64.b64decode(blob)
    assert raw[:4] == transparency.key_id(name, signing.signer.public)
    signing.signer.public.verify(raw[4:], (body + "\n").encode())
    # The same file was kept in the folder, in a new file of its own.
    kept = signing.folder.glob("*.checkpoint")
    assert [p.read_text(encoding="utf-8") for p in kept] == [note]


def test_the_folder_never_overwrites(signing, tmp_path):
    folder = transparency.CheckpointFolder(tmp_path / "f")
    checkpoint = transparency.Checkpoint("o", 1, b"\x00" * 32, transparency.datetime.now(transparency.UTC))
    first = folder.write(checkpoint, "first")
    assert first is not None and folder.write(checkpoint, "second") is None
    assert first.read_text() == "first"


def test_the_sealer_writes_a_checkpoint_on_schedule_only_when_the_log_grew(sessions, signing):
    fill(sessions, 2)
    sealer.scheduled_checkpoint(sessions, signing.settings)
    sealer.scheduled_checkpoint(sessions, signing.settings)
    assert len(list(signing.folder.glob("*.checkpoint"))) == 1
    journal(sessions, 2)
    sealer.scheduled_checkpoint(sessions, signing.settings)
    kept = transparency.folder_of(signing.settings).opened(signing.signer.public)
    sizes = sorted(cp.size for _, cp in kept)
    assert sizes == [2, 4]


def test_the_running_service_checkpoints_by_itself(app, signing, sessions):
    import time

    fill(sessions, 2)
    app.state.settings.audit_checkpoint_interval = 0.05
    app.state.settings.audit_seal_interval = 0.02
    with TestClient(app):
        deadline = time.monotonic() + 10
        while not list(signing.folder.glob("*.checkpoint")) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert list(signing.folder.glob("*.checkpoint"))


def test_the_public_pages_let_anyone_keep_and_check_a_checkpoint(app, signing, sessions):
    fill(sessions, 5)
    with TestClient(app) as client:
        page = client.get("/transparency/audit")
        assert page.status_code == 200 and "Latest checkpoint" in page.text
        first = client.get("/transparency/audit/checkpoint").text
        key = client.get("/transparency/audit/key").text
        fill(sessions, 6, start=5)
        second = client.get("/transparency/audit/checkpoint").text
        public = serialization.load_pem_public_key(key[key.index("-----BEGIN"):].encode())
        a, b = transparency.open_checkpoint(first, public), transparency.open_checkpoint(second, public)
        assert (a.size, b.size) == (5, 11)
        answer = client.get(f"/transparency/audit/consistency?first={a.size}&second={b.size}").json()
        proof = [base64.b64decode(h) for h in answer["proof"]]
        assert merkle.verify_consistency(a.size, b.size, a.root, b.root, proof)
        assert not merkle.verify_consistency(a.size, b.size, b.root, b.root, proof)
        signing.cli("audit", "checkpoint")
        history = client.get("/transparency/audit/checkpoints.json").json()
        assert [c["tree_size"] for c in history["checkpoints"]] == [11]
        assert transparency.open_checkpoint(history["checkpoints"][0]["note"], public).size == 11


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("first=x", "first"),
        ("first=-1", "first"),
        ("first=1&second=99", "second"),
        ("first=4&second=2", "first"),
    ],
)
def test_a_bad_consistency_request_is_a_problem(client, sessions, query, field):
    fill(sessions, 3)
    r = client.get(f"/transparency/audit/consistency?{query}")
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == field and r.json()["errors"][0]["rule"] == "TREE-SIZE"


def test_without_a_key_outside_debug_nothing_is_signed(settings):
    from fairengage.app import create_app

    settings.debug = False
    with TestClient(create_app(settings)) as client:
        r = client.get("/transparency/audit/checkpoint")
        assert r.status_code == 503 and "FAIRENGAGE_AUDIT_SIGNING_KEY_FILE" in r.json()["detail"]
        assert "no signing key" in client.get("/transparency/audit").text


def test_an_entry_proof_checks_offline_and_a_changed_entry_does_not(sessions, signing, tmp_path):
    fill(sessions, 9)
    signing.cli("audit", "checkpoint")
    result = signing.cli("audit", "prove", "4")
    assert result.exit_code == 0, result.output
    proof_file, key_file = tmp_path / "p.json", tmp_path / "pub.pem"
    proof_file.write_text(result.output)
    key_file.write_text(signing.signer.public_pem)
    ok = signing.cli("audit", "check-proof", str(proof_file), "--key", str(key_file))
    assert ok.exit_code == 0 and "entry 4 is in the log of" in ok.output
    proof = json.loads(result.output)
    proof["entry"]["actor"] = "someone else"
    proof_file.write_text(json.dumps(proof))
    bad = signing.cli("audit", "check-proof", str(proof_file), "--key", str(key_file))
    assert bad.exit_code == 1 and "not in the signed tree" in bad.output


def test_the_audit_page_shows_a_verified_proof(client, world, sessions, signing):
    add_staff(world, "auditor")
    fill(sessions, 4)
    signing.cli("audit", "checkpoint")
    sign_in(client, "auditor1")
    page = client.get("/audit?proof=2").text
    assert "Inclusion proof of entry 2" in page and "Verified" in page
    with transaction(sessions) as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(purpose="changed"))
    page = client.get("/audit?proof=2").text
    assert "Not verified" in page


def test_the_bench_command_measures_a_small_log(signing, tmp_path):
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    result = signing.cli("audit", "bench", "--entries", "300", "--repeats", "1", "--database-url", url)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["entries"] == 300 and figures["database"] == "sqlite"
    assert figures["seal_entries_per_s_median"] > 0 and figures["verify_seconds_median"] > 0
    # 300 leaves: a proof of 8 or 9 hashes.
    assert figures["proof_hashes"] in (8, 9)


def test_a_missing_or_wrong_key_file_stops_start_up_naming_it(settings, tmp_path):
    from fairengage.app import create_app

    settings.audit_signing_key_file = tmp_path / "absent.pem"
    with pytest.raises(transparency.CheckpointError, match=r"absent\.pem"):
        create_app(settings)
    wrong = tmp_path / "wrong.pem"
    wrong.write_text("not a key")
    settings.audit_signing_key_file = wrong
    with pytest.raises(transparency.CheckpointError, match=r"wrong\.pem: not an unencrypted PEM private key"):
        create_app(settings)


def test_the_journal_mac_key_is_not_the_secret_key(settings):
    key = audit.journal_mac_key(settings.secret)
    assert key != settings.secret and len(key) == 32
    assert key != audit.journal_mac_key(settings.secret + b"x")


def test_the_verify_page_checks_the_kept_checkpoints(client, world, sessions, signing):
    add_staff(world, "auditor")
    fill(sessions, 6)
    signing.cli("audit", "checkpoint")
    sign_in(client, "auditor1")
    page = client.get("/audit/verify").text
    assert "The audit log is intact" in page and "does not extend" not in page
    # Truncated, with the chain's head moved back so that the chain alone looks whole.
    with transaction(sessions) as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq > 3))
        s.execute(update(AuditHead).values(seq=3, digest=s.get(AuditEntry, 3).digest))
    page = client.get("/audit/verify")
    assert page.status_code == 200
    assert "The log does not extend its signed checkpoints" in page.text
    assert "the log has 3 entries but checkpoint" in page.text and "The audit log is intact" not in page.text
