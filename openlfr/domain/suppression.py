"""Small-count suppression for published tables (issue 13).

A count of one or two people arrested at a named place in a named period can point to a person,
so a published cell from 1 to 4 is shown as ``"<5"`` (primary suppression). Hiding the cell is
not enough when the table also publishes a total it is part of: a row "7 arrests: 4 charged
(<5), 3 bailed (<5)" is safe, but "7 arrests: 5 charged, <5 bailed" gives the 2 away by
subtraction. So wherever a line of cells with a published total has exactly one hidden cell, the
smallest other non-zero cell of that line is withheld too (complementary suppression, shown as
``"c"``), and so on until no line has a lone hidden cell. A line whose other cells are all zero
cannot be protected that way (its hidden cell equals its total): that total is itself small and
suppressed where it is one of the table's cells.

Everything here is pure: counts in, published values out.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

__all__ = ["SMALL", "SMALL_COUNT", "WITHHELD", "Published", "suppress_cells", "suppress_small"]

#: Counts below this are published as ``SMALL``.
SMALL_COUNT = 5
SMALL = "<5"
#: A count of 5 or more withheld so that a ``SMALL`` cell cannot be worked out from a total.
WITHHELD = "c"

Published = int | str
Cell = TypeVar("Cell", bound=Hashable)


def suppress_small(count: int) -> Published:
    """A count as published: ``"<5"`` from 1 to 4 (zero is shown: it singles nobody out)."""
    if count < 0:
        raise ValueError(f"a count cannot be negative: {count}")
    return SMALL if 0 < count < SMALL_COUNT else count


def suppress_cells(
    counts: Mapping[Cell, int], lines: Iterable[Sequence[Cell]]
) -> dict[Cell, Published]:
    """``counts`` as published. Each of ``lines`` is a set of cells whose sum (or a total it
    determines) is published somewhere: a row and its total, a column whose total is in the
    report. Cells below ``SMALL_COUNT`` become ``SMALL``; then, while some line has exactly one
    hidden cell, its smallest visible non-zero cell (first in line order on a tie) becomes
    ``WITHHELD``. Zeros are never hidden."""
    for n in counts.values():
        suppress_small(n)  # rejects a negative count, naming it
    small = {cell for cell, n in counts.items() if 0 < n < SMALL_COUNT}
    hidden = set(small)
    checked = [list(line) for line in lines]
    for line in checked:
        unknown = [c for c in line if c not in counts]
        if unknown:
            raise KeyError(f"a line names cells with no count: {unknown}")
    changed = True
    while changed:
        changed = False
        for line in checked:
            if sum(c in hidden for c in line) != 1:
                continue
            visible = [(counts[c], i, c) for i, c in enumerate(line) if c not in hidden]
            candidates = [v for v in visible if v[0] > 0]
            if candidates:
                hidden.add(min(candidates, key=lambda v: (v[0], v[1]))[2])
                changed = True
    return {
        cell: SMALL if cell in small else WITHHELD if cell in hidden else n
        for cell, n in counts.items()
    }
