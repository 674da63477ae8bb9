"""The one publishing path, end to end on the database: build, two-person approval, correction, withdrawal."""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from fairengage.access.models import AuditEntry
from fairengage.db import transaction
from fairengage.engagements import extract
from fairengage.publishing import service
from fairengage.publishing.models import PublicationRelease
from fairengage.publishing.service import PublishRefused
from fairengage.reports import disclosure, publications
from publishing.ledger_rows import write_release

ROW_LEVEL = {"engagements.parquet", "engagements.csv", "governance.json"}
# A record timestamp looks like 2024-05-03T14:22:05; public period bounds are dates only.
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d"


def every_name(root: Path) -> set[str]:
    """Every file and folder name under the publications folder, hidden ones included."""
    return {p.name for p in root.rglob("*")}


def audit_actions(sessions, entity_id: int) -> list[tuple[str, str]]:
    """The audit entries about one release: (action, actor), oldest first."""
    with transaction(sessions) as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.actor)
            .where(AuditEntry.entity == service.ENTITY, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.seq)
        ).all()
    return [tuple(r) for r in rows]


@pytest.mark.slow  # a release built, checked and published end to end
def test_build_then_a_second_person_publishes(
    sessions, settings, root, loaded, private_tmp, monkeypatch, check_passes
):
    modes: list[int] = []
    real_extract = extract.write_extract

    def watched(**kwargs):
        # Not a stand-in: the real extract runs; the folder it writes into is looked at as it does.
        modes.append(stat.S_IMODE(os.stat(Path(kwargs["out"]).parent).st_mode))
        assert not Path(kwargs["out"]).parent.is_relative_to(root)
        return real_extract(**kwargs)

    monkeypatch.setattr(extract, "write_extract", watched)
    draft = service.build_release(sessions=sessions, settings=settings, period="2024", actor="ana")
    assert modes == [0o700]
    assert list(private_tmp.iterdir()) == []  # the extract's folder is gone after the build
    assert (draft.status, draft.version, draft.folder, draft.partial) == ("draft", 1, "2024/v1", False)
    assert draft.disclosure_ok and draft.disclosure["summary"]
    assert not every_name(root) & ROW_LEVEL
    assert [p.name for p in root.iterdir() if p.name.startswith(".staging")] == []
    folder = root / "2024" / "v1"
    # The ledger holds the SHA-256 of each public file, and the files are written once, read-only.
    assert {"report.public.json", "public.pdf", "open-data/disproportionality.csv"} <= set(draft.files)
    for name, digest in draft.files.items():
        assert publications.sha256_of(folder / name) == digest
        assert not os.stat(folder / name).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    # Public files carry dates, never a record's timestamp.
    public = json.loads((folder / "report.public.json").read_text())
    assert public["meta"]["period"] == {
        "first_date": "2024-01-01", "last_date": "2024-12-31", "partial": False,
        "as_of": datetime.now(settings.tz).date().isoformat(), "timezone": settings.timezone,
    }  # fmt: skip
    manifest = json.loads((folder / "open-data" / "manifest.json").read_text())
    assert manifest["period"] == public["meta"]["period"]
    for name in ("report.public.json", "open-data/manifest.json"):
        data = json.loads((folder / name).read_text())
        # When the release was made, and the period's own bounds (midnights), are the only instants.
        data.pop("generated_at", None)
        (data.get("meta") or {}).pop("generated_at", None)
        instants = re.findall(TIMESTAMP + r":\d\d", json.dumps(data))
        assert all(t.endswith("T00:00:00") for t in instants), (name, instants)
    # Nothing is public until approved.
    assert publications.list_publications(root) == []

    with pytest.raises(PublishRefused, match="ana built 2024 version 1 and may not approve it"):
        service.approve(sessions=sessions, settings=settings, release_id=draft.id, actor="ana")
    published = service.approve(sessions=sessions, settings=settings, release_id=draft.id, actor="bob")
    assert (published.status, published.approved_by) == ("published", "bob")
    [shown] = publications.list_publications(root)
    assert (shown.period, shown.version, shown.path) == ("2024", 1, folder.resolve())
    assert audit_actions(sessions, draft.id) == [("publication.build", "ana"), ("publication.approve", "bob")]
    with pytest.raises(PublishRefused, match="only a draft can be approved"):
        service.approve(sessions=sessions, settings=settings, release_id=draft.id, actor="carl")

    # A second build of a published period is a correction: it must say what it corrects.
    with pytest.raises(PublishRefused, match="say what it corrects"):
        service.build_release(sessions=sessions, settings=settings, period="2024", actor="ana")
    fixed = service.build_release(
        sessions=sessions, settings=settings, period="2024", actor="ana", reason="late records from D14"
    )
    assert (fixed.version, fixed.status) == (2, "draft")
    assert publications.load(root, "2024").version == 1  # the draft does not replace anything yet
    with pytest.raises(PublishRefused, match="awaits approval"):
        service.build_release(
            sessions=sessions, settings=settings, period="2024", actor="ana", reason="again"
        )
    service.approve(sessions=sessions, settings=settings, release_id=fixed.id, actor="bob")
    latest = publications.load(root, "2024")
    assert latest.version == 2 and latest.release["supersedes"] == {"version": 1}
    assert latest.release["reason"] == "late records from D14"
    with transaction(sessions) as session:
        states = {r.version: r.status for r in service.list_releases(session=session, period="2024")}
        assert service.get(session=session, release_id=fixed.id).supersedes_id == draft.id
    assert states == {1: "superseded", 2: "published"}
    # Version 1's folder is untouched by the correction.
    assert service.changed_files(root, published) == []

    # Withdrawn: gone from the public pages, kept in the ledger with who and why.
    with pytest.raises(PublishRefused, match="say why"):
        service.withdraw(sessions=sessions, settings=settings, release_id=fixed.id, actor="bob", reason="  ")
    service.withdraw(
        sessions=sessions, settings=settings, release_id=fixed.id, actor="bob", reason="wrong area"
    )
    assert publications.list_publications(root) == []
    with transaction(sessions) as session:
        gone = service.get(session=session, release_id=fixed.id)
    assert (gone.status, gone.withdrawn_by, gone.withdrawn_reason) == ("withdrawn", "bob", "wrong area")
    assert audit_actions(sessions, fixed.id)[-1] == ("publication.withdraw", "bob")
    assert not every_name(root) & ROW_LEVEL


@pytest.mark.slow  # a release built, checked and published end to end
def test_an_open_period_is_labelled_partial_or_refused(sessions, settings, root, loaded):
    during = datetime(2025, 3, 15, 12, tzinfo=UTC)
    settings.partial_periods = "refuse"
    with pytest.raises(PublishRefused, match="has not closed") as refused:
        service.build_release(sessions=sessions, settings=settings, period="2025", actor="ana", now=during)
    assert refused.value.errors[0].rule == "PARTIAL-PERIOD"
    assert not root.exists() or list(root.rglob("*")) == []

    settings.partial_periods = "label"
    made = service.build_release(
        sessions=sessions, settings=settings, period="2025-Q1", actor="ana", now=during
    )
    assert (made.partial, made.data_to.isoformat(), made.as_of.isoformat()) == (
        True,
        "2025-03-15",
        "2025-03-15",
    )
    public = json.loads((root / made.folder / "report.public.json").read_text())
    assert public["meta"]["period"]["partial"] is True
    assert public["meta"]["period"]["last_date"] == "2025-03-15"
    # Approving it later, once the setting says refuse, is refused while the period is still open.
    settings.partial_periods = "refuse"
    with pytest.raises(PublishRefused, match="has not closed"):
        service.approve(sessions=sessions, settings=settings, release_id=made.id, actor="bob", now=during)
    settings.partial_periods = "label"
    service.approve(sessions=sessions, settings=settings, release_id=made.id, actor="bob", now=during)
    assert publications.load(root, "2025-Q1").partial is True
    assert publications.load(root, "2025-Q1").data_to == "2025-03-15"


@pytest.mark.slow  # a release built, checked and published end to end
def test_a_blocked_disclosure_check_keeps_the_release_unpublished(
    sessions, settings, root, loaded, monkeypatch
):
    seen: dict[str, object] = {}

    def blocks(candidate, published, *, threshold):
        seen.update(candidate=sorted(p.relative_to(candidate).as_posix() for p in candidate.rglob("*.json")),
                    published=list(published), threshold=threshold)  # fmt: skip
        figure = disclosure.BlockingFigure(
            "2024", "report.public.json", "disproportionality D31 × White count", 3, 3
        )
        return disclosure.DisclosureResult(False, (figure,), 0, "one figure can be worked out")

    monkeypatch.setattr(disclosure, "protect_release", blocks)
    made = service.build_release(sessions=sessions, settings=settings, period="2024", actor="ana")
    # The check saw the public files only: no board report, no row-level file.
    assert "report.json" not in seen["candidate"] and "index.json" not in seen["candidate"]
    assert "report.public.json" in seen["candidate"] and seen["published"] == []
    assert seen["threshold"] == made.threshold
    assert not made.disclosure_ok
    with pytest.raises(PublishRefused, match="disproportionality D31 × White count") as refused:
        service.approve(sessions=sessions, settings=settings, release_id=made.id, actor="bob")
    assert refused.value.errors[0].rule == "DISCLOSURE"
    assert publications.list_publications(root) == []


def test_earlier_releases_are_given_to_the_check_and_changed_files_block_approval(sessions, settings, root):
    old = write_release(sessions=sessions, root=root, period="2023", status="published")
    gone = write_release(sessions=sessions, root=root, period="2022", status="withdrawn")
    draft = write_release(sessions=sessions, root=root, period="2021", built_by="ana")
    target = root / draft.folder / "report.public.json"
    target.write_text(target.read_text().replace("40", "41"))
    with pytest.raises(PublishRefused, match=r"changed since the build: report\.public\.json"):
        service.approve(sessions=sessions, settings=settings, release_id=draft.id, actor="bob")
    assert [p.period for p in publications.list_publications(root)] == ["2023"]
    with transaction(sessions) as session:
        earlier = [
            r.folder for r in service.list_releases(session=session) if r.status in service.EVER_PUBLIC
        ]
    assert earlier == [old.folder, gone.folder]


@pytest.mark.parametrize("how", ["rewritten", "deleted"])
def test_a_build_is_refused_while_an_earlier_release_differs_from_what_was_published(
    sessions, settings, root, how
):
    # An administrator edits (or removes) a file the public downloaded: the check would then prove the
    # new release safe against figures nobody holds. The build stops before reading a single record.
    old = write_release(sessions=sessions, root=root, period="2023", status="published")
    write_release(sessions=sessions, root=root, period="2022", status="withdrawn")
    target = root / old.folder / "report.public.json"
    if how == "rewritten":
        target.write_text(target.read_text().replace("40", "41"))
    else:
        target.unlink()
    with transaction(sessions) as session:
        before = [(r.id, r.status) for r in service.list_releases(session=session)]
    folders = every_name(root)
    with pytest.raises(PublishRefused) as refused:
        service.build_release(sessions=sessions, settings=settings, period="2024", actor="ana")
    error = refused.value.errors[0]
    assert (error.field, error.rule) == ("period", "EARLIER-CHANGED")
    assert "2023 version 1 (report.public.json)" in str(refused.value)
    assert "2022" not in str(refused.value)  # the withdrawn release's files are intact
    with transaction(sessions) as session:
        assert [(r.id, r.status) for r in service.list_releases(session=session)] == before
    assert every_name(root) == folders


def test_verify_finds_each_rewrite_an_administrator_could_make(sessions, settings, root):
    old = write_release(sessions=sessions, root=root, period="2023", status="published", logged=True)
    draft = write_release(sessions=sessions, root=root, period="2024", logged=True)

    def problems() -> dict[str, tuple[str, ...]]:
        return {c.name: c.problems for c in service.verify_releases(sessions=sessions, root=root)}

    assert problems() == {"2024 version 1": (), "2023 version 1": ()}
    # A public file edited on disk.
    target = root / old.folder / "report.public.json"
    original = target.read_text()
    target.write_text(original.replace("40", "41"))
    assert problems()["2023 version 1"] == ("report.public.json differs from the ledger (or is gone)",)
    # ... and the ledger (and releases.json, rewritten from it) brought into line with the edit, as the
    # database's administrator could: the audit log's build entry still holds the digest of what was built.
    with transaction(sessions) as session:
        row = session.get(PublicationRelease, old.id)
        row.files = {**row.files, "report.public.json": publications.sha256_of(target)}
    service.write_public_index(sessions=sessions, root=root)
    assert problems()["2023 version 1"] == (
        "the ledger's file digests differ from those the audit log recorded at the build",
    )
    # releases.json alone rewritten to serve a draft.
    index = json.loads((root / publications.RELEASES_INDEX).read_text())
    index["releases"].append({"period": "2024", "version": 1, "folder": draft.folder, "files": draft.files})
    (root / publications.RELEASES_INDEX).write_text(json.dumps(index))
    assert problems()["2024 version 1"] == ("releases.json serves it, but the ledger says draft",)
    # A ledger row deleted: the audit log still says it was built.
    with transaction(sessions) as session:
        session.delete(session.get(PublicationRelease, draft.id))
    assert problems()["2024 version 1"] == ("built (audit log), but not in the ledger",)


def test_the_index_points_only_into_release_folders(tmp_path):
    (tmp_path / publications.RELEASES_INDEX).write_text(json.dumps({"releases": [
        {"period": "2024", "version": 1, "folder": "../../etc"},
        {"period": "2025", "version": 1, "folder": "2024/v1"},
        {"period": "2023", "version": 1, "folder": "2023/v1"},
    ]}))  # fmt: skip
    assert set(publications.published_index(tmp_path)) == {"2023"}


def test_the_partial_periods_setting_takes_label_or_refuse(monkeypatch):
    from pydantic import ValidationError

    from fairengage.config import Settings

    monkeypatch.setenv("FAIRENGAGE_PARTIAL_PERIODS", "sometimes")
    with pytest.raises(ValidationError, match="partial_periods"):
        Settings(secret_key="a-secret-key-long-enough-for-tests-0123")
    monkeypatch.setenv("FAIRENGAGE_PARTIAL_PERIODS", "refuse")
    assert Settings(secret_key="a-secret-key-long-enough-for-tests-0123").partial_periods == "refuse"
