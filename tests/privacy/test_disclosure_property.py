"""Disclosure control: for random linked tables, every hidden cell keeps at least two values
consistent with everything shown (cells, "<5" = 0-4, "hidden" = at least 5, every sum).

The checker below is independent of the service: it rebuilds the equations from the raw
people and searches integer solutions by bounds propagation and branching.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engines.disclosure import (
    Figure,
    Mark,
    TableInput,
    protect_counts,
    protect_tables,
)

Equation = list[tuple[str, int]]  # (variable, coefficient); sum == constant


class Consistency:
    """Integer tables agreeing with the published figures."""

    def __init__(self, total: int, strict: bool = True) -> None:
        self.total = total
        self.strict = strict
        self.domains: dict[str, tuple[int, int]] = {}
        self.truth: dict[str, int] = {}
        self.known: dict[str, int] = {}
        self.equations: list[tuple[list[str], list[int]]] = []

    def cell(self, name: str, value: int, figure: Figure | None) -> None:
        """`figure` None: never published (e.g. "did not attend")."""
        self.truth[name] = value
        if figure is None:
            self.domains[name] = (0, self.total)
        elif figure.mark is Mark.SHOWN:
            assert figure.value == value
            self.known[name] = value
        elif figure.mark is Mark.SMALL:
            assert 0 <= value < 5
            self.domains[name] = (0, 4)
        else:
            assert value >= 5 or not self.strict
            self.domains[name] = (5 if self.strict else 0, self.total)

    def equation(self, plus: Sequence[str], minus: Sequence[str]) -> None:
        names = [*plus, *minus]
        self.equations.append((names, [1] * len(plus) + [-1] * len(minus)))

    def _propagate(self, domains: dict[str, tuple[int, int]]) -> bool:
        changed = True
        while changed:
            changed = False
            for names, coefficients in self.equations:
                constant = 0
                free: list[tuple[str, int]] = []
                for name, coefficient in zip(names, coefficients, strict=True):
                    if name in domains:
                        free.append((name, coefficient))
                    else:
                        constant += coefficient * self.known[name]
                for name, coefficient in free:
                    # coefficient * x = -constant - sum(others)
                    low_rest = sum(
                        min(c * domains[n][0], c * domains[n][1]) for n, c in free if n != name
                    )
                    high_rest = sum(
                        max(c * domains[n][0], c * domains[n][1]) for n, c in free if n != name
                    )
                    a, b = -constant - high_rest, -constant - low_rest
                    if coefficient < 0:
                        a, b = -b, -a
                    low, high = domains[name]
                    new = (max(low, a), min(high, b))
                    if new[0] > new[1]:
                        return False
                    if new != (low, high):
                        domains[name] = new
                        changed = True
                if not free and constant != 0:
                    return False
        return True

    def _feasible(self, domains: dict[str, tuple[int, int]]) -> bool:
        if not self._propagate(domains):
            return False
        open_ = [n for n, (low, high) in domains.items() if low < high]
        if not open_:
            return True
        name = min(open_, key=lambda n: domains[n][1] - domains[n][0])
        low, high = domains[name]
        truth = self.truth[name]
        for value in sorted(range(low, high + 1), key=lambda v: abs(v - truth)):
            trial = dict(domains)
            trial[name] = (value, value)
            if self._feasible(trial):
                return True
        return False

    def pinned(self) -> list[str]:
        """Hidden cells that only their true value fits."""
        assert self._feasible(dict(self.domains)), "the truth itself must be consistent"
        result = []
        for name, (low, high) in self.domains.items():
            value = self.truth[name]
            below = value > low and self._feasible({**self.domains, name: (low, value - 1)})
            above = value < high and self._feasible({**self.domains, name: (value + 1, high)})
            if not (below or above):
                result.append(name)
        return result


people_strategy = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 1), st.integers(0, 2)), max_size=24
)


@settings(max_examples=80, deadline=None)
@given(people_strategy, st.integers(2, 3), st.booleans())
def test_every_hidden_cell_of_linked_breakdowns_has_two_consistent_values(
    people: list[tuple[int, int, int]], options: int, two_breakdowns: bool
) -> None:
    people = [(a, b, o % options) for a, b, o in people]
    dimensions = [(0, 3), (1, 2)] if two_breakdowns else [(0, 3)]
    tables = []
    for position, size in dimensions:
        cells = [
            [sum(1 for p in people if p[position] == g and p[2] == o) for o in range(options)]
            for g in range(size)
        ]
        cells = [row for row in cells if sum(row)]  # as shown: a group nobody is in is left out
        tables.append(TableInput(cells, [sum(row) for row in cells]))
    columns = [sum(1 for p in people if p[2] == o) for o in range(options)]
    protected = protect_tables(tables, columns, len(people))

    check = Consistency(len(people), protected.strict)
    if not protected.strict:  # only a handful of people can leave nothing more to hide
        assert len(people) < 20
    assert protected.grand_total.value == len(people)
    for o in range(options):
        check.cell(f"c{o}", columns[o], protected.column_totals[o])
    check.equation([f"c{o}" for o in range(options)], [])
    check.known["N"] = len(people)
    check.equations[-1][0].append("N")
    check.equations[-1][1].append(-1)
    for t, (table, shown) in enumerate(zip(tables, protected.tables, strict=True)):
        for g, row in enumerate(table.cells):
            for o, value in enumerate(row):
                check.cell(f"t{t}x{g}.{o}", value, shown.cells[g][o])
            check.cell(f"t{t}r{g}", table.row_totals[g], shown.row_totals[g])
            check.equation([f"t{t}x{g}.{o}" for o in range(options)], [f"t{t}r{g}"])
        for o in range(options):
            check.equation([f"t{t}x{g}.{o}" for g in range(len(table.cells))], [f"c{o}"])
        check.equation([f"t{t}r{g}" for g in range(len(table.cells))], ["N"])
        for g, row in enumerate(table.cells):
            for o, value in enumerate(row):
                if 0 < value < 5:
                    assert shown.cells[g][o].hidden
    assert check.pinned() == []


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=6))
def test_every_hidden_count_of_a_breakdown_of_a_known_total_has_two_values(
    counts: list[int],
) -> None:
    protected = protect_tables([], counts, sum(counts))
    figures = protected.column_totals
    assert figures == protect_counts(counts)
    check = Consistency(sum(counts), protected.strict)
    for index, (value, figure) in enumerate(zip(counts, figures, strict=True)):
        check.cell(f"x{index}", value, figure)
        if 0 < value < 5 and len(counts) > 1:  # a lone count is the known total itself
            assert figure.hidden
    check.known["N"] = sum(counts)
    check.equation([f"x{i}" for i in range(len(counts))], ["N"])
    assert check.pinned() == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.booleans()), max_size=24))
def test_attendance_keeps_the_people_who_did_not_come_hidden_too(
    people: list[tuple[int, bool]],
) -> None:
    """Registered and attended are shown; "did not attend" follows from them and is a
    cell like any other."""
    cells = [
        [sum(1 for g, came in people if g == group and came == flag) for flag in (True, False)]
        for group in range(3)
    ]
    cells = [row for row in cells if sum(row)]
    table = TableInput(cells, [sum(row) for row in cells])
    columns = [sum(row[0] for row in cells), sum(row[1] for row in cells)]
    protected = protect_tables(
        [table],
        columns,
        len(people),
        public_column_totals=True,
        undisplayed_columns=frozenset({1}),
    )
    check = Consistency(len(people), protected.strict)
    check.known.update({"c0": columns[0], "c1": columns[1], "N": len(people)})
    shown = protected.tables[0]
    rows = range(len(cells))
    for g, row in enumerate(cells):
        check.cell(f"a{g}", row[0], shown.cells[g][0])
        check.cell(f"n{g}", row[1], None)
        check.cell(f"r{g}", table.row_totals[g], shown.row_totals[g])
        check.equation([f"a{g}", f"n{g}"], [f"r{g}"])
    check.equation([f"a{g}" for g in rows], ["c0"])
    check.equation([f"n{g}" for g in rows], ["c1"])
    check.equation([f"r{g}" for g in rows], ["N"])
    # A lone group repeats the published totals: nothing of it is secret.
    small_absent = [f"n{g}" for g, row in enumerate(cells) if 0 < row[1] < 5 and len(cells) > 1]
    pinned = check.pinned()
    assert [name for name in pinned if name in small_absent or not name.startswith("n")] == []


def test_the_issue_example_no_longer_gives_the_one_no_away() -> None:
    """9 answered, 8 yes and 1 no: showing "8" beside "<5" told the hidden 1."""
    yes, no = protect_counts([8, 1])
    assert (yes.mark, no.mark) == (Mark.HIDDEN, Mark.SMALL)
    assert yes.value is None and no.value is None
    protected = protect_tables([TableInput([[8, 0], [0, 1]], [8, 1])], [8, 1], 9)
    anbar = protected.tables[0].cells[1]
    assert all(figure.hidden for figure in anbar)  # the zero beside the one is hidden too
