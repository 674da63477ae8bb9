"""No block of 12 or more lines is written twice in src/ (Python and templates): a repeated block becomes a
shared function, base class, template or macro. Lines compare with their spacing evened out; blank lines,
comment lines and lines that only close a bracket or a tag are left out, so that layout alone neither
hides nor makes a copy."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "fairengage"
BLOCK = 12
# Lines that say nothing on their own: closing brackets and tags, and keywords alone.
_FILLER = re.compile(r"^(?:[)\]}]+[,:]?|else:|try:|finally:|\"\"\"|\{% end\w+ %\}|</\w+>)$")


def _lines(path: Path) -> list[tuple[int, str]]:
    kept = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = " ".join(raw.split())
        if path.suffix == ".py":
            comment = line.startswith("#")
        else:
            comment = line.startswith("{#") and line.endswith("#}")
        if line and not comment and not _FILLER.match(line):
            kept.append((number, line))
    return kept


def repeated_blocks(root: Path, size: int = BLOCK) -> list[list[str]]:
    """Every run of `size` kept lines that occurs more than once, as the places it occurs (FILE:LINE)."""
    places: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".html") and p.is_file()):
        kept = _lines(path)
        for start in range(len(kept) - size + 1):
            window = tuple(line for _number, line in kept[start : start + size])
            places[window].append(f"{path.relative_to(root).as_posix()}:{kept[start][0]}")
    return [where for where in places.values() if len(where) > 1]


def test_no_block_of_twelve_lines_is_written_twice() -> None:
    repeated = repeated_blocks(SRC)
    assert not repeated, "\n".join(" = ".join(where) for where in repeated[:20])


def test_the_check_finds_a_copied_block(tmp_path: Path) -> None:
    # Guards the test above: a block copied into another file, re-indented, is found.
    body = "\n".join(f"    value_{i} = compute({i}, 'x')  # step {i}" for i in range(BLOCK))
    (tmp_path / "a.py").write_text(f"def a():\n{body}\n")
    (tmp_path / "b.py").write_text("def b():\n" + body.replace("    ", "        ") + "\n")
    (tmp_path / "c.py").write_text("\n".join(f"other_{i} = {i}" for i in range(BLOCK)) + "\n")
    found = repeated_blocks(tmp_path)
    assert found == [["a.py:2", "b.py:2"]]
