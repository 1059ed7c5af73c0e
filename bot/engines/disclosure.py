"""Disclosure control: every count of people that leaves the database passes through here.

The rule (see README, "Privacy of statistics"), applied to a set of linked tables that share
their column totals and grand total (e.g. one survey question broken down by governorate,
by gender and by age group, beside the overall counts):

1. **Primary suppression.** A count of 1 to `threshold - 1` people is hidden and shown as
   "<5".
2. **Zeros.** A zero in a row or column (margins included) that also holds a hidden cell is
   hidden too, as "<5" (true: 0 is under 5). A zero beside a hidden count would tell that
   every member of a small group gave the same answer.
3. **Complementary (secondary) suppression.** Any row or column (margins included) with
   exactly one hidden cell would give it away by subtraction, so the smallest cell still
   shown there is hidden as well (shown as "hidden"; it is at least the threshold).
4. **Audit.** For every hidden cell the service looks for another table that agrees with
   everything shown (the shown cells, the bounds "<5" = 0–4 and "hidden" = at least the
   threshold, every row, column and margin sum): a move of +1/-1 along hidden cells that
   keeps all sums. Where none is found, one more cell is hidden and the rules run again.
   So every hidden cell has at least two values consistent with everything shown.

The grand total (how many people answered) is published; so are totals marked public.
Services get back `Figure`s, which carry no value when hidden, so no caller can show one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from messages import Catalogue

THRESHOLD = 5
SEARCH_BUDGET = 4000  # steps of the move search per hidden cell before it counts as pinned


class Mark(Enum):
    SHOWN = "shown"
    SMALL = "small"  # 0 to threshold - 1, shown as "<5"
    HIDDEN = "hidden"  # complementary: at least the threshold


@dataclass(frozen=True)
class Figure:
    """A count as it may be released: `value` is None unless `mark` is SHOWN."""

    value: int | None
    mark: Mark = Mark.SHOWN

    @property
    def hidden(self) -> bool:
        return self.mark is not Mark.SHOWN

    def text(self, small: str, hidden: str) -> str:
        """As shown, with the wording of "<5" and "hidden" in the reader's language."""
        if self.mark is Mark.SMALL:
            return small
        if self.mark is Mark.HIDDEN:
            return hidden
        return str(self.value)


def shown(value: int) -> Figure:
    """A figure published as it is (a grand total, a public number)."""
    return Figure(value)


@dataclass(frozen=True)
class TableInput:
    """Counts of one breakdown: `cells[row][column]`, and each row's total (its margin)."""

    cells: Sequence[Sequence[int]]
    row_totals: Sequence[int]


@dataclass(frozen=True)
class ProtectedTable:
    cells: tuple[tuple[Figure, ...], ...]
    row_totals: tuple[Figure, ...]


@dataclass(frozen=True)
class Protected:
    tables: tuple[ProtectedTable, ...]
    column_totals: tuple[Figure, ...]
    grand_total: Figure
    # False when the population is so small that even hiding every cell leaves some hidden
    # cell determined for a reader who knows complementary cells are at least the threshold;
    # then "hidden" holds only in its published reading (any number).
    strict: bool = True


class _Problem:
    """The linked tables as cells and linear equations (each a line: row, column, margin)."""

    def __init__(
        self,
        tables: Sequence[TableInput],
        column_totals: Sequence[int],
        grand_total: int,
        public_column_totals: bool,
        undisplayed_columns: frozenset[int],
        threshold: int,
    ) -> None:
        self.threshold = threshold
        self.values: list[int] = []
        self.public: list[bool] = []
        self.displayed: list[bool] = []
        self.is_total: list[bool] = []
        self.lines: list[dict[int, int]] = []  # cell -> coefficient; sum(coef * x) == 0
        self.lines_of: list[list[int]] = []
        columns = len(column_totals)
        self.grand = self._cell(grand_total, public=True)
        single_column = columns == 1
        self.column_totals = [
            self._cell(
                value,
                public=public_column_totals or single_column,
                displayed=index not in undisplayed_columns,
                total=True,
            )
            for index, value in enumerate(column_totals)
        ]
        self._line({**{c: 1 for c in self.column_totals}, self.grand: -1})
        self.tables: list[tuple[list[list[int]], list[int]]] = []
        for table in tables:
            single_row = len(table.row_totals) == 1
            # A lone row repeats the column totals: public when they are.
            cells = [
                [
                    self._cell(
                        value,
                        public=single_row and public_column_totals,
                        displayed=index not in undisplayed_columns,
                    )
                    for index, value in enumerate(row)
                ]
                for row in table.cells
            ]
            totals = [
                self._cell(value, public=single_row, total=True) for value in table.row_totals
            ]
            for row, total in zip(cells, totals, strict=True):
                self._line({**{c: 1 for c in row}, total: -1})
            for index in range(columns):
                self._line({**{row[index]: 1 for row in cells}, self.column_totals[index]: -1})
            self._line({**{t: 1 for t in totals}, self.grand: -1})
            self.tables.append((cells, totals))
        for line in self.lines:  # parts of a published zero are published zeros
            totals = [c for c, coefficient in line.items() if coefficient < 0]
            if all(self.public[c] and self.values[c] == 0 for c in totals):
                for cell in line:
                    self.public[cell] = True
        self.marks = [Mark.SHOWN] * len(self.values)
        # Strict: an attacker who knows that a complementary cell is at least the threshold.
        self.strict = True
        self.proven: set[int] = set()

    def _cell(
        self, value: int, *, public: bool = False, displayed: bool = True, total: bool = False
    ) -> int:
        self.values.append(value)
        self.is_total.append(total)
        self.public.append(public)
        self.displayed.append(displayed)
        self.lines_of.append([])
        return len(self.values) - 1

    def _line(self, coefficients: dict[int, int]) -> None:
        index = len(self.lines)
        self.lines.append(coefficients)
        for cell in coefficients:
            self.lines_of[cell].append(index)

    # -- the rules ---------------------------------------------------------------------

    def hidden(self, cell: int) -> bool:
        return self.marks[cell] is not Mark.SHOWN or not self.displayed[cell]

    def _hide(self, cell: int) -> bool:
        if self.public[cell] or self.marks[cell] is not Mark.SHOWN:
            return False
        self.marks[cell] = Mark.SMALL if self.values[cell] < self.threshold else Mark.HIDDEN
        return True

    def _primary(self) -> None:
        for cell, value in enumerate(self.values):
            if 0 < value < self.threshold and not self.public[cell]:
                self.marks[cell] = Mark.SMALL

    def _zeros_and_complements(self) -> None:
        changed = True
        while changed:
            changed = False
            for line in self.lines:
                if any(self.marks[c] is not Mark.SHOWN for c in line):
                    for cell in line:
                        if self.values[cell] == 0 and self._hide(cell):
                            changed = True
            for line in self.lines:
                if sum(1 for c in line if self.hidden(c)) != 1:
                    continue
                candidates = [c for c in line if not self.hidden(c) and not self.public[c]]
                if candidates:
                    # The smallest cell costs least to hide; inner cells before totals.
                    pick = min(candidates, key=lambda c: (self.values[c], self.is_total[c], c))
                    changed |= self._hide(pick)

    # -- the audit -----------------------------------------------------------------------

    def _bounds(self, cell: int) -> tuple[int, int | None]:
        if not self.displayed[cell]:
            return 0, None
        if self.marks[cell] is Mark.SMALL:
            return 0, self.threshold - 1
        return (self.threshold if self.strict else 0), None

    def _movable(self, cell: int, delta: int) -> bool:
        if self.public[cell] or not self.hidden(cell):
            return False
        low, high = self._bounds(cell)
        value = self.values[cell] + delta
        return value >= low and (high is None or value <= high)

    def has_alternative(self, cell: int) -> bool:
        """Is there another table, consistent with all that is shown, where `cell` differs?"""
        for delta in (1, -1):
            if self._movable(cell, delta):
                excess: dict[int, int] = {}
                self._apply(excess, cell, delta)
                if self._balance({cell: delta}, excess, [SEARCH_BUDGET]):
                    return True
        return False

    def _apply(self, excess: dict[int, int], cell: int, delta: int) -> None:
        for index in self.lines_of[cell]:
            excess[index] = excess.get(index, 0) + self.lines[index][cell] * delta

    def _options(self, index: int, excess: int, move: dict[int, int]) -> list[tuple[int, int]]:
        line = self.lines[index]
        want = -1 if excess > 0 else 1  # the coefficient-weighted change still needed
        return [
            (c, want * line[c]) for c in line if c not in move and self._movable(c, want * line[c])
        ]

    def _balance(self, move: dict[int, int], excess: dict[int, int], budget: list[int]) -> bool:
        """Depth-first: settle the unbalanced line with the fewest ways out (fail first)."""
        budget[0] -= 1
        if budget[0] < 0:
            return False
        unbalanced = [index for index, value in excess.items() if value]
        if not unbalanced:
            return True
        choices = min((self._options(index, excess[index], move) for index in unbalanced), key=len)
        # Cells that also settle another unbalanced line close the move soonest.
        choices.sort(key=lambda o: (-self._closes(o[0], excess), self.values[o[0]]))
        for cell, delta in choices:
            move[cell] = delta
            self._apply(excess, cell, delta)
            if self._balance(move, excess, budget):
                return True
            self._apply(excess, cell, -delta)
            del move[cell]
            if budget[0] < 0:
                return False
        return False

    def _closes(self, cell: int, excess: dict[int, int]) -> int:
        return sum(1 for index in self.lines_of[cell] if excess.get(index))

    def _audit(self) -> int | None:
        """A hidden cell that no other consistent table could change, if any.

        A move found once stays valid when more cells are hidden (their bounds only widen
        the choice), so each cell is proven once.
        """
        for cell in range(len(self.values)):
            needs = self.marks[cell] is not Mark.SHOWN or (
                not self.displayed[cell] and 0 < self.values[cell] < self.threshold
            )
            if not needs or cell in self.proven:
                continue
            if not self.has_alternative(cell):
                return cell
            self.proven.add(cell)
        return None

    def _hide_one_more(self, pinned: int) -> bool:
        near = [
            c
            for i in self.lines_of[pinned]
            for c in self.lines[i]
            if not self.hidden(c) and not self.public[c]
        ]
        anywhere = [c for c in range(len(self.values)) if not self.hidden(c)]
        for pool in (near, [c for c in anywhere if not self.public[c]]):
            if pool:
                return self._hide(min(pool, key=lambda c: (self.values[c], c)))
        return False

    def solve(self) -> None:
        self._primary()
        while True:
            self._zeros_and_complements()
            pinned = self._audit()
            if pinned is None:
                return
            if not self._hide_one_more(pinned):
                break
        # Nothing is left to hide (a population of a handful of people): fall back on the
        # published reading of "hidden" (any number), and drop the "<5" hints if they alone
        # would pin a cell (two groups of 4 in a total of 8).
        self.strict = False
        self.proven.clear()
        if self._audit() is not None:
            self.marks = [Mark.HIDDEN if m is Mark.SMALL else m for m in self.marks]

    def figure(self, cell: int) -> Figure:
        mark = self.marks[cell]
        return Figure(self.values[cell] if mark is Mark.SHOWN else None, mark)


def protect_tables(
    tables: Sequence[TableInput],
    column_totals: Sequence[int],
    grand_total: int,
    *,
    public_column_totals: bool = False,
    undisplayed_columns: frozenset[int] = frozenset(),
    threshold: int = THRESHOLD,
) -> Protected:
    """Suppress the linked tables together (they share column totals and grand total).

    `undisplayed_columns` are never published (e.g. "did not attend" beside "attended" and
    "registered") but are protected like any cell, since they follow from the others.
    """
    problem = _Problem(
        tables,
        column_totals,
        grand_total,
        public_column_totals,
        undisplayed_columns,
        threshold,
    )
    problem.solve()
    protected = tuple(
        ProtectedTable(
            tuple(tuple(problem.figure(c) for c in row) for row in cells),
            tuple(problem.figure(t) for t in totals),
        )
        for cells, totals in problem.tables
    )
    return Protected(
        protected,
        tuple(problem.figure(c) for c in problem.column_totals),
        problem.figure(problem.grand),
        problem.strict,
    )


def protect_counts(counts: Sequence[int], *, threshold: int = THRESHOLD) -> tuple[Figure, ...]:
    """One breakdown whose total is known (e.g. cases by category): the same rules, one line."""
    if not counts:
        return ()
    protected = protect_tables([], list(counts), sum(counts), threshold=threshold)
    return protected.column_totals


@dataclass(frozen=True)
class Wording:
    """How "<5" and "hidden" read in one language (catalogue keys `privacy.small/hidden`)."""

    small: str
    hidden: str

    def of(self, figure: Figure) -> str:
        return figure.text(self.small, self.hidden)


def wording(catalogue: Catalogue, language: str, threshold: int = THRESHOLD) -> Wording:
    """Plain text: the caller's template escapes it once (in Arabic: "أقل من ٥")."""
    number = str(threshold)
    if language == "ar":
        number = number.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    return Wording(
        catalogue.plain(language, "privacy.small", threshold=number),
        catalogue.plain(language, "privacy.hidden"),
    )
