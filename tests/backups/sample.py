"""A database the service has written to, and ways to alter a backup as a forger or a bad disk would."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sqlite3
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from builders import World, valid_body
from components import SECRET
from fairengage.config import Settings
from fairengage.db import engine_for, session_factory


@dataclass
class Service:
    """A database the service has written to: its URL, a token-bearing officer and the records made."""

    url: str
    headers: dict[str, str]
    ids: list[str]

    @property
    def path(self) -> Path:
        """The SQLite file (SQLite services only)."""
        return Path(self.url.removeprefix("sqlite:///"))

    def settings(self, url: str | None = None) -> Settings:
        """Settings for an app on this database, or on another holding a restore of it."""
        return Settings(
            database_url=url or self.url, secret_key=SECRET, debug=True, public_url="http://testserver"
        )

    def release(self) -> None:
        """Close this process's pooled connections, as stopping the service would."""
        engine_for(self.url).dispose()


def populate(url: str, *, records: int = 5, badge: str = "T700") -> Service:
    """Record engagements through the API and read one person back, so every kind of row and entry exists."""
    from fairengage.app import create_app

    world = World(session_factory(engine_for(url)))
    headers = world.officer_with_token(badge)
    settings = Settings(database_url=url, secret_key=SECRET, debug=True, public_url="http://testserver")
    with TestClient(create_app(settings)) as client:
        ids = []
        for _ in range(records):
            response = client.post("/api/v1/engagements", json=valid_body(), headers=headers)
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        read = client.get(f"/api/v1/engagements/{ids[0]}", params={"purpose": "backup test"}, headers=headers)
        assert read.status_code == 200
    return Service(url, headers, ids)


def file_digest(path: Path) -> str:
    """SHA-256 of a file, to show it was not touched."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rewrite_backup(
    source: Path,
    dest: Path,
    change: Callable[[Path], None],
    *,
    fix_checksum: bool,
    claim: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Copy a backup, changing its database with `change` and its manifest with `claim`.

    With fix_checksum the manifest's size and SHA-256 are made to match, as a careful forger would.
    """
    with tarfile.open(source, "r:gz") as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        member = manifest["database"]["member"]
        data = tar.extractfile(member).read()  # type: ignore[union-attr]
    work = dest.with_suffix(".work")
    work.write_bytes(data)
    change(work)
    data = work.read_bytes()
    work.unlink()
    if claim:
        claim(manifest)
    if fix_checksum:
        manifest["database"]["sha256"] = hashlib.sha256(data).hexdigest()
        manifest["database"]["bytes"] = len(data)
    body = json.dumps(manifest).encode()
    with gzip.open(dest, "wb") as packed, tarfile.open(fileobj=packed, mode="w") as tar:
        for name, blob in (("manifest.json", body), (member, data)):
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))


def sql(statement: str) -> Callable[[Path], None]:
    """A change to a SQLite file: run one statement on it."""

    def run(path: Path) -> None:
        connection = sqlite3.connect(path)
        with connection:
            connection.execute(statement)
        connection.close()

    return run
