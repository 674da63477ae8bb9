"""Time the receipt PDF: the first render in a fresh process, the median of later ones, and the route.

    PYTHONPATH=src python benchmarks/receipt_pdf.py [--renders 20] [--requests 20] [--lang fr]

Prints three figures, in seconds:
- `cold`: the first `render.receipt_pdf` call in this process (what the first person to download a
  receipt after a restart waits for, fonts and stylesheet included);
- `warm median`: the median of `--renders` further calls;
- `route median`: the median of `--requests` GETs of `/r/<code>/receipt.pdf` through the whole app
  (FastAPI TestClient on a fresh SQLite database: rate limit, code check, look-up, render, response),
  after one untimed request, like `curl -w '%{time_total}'` against a running service.
Run it on an otherwise idle machine; the figures of a shared one vary by tens of percent.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

# The test builders make the officer, the user and a compliant record the same way the tests do.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _view(lang: str):  # type: ignore[no-untyped-def]
    from fairengage.receipts.render import ReceiptView

    code = "ABCD-EFGH-JKMN"
    return ReceiptView(
        code=code,
        url=f"https://fairengage.example.ca/r/{code}",
        officer_name="Amélie Tremblay",
        officer_badge="10472",
        division="D14",
        occurred_local=datetime(2024, 3, 14, 15, 30, tzinfo=ZoneInfo("America/Toronto")),
        place="Queen St W at Bathurst St",
        complaints_body_name="Law Enforcement Complaints Agency",
        complaints_body_website="https://www.lecaontario.ca",
        complaints_body_phone="1-877-411-4773",
        own_record_text="Ask the Access and Privacy Section for your record, quoting this code.",
        lang=lang,
    )


def _route_times(requests: int, lang: str) -> list[float]:
    from fastapi.testclient import TestClient

    from builders import World, valid_body
    from fairengage import migrate
    from fairengage.app import create_app
    from fairengage.config import Settings
    from fairengage.db import engine_for, session_factory

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        migrate.upgrade(url)
        settings = Settings(
            database_url=url,
            secret_key=secrets.token_hex(32),
            public_url="http://testserver",
            public_client_limit=0,
            public_code_limit=0,
        )
        world = World(session_factory(engine_for(url)))
        world.officer("B1", "D14", trained_on=datetime.now(settings.tz).date() - timedelta(days=5))
        world.user("obench", "officer", badge="B1")
        headers = {"Authorization": f"Bearer {world.token('obench')}"}
        with TestClient(create_app(settings)) as client:
            answer = client.post("/api/v1/engagements", json=valid_body(), headers=headers)
            answer.raise_for_status()
            path = f"/r/{answer.json()['receipt']['code']}/receipt.pdf?lang={lang}"

            def fetch() -> None:
                got = client.get(path)
                if got.status_code != 200 or not got.content.startswith(b"%PDF"):
                    raise SystemExit(f"{path} answered {got.status_code}")

            fetch()
            return [_timed(fetch) for _ in range(requests)]


def main() -> None:
    """Print the figures of one run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=20, help="timed renders after the cold one")
    parser.add_argument("--requests", type=int, default=20, help="timed requests through the app")
    parser.add_argument("--lang", choices=("en", "fr"), default="fr")
    args = parser.parse_args()

    from fairengage.receipts import render

    view = _view(args.lang)
    cold = _timed(lambda: render.receipt_pdf(view))
    warm = [_timed(lambda: render.receipt_pdf(view)) for _ in range(args.renders)]
    route = _route_times(args.requests, args.lang)
    print(f"receipt PDF ({args.lang}) cold first render: {cold:.3f} s")
    print(f"receipt PDF ({args.lang}) warm median of {len(warm)}: {statistics.median(warm):.3f} s "
          f"(min {min(warm):.3f}, max {max(warm):.3f})")  # fmt: skip
    print(f"GET /r/<code>/receipt.pdf median of {len(route)}: {statistics.median(route):.3f} s "
          f"(min {min(route):.3f}, max {max(route):.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
