"""`fairengage benchmark …`: build Toronto's population benchmark from public files, show the shipped one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fairengage.console import fail, out

# Commands import what they use inside their bodies, so that `fairengage --help`, and each command, load
# only what that command needs (tests/test_cli_startup.py checks that help loads none of the heavy ones).
app = typer.Typer(
    help="Population benchmarks (census population by division and group).", no_args_is_help=True
)


def _resolve(data_dir: Path, path: Path) -> Path:
    return path if path.is_absolute() else data_dir / path


@app.command("build-toronto")
def build_toronto(
    data_dir: Annotated[
        Path, typer.Option(help="folder holding the public files; relative file options are read from it")
    ] = Path("../shared/data/realdata"),
    out_file: Annotated[Path, typer.Option("--out", help="benchmark CSV to write")] = Path(
        "toronto_2016.csv"
    ),
    profiles: Annotated[
        Path, typer.Option(help="City of Toronto Neighbourhood Profiles, 2016 Census (CSV)")
    ] = Path("toronto_neighbourhood_profiles_2016.csv"),
    neighbourhoods: Annotated[
        Path, typer.Option(help="boundaries of the 140 neighbourhoods (GeoJSON, AREA_SHORT_CODE)")
    ] = Path("toronto_neighbourhoods_140.geojson"),
    divisions: Annotated[
        Path, typer.Option(help="Toronto Police Service division boundaries (GeoJSON, DIV)")
    ] = Path("tps_police_divisions.geojson"),
) -> None:
    """Build the Toronto benchmark by police division from the 2016 Census and boundary files."""
    from rich.table import Table

    from fairengage.analytics.population_benchmarks import CITY, BenchmarkError, toronto, write_benchmark
    from fairengage.vocabulary import BENCHMARK_GROUPS

    try:
        built = toronto.build_toronto(
            profiles=_resolve(data_dir, profiles),
            neighbourhoods=_resolve(data_dir, neighbourhoods),
            divisions=_resolve(data_dir, divisions),
        )
    except BenchmarkError as exc:
        raise fail(str(exc)) from None
    write_benchmark(built.rows, out_file)

    totals = built.totals()
    areas = Table(title="Residents by division (2016 Census, area-apportioned)")
    areas.add_column("area")
    areas.add_column("population", justify="right")
    areas.add_column("share", justify="right")
    for area, people in totals.items():
        areas.add_row(area, f"{people:,}", f"{people / totals[CITY]:.1%}")
    out.print(areas)

    city = built.city()
    groups = Table(title="City total by group: benchmark (sum of neighbourhoods) vs census City of Toronto")
    for column in ("group", "benchmark", "census", "difference"):
        groups.add_column(column, justify="left" if column == "group" else "right")
    for group in BENCHMARK_GROUPS:
        ours, theirs = city[group], built.census_city[group]
        groups.add_row(group, f"{ours:,}", f"{theirs:,}", f"{ours - theirs:+,}")
    census_total = sum(built.census_city.values())
    groups.add_row("total", f"{totals[CITY]:,}", f"{census_total:,}", f"{totals[CITY] - census_total:+,}")
    out.print(groups)
    out.print(
        "The census rounds every published figure at random to a multiple of 5, so the 140 "
        "neighbourhoods do not add up exactly to the City's own column."
    )
    for hood in built.partial_cover:
        out.print(
            f"note: {hood.name} ({hood.number}): {hood.covered:.0%} of its area lies in a division; "
            "its residents are shared over that part."
        )
    out.print(f"wrote {len(built.rows)} rows to {out_file}")


@app.command("show")
def show(
    as_csv: Annotated[bool, typer.Option("--csv", help="print the file itself instead of a table")] = False,
) -> None:
    """Print the shipped default benchmark (Toronto, 2016 Census, by police division)."""
    from rich.table import Table

    from fairengage.analytics.population_benchmarks import (
        BenchmarkError,
        default_benchmark_path,
        describe,
        read_benchmark,
    )
    from fairengage.vocabulary import BENCHMARK_GROUPS

    path = default_benchmark_path()
    if as_csv:
        try:
            print(path.read_text(encoding="utf-8"), end="")
        except FileNotFoundError:
            raise fail(f"{path}: file not found") from None
        return
    try:
        rows = read_benchmark(path)
    except BenchmarkError as exc:
        raise fail(str(exc)) from None
    cells: dict[str, dict[str, int]] = {}
    for row in rows:
        cells.setdefault(row.area, {})[row.group] = row.population
    table = Table(title=f"Benchmark: {path.name}")
    table.add_column("area")
    for group in (*BENCHMARK_GROUPS, "total"):
        table.add_column(group, justify="right")
    for area, groups in cells.items():
        figures = [groups.get(group, 0) for group in BENCHMARK_GROUPS]
        table.add_row(area, *(f"{n:,}" for n in figures), f"{sum(figures):,}")
    out.print(table)
    out.print(describe())
    out.print(f"file: {path}")
