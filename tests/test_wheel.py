"""The wheel is the product: built, installed (not editable) into a fresh environment, and run from
outside the checkout, it migrates its database, serves its pages and records one engagement.

The fresh environment takes the runtime dependencies from the environment running this suite, which
`make install` built from requirements.lock with hashes: reproducible, offline and quick on a loaded
machine, where downloading and compiling them (PyICU) again from the lock would take minutes and need
the network. Only the wheel is installed into the environment itself, and the test checks that the
wheel's declared dependencies are met there and that `fairengage` is imported from the wheel, never
from the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from builders import valid_body
from components import SECRET, create_postgres_database, drop_postgres_database, missing, postgres_server_url

# Builds and installs the wheel into a new environment.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "fairengage"
# What the service reads at run time, as folders inside the package and the file kinds they hold.
SHIPPED = {
    "migrations": ("env.py", "script.py.mako"),
    "migrations/versions": (".py",),
    "policy/rulesets": (".toml",),
    "web/templates": (".html",),
    "web/static": (".css", ".js", ".png", ".webmanifest"),
    "web/locales/fr/LC_MESSAGES": (".po",),
    "analytics/population_benchmarks": (".csv",),
    "ingest": (".csv",),
    "reports/templates": (".css", ".html"),
}
# Build, install, migrate and serve on a loaded 2-core machine: generous, but bounded.
STEP_TIMEOUT = 300


def run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=STEP_TIMEOUT
    )
    assert done.returncode == 0, (
        f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of an administrator's shell: nothing pointing at the checkout or this suite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAIRENGAGE_", "PYTHON", "VIRTUAL_ENV"))}
    return {**env, **extra}


def build_wheel(out: Path) -> Path:
    """`uv build` from a copy of what a release ships (pyproject, README, src), leaving the checkout clean.

    setuptools comes from uv's cache when it is there, else from the package index."""
    source = out / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv, "uv (audit extra of requirements.lock) builds the wheel"
    dist = out / "dist"
    command = [uv, "build", "--wheel", "--out-dir", str(dist), str(source)]
    offline = subprocess.run(
        [*command, "--offline"],
        cwd=out,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
    )
    if offline.returncode != 0:
        run(command, cwd=out, env=clean_env())
    (wheel,) = dist.glob("fairengage-*.whl")
    return wheel


def fresh_environment(where: Path, wheel: Path) -> Path:
    """A new virtual environment holding the wheel (not editable); its `bin` folder."""
    venv = where / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=where)
    bin_dir = venv / "bin"
    python = bin_dir / "python"
    site = Path(
        run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=where).strip()
    )
    # The suite's locked dependencies, as a plain path entry: `.pth` files there (this checkout's
    # editable install among them) are not processed, so `fairengage` can come only from the wheel.
    locked = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site / "_locked_dependencies.pth").write_text("\n".join(locked) + "\n")
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv
    run([uv, "pip", "install", "--offline", "--no-deps", "--python", str(python), str(wheel)], cwd=where)
    return bin_dir


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    return fresh_environment(tmp_path_factory.mktemp("installed"), wheel)


def test_the_wheel_lists_every_file_the_service_reads(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, kinds in SHIPPED.items():
        shipped = {n for n in names if n.startswith(f"fairengage/{folder}/")}
        for kind in kinds:
            assert any(n.endswith(kind) for n in shipped), f"the wheel has no {kind} in fairengage/{folder}"
    # Each file of those kinds in the source tree, not only one of each: a migration or a template
    # left out breaks the installed service.
    for folder, kinds in SHIPPED.items():
        for path in (PACKAGE / folder).glob("*"):
            if path.is_file() and path.name.endswith(kinds):
                name = f"fairengage/{path.relative_to(PACKAGE).as_posix()}"
                assert name in names, f"{name} is missing from the wheel"
    every_template = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("templates/*.html")}
    assert {f"fairengage/{t}" for t in every_template} <= names
    every_static = {p.relative_to(PACKAGE).as_posix() for p in (PACKAGE / "web" / "static").rglob("*")}
    assert {f"fairengage/{s}" for s in every_static if (PACKAGE / s).is_file()} <= names
    assert not any(n.startswith("migrations/") for n in names), "migrations belong inside the package"


def test_installed_fairengage_comes_from_the_wheel_with_its_dependencies_met(installed, tmp_path):
    probe = (
        "import fairengage, json\n"
        "from importlib.metadata import distribution, version\n"
        "from packaging.requirements import Requirement\n"
        "unmet = []\n"
        "for text in distribution('fairengage').requires or []:\n"
        "    req = Requirement(text)\n"
        "    if req.marker is not None and not req.marker.evaluate({'extra': ''}):\n"
        "        continue\n"
        "    try:\n"
        "        found = version(req.name)\n"
        "    except Exception:\n"
        "        unmet.append(text); continue\n"
        "    if not req.specifier.contains(found, prereleases=True):\n"
        "        unmet.append(f'{text} (found {found})')\n"
        "print(json.dumps({'file': fairengage.__file__, 'unmet': unmet}))\n"
    )
    found = json.loads(run([str(installed / "python"), "-c", probe], cwd=tmp_path, env=clean_env()))
    assert Path(found["file"]).is_relative_to(installed.parent), found["file"]
    assert not Path(found["file"]).is_relative_to(ROOT)
    assert found["unmet"] == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, *, body: dict | None = None, headers: dict[str, str] | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 # a local http probe
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class Served:
    """`fairengage serve` from the fresh environment, in a folder outside the checkout."""

    def __init__(self, bin_dir: Path, cwd: Path, env: dict[str, str], port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log = cwd / "serve.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(bin_dir / "fairengage"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited ({self.process.returncode}):\n{self.log.read_text()}")
            try:
                if http("GET", f"{self.base}/readyz")[0] == 200:
                    return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"serve was not ready in {STEP_TIMEOUT} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'site' / 'fairengage.db'}"
        return
    server = postgres_server_url()
    if server is None:
        missing("PostgreSQL", "no server answers on 127.0.0.1:5432")
    url = create_postgres_database(server)
    try:
        yield url
    finally:
        drop_postgres_database(server, url)


def test_installed_wheel_migrates_serves_and_records_an_engagement(installed, database_url, tmp_path):
    site = tmp_path / "site"  # the administrator's folder: nothing of the checkout in it
    site.mkdir(exist_ok=True)
    port = free_port()
    env = clean_env(
        FAIRENGAGE_DATABASE_URL=database_url,
        FAIRENGAGE_SECRET_KEY=SECRET,
        FAIRENGAGE_PUBLIC_URL=f"http://127.0.0.1:{port}",
        FAIRENGAGE_AUDIT_CHECKPOINT_DIR=str(site / "checkpoints"),
        FAIRENGAGE_PUBLICATIONS_DIR=str(site / "publications"),
    )
    fairengage = str(installed / "fairengage")

    def cli(*args: str, stdin: str | None = None) -> str:
        return run([fairengage, *args], cwd=site, env=env, stdin=stdin)

    cli("db", "upgrade")
    trained = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    cli("officers", "add", "T7001", "--name", "Wheel Officer", "--division", "D14", "--trained-on", trained)
    cli("users", "add", "wofficer", "--role", "officer", "--badge", "T7001", "--password-stdin",
        stdin="a-long-pass-phrase-for-the-wheel\n")  # fmt: skip
    token = cli("tokens", "create", "wofficer").strip().splitlines()[-1]
    assert token.startswith("fe_")

    served = Served(installed, site, env, port)
    try:
        status, headers, page = http("GET", f"{served.base}/")
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert b"FairEngage" in page
        # Translations and static assets come from the wheel too.
        status, _, french = http("GET", f"{served.base}/", headers={"Accept-Language": "fr"})
        assert status == 200 and french != page and b'lang="fr"' in french
        status, _, css = http("GET", f"{served.base}/static/fairengage.css")
        assert status == 200 and css == (PACKAGE / "web" / "static" / "fairengage.css").read_bytes()

        status, _, answer = http(
            "POST",
            f"{served.base}/api/v1/engagements",
            body=valid_body(division="D14"),
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "wheel-test-1"},
        )
        assert status == 201, answer
        recorded = json.loads(answer)
        assert recorded["compliant"] is True, recorded
        receipt = recorded["receipt"]["url"]
        assert receipt.startswith(served.base + "/r/")
        status, headers, page = http("GET", receipt)
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert recorded["receipt"]["code"].encode() in page
        status, headers, pdf = http("GET", f"{receipt}/receipt.pdf")
        assert status == 200 and pdf.startswith(b"%PDF")
    finally:
        served.stop()
    assert "Traceback" not in served.log.read_text()


def test_the_service_finds_its_files_through_the_package_not_the_checkout():
    # A path built from `__file__` can climb out of the package (as the migrations' did) and then works
    # only in a checkout; `fairengage.shipped` is the one way in.
    climbing = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in PACKAGE.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "__file__" in line
    ]
    assert climbing == []
