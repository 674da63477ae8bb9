"""`fairengage review …`: the annual detailed-review sample."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from fairengage.config_file import get_settings
from fairengage.console import run_service

# Commands import what they use inside their bodies, so that `fairengage --help`, and each command, load
# only what that command needs (tests/test_cli_startup.py checks that help loads none of the heavy ones).
app = typer.Typer(help="Supervisor review and the annual detailed review.", no_args_is_help=True)
out = Console()


@app.command("sample")
def sample(
    year: Annotated[int, typer.Option(help="calendar year of the records (local time)")],
    size: Annotated[int, typer.Option(help="how many records to draw")],
    seed: Annotated[
        int, typer.Option(help="random seed: the same year, size and seed draw the same records")
    ],
) -> None:
    """Draw a reproducible random sample of a year's records for the detailed review (s.15)."""
    from fairengage.access.principal import CLI_ACTOR
    from fairengage.review import service

    settings = get_settings()
    sample_row, ids = run_service(
        lambda s: service.draw_sample(
            session=s, year=year, size=size, seed=seed, actor=CLI_ACTOR, tz=settings.timezone
        )
    )
    out.print(
        f"sample {sample_row.id}: {len(ids)} of {sample_row.population} records of {year} (seed {seed})"
    )
    for rid in ids:
        print(rid)
