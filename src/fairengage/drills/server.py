"""The server under test: `uvicorn` in a process group of its own, so that a crash drill can kill it whole."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess  # nosec B404 # starts the drill's own server, never a shell
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`fairengage`'s app served by uvicorn on 127.0.0.1, started, killed and restarted on demand."""

    def __init__(self, *, database_url: str, secret_key: str, workers: int, port: int, log: Path) -> None:
        self.database_url = database_url
        self.secret_key = secret_key
        self.workers = workers
        self.port = port
        self.log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until /readyz answers."""
        env = {
            **os.environ,
            "FAIRENGAGE_DATABASE_URL": self.database_url,
            "FAIRENGAGE_SECRET_KEY": self.secret_key,
            "FAIRENGAGE_PUBLIC_URL": f"http://127.0.0.1:{self.port}",
        }
        # The product's own command, as an administrator would run it (access log included).
        command = [
            sys.executable, "-c", "from fairengage.cli import app; app()", "serve",
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers),
        ]  # fmt: skip
        with self.log.open("ab") as log:
            # A session of its own: SIGKILL to the group takes the supervisor and every worker at once,
            # as a power cut or an OOM kill would.
            self._process = subprocess.Popen(  # noqa: S603  # nosec B603 # own interpreter, no shell
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/readyz"
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                status = self._process.returncode
                raise RuntimeError(f"the server exited with status {status}; see {self.log}")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:  # nosec B310 # a local http probe
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not become ready within {timeout:.0f} s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL the server and its workers: no shutdown handlers, no flushing, nothing graceful."""
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait(timeout=30)
        self._process = None

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM), killing it if it does not stop in time."""
        if self._process is None:
            return
        try:
            os.killpg(self._process.pid, signal.SIGTERM)
            self._process.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill()
        self._process = None

    def cpu_seconds(self) -> float:
        """Processor time used so far by the server's processes (Linux /proc), for cost per request."""
        if self._process is None:
            return 0.0
        return _tree_cpu_seconds(self._process.pid)


def _tree_cpu_seconds(root: int) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in _tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime and stime are fields 14 and 15 of stat(5); after the command name they sit at 11 and 12.
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found
