"""XLSForm expressions (`relevant`, `constraint`, `calculation`, `choice_filter`, `default`,
`repeat_count`) parsed and evaluated as ODK does.

The supported language is the part of ODK XPath that survey authors use: `${name}`, `.` (the
answer being checked), `..` (the enclosing group or repeat, as in `position(..)`), relative and
absolute paths (`../name`, `/data/group/name`, read as the question `name`), bare names in a
`choice_filter` (a column of the choices sheet), string and number literals, `and`/`or`,
comparisons `= != < <= > >=`, arithmetic `+ - * div mod`, unary minus, and the functions in
`FUNCTIONS` (ODK's documented XPath functions, less those that need a device or external data).

A reference to a question inside a repeat, evaluated outside that repeat, is the node-set of
its answers in every instance (`sum()`, `count()`, `max()`, `indexed-repeat()` read it); a
node-set compared or used as a single value is its first item, as XPath does for `string()`.

Values follow XPath 1.0 as ODK applies it to form data: an unanswered question is the empty
string; `=`/`!=` compare as booleans if either side is one, else as numbers if either side is
one, else as strings; `< <= > >=` compare as numbers, so `'' > 3` is false (the empty string is
NaN). Like ODK's typed date answers, a `YYYY-MM-DD` string counts as a day number when a
number is needed, so dates compare in calendar order.

`parse()` builds an AST (tokenizer + recursive descent) or raises `ExpressionError` with a code
and a position; `evaluate()` walks the AST against the answers.
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any


class NodeSet(tuple[str, ...]):
    """The answers of one question across repeat instances (XPath node-set of text nodes)."""

    __slots__ = ()


Value = str | float | bool | date | datetime | NodeSet


class ExpressionError(ValueError):
    """An expression that does not parse. `code` names the problem for the catalogue."""

    def __init__(self, code: str, position: int, detail: str = "") -> None:
        super().__init__(f"{code} at character {position + 1}" + (f": {detail}" if detail else ""))
        self.code = code
        self.position = position
        self.detail = detail


# ----------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, ref, dot, name, op, lparen, rparen, comma, end
    text: str
    position: int


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<ref>\$\{(?P<refname>[A-Za-z_][A-Za-z0-9_.\-]*)\})
  | (?P<number>\d+(?:\.\d*)?|\.\d+)
  | (?P<path>(?:\.\./|\./)+(?P<pathname>[A-Za-z_][A-Za-z0-9_.\-]*)
      |(?:/[A-Za-z_][A-Za-z0-9_.\-]*)+)
  | (?P<parent>\.\.)
  | (?P<dot>\.(?![.\d]))
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<op>!=|<=|>=|=|<|>|\+|-|\*)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:[-:][A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<lbracket>\[)
  | (?P<rbracket>\])
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
    """,
    re.VERBOSE,
)
WORD_OPERATORS = frozenset({"and", "or", "div", "mod"})


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            char = source[position]
            if char in "'\"":
                raise ExpressionError("unterminated_string", position)
            if source.startswith("${", position):
                raise ExpressionError("bad_reference", position, source[position : position + 20])
            raise ExpressionError("bad_character", position, char)
        kind = match.lastgroup or ""
        if kind == "ref":
            tokens.append(Token("ref", match.group("refname"), position))
        elif kind == "path":
            last = match.group("pathname") or match.group().rsplit("/", 1)[-1]
            tokens.append(Token("ref", last, position))
        elif kind == "string":
            tokens.append(Token("string", match.group()[1:-1], position))
        elif kind == "name" and match.group() in WORD_OPERATORS:
            tokens.append(Token("op", match.group(), position))
        elif kind != "space":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


# ----------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Literal:
    value: str


@dataclass(frozen=True)
class Reference:
    name: str


@dataclass(frozen=True)
class Current:
    pass


@dataclass(frozen=True)
class Parent:
    """`..`: the enclosing group or repeat (only `position(..)` reads it)."""


@dataclass(frozen=True)
class Field:
    """A bare name: a column of the choice being filtered (`choice_filter` only)."""

    name: str


@dataclass(frozen=True)
class InstanceItem:
    """`instance('list')/root/item[filter]/column`: a column of a choice list's item."""

    list_name: str
    predicate: Node | None
    column: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


Node = (
    Number | Literal | Reference | Current | Parent | Field | InstanceItem | Call | Negate | Binary
)


@dataclass(frozen=True)
class Expression:
    """A parsed expression and the question names it refers to."""

    source: str
    root: Node
    references: frozenset[str] = frozenset()


# ----------------------------------------------------------------------------- parser

# Binary operators from the loosest to the tightest binding (XPath 1.0 precedence).
_LEVELS: tuple[frozenset[str], ...] = (
    frozenset({"or"}),
    frozenset({"and"}),
    frozenset({"=", "!="}),
    frozenset({"<", "<=", ">", ">="}),
    frozenset({"+", "-"}),
    frozenset({"*", "div", "mod"}),
)


class _Parser:
    def __init__(self, source: str, fields: bool) -> None:
        self.tokens = tokenize(source)
        self.index = 0
        self.references: set[str] = set()
        self.fields = fields

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, kind: str) -> Token:
        token = self.token
        if token.kind != kind:
            self.fail(expected={"rparen": ")", "lparen": "("}.get(kind, kind))
        return self.advance()

    def fail(self, expected: str = "") -> None:
        token = self.token
        if token.kind == "end":
            raise ExpressionError("unexpected_end", token.position, expected)
        raise ExpressionError("unexpected_token", token.position, token.text)

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise ExpressionError("empty", 0)
        node = self.binary(0)
        if self.token.kind != "end":
            self.fail()
        return node

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.token.kind == "op" and self.token.text in _LEVELS[level]:
            op = self.advance().text
            node = Binary(op, node, self.binary(level + 1))
        return node

    def unary(self) -> Node:
        if self.token.kind == "op" and self.token.text == "-":
            self.advance()
            return Negate(self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.token
        if token.kind == "number":
            self.advance()
            return Number(float(token.text))
        if token.kind == "string":
            self.advance()
            return Literal(token.text)
        if token.kind == "ref":
            self.advance()
            self.references.add(token.text)
            return Reference(token.text)
        if token.kind == "dot":
            self.advance()
            return Current()
        if token.kind == "parent":
            self.advance()
            return Parent()
        if token.kind == "lparen":
            self.advance()
            node = self.binary(0)
            self.expect("rparen")
            return node
        if token.kind == "name":
            return self.call()
        self.fail(expected="a value")
        raise AssertionError("unreachable")

    def call(self) -> Node:
        name_token = self.advance()
        name = name_token.text
        if self.token.kind != "lparen":
            if self.fields:
                return Field(name)
            raise ExpressionError("bare_name", name_token.position, name)
        if name == "instance":
            return self.instance()
        if name not in FUNCTIONS:
            raise ExpressionError("unknown_function", name_token.position, name)
        self.advance()
        args: list[Node] = []
        if self.token.kind != "rparen":
            args.append(self.binary(0))
            while self.token.kind == "comma":
                self.advance()
                args.append(self.binary(0))
        self.expect("rparen")
        low, high = FUNCTIONS[name].arity
        if not low <= len(args) <= (high if high >= 0 else len(args)):
            raise ExpressionError("wrong_arguments", name_token.position, name)
        if name == "jr:choice-name" and isinstance(args[1], Literal):
            self.references.update(_REFERENCE_IN_TEXT.findall(args[1].value))
        if name == "regex" and isinstance(args[1], Literal):
            try:
                re.compile(args[1].value)
            except re.error:
                raise ExpressionError("bad_regex", name_token.position, args[1].value) from None
        return Call(name, tuple(args))

    def instance(self) -> Node:
        self.expect("lparen")
        list_name = self.expect("string").text
        self.expect("rparen")
        item = self.expect("ref")
        if item.text != "item":
            raise ExpressionError("unexpected_token", item.position, item.text)
        predicate: Node | None = None
        if self.token.kind == "lbracket":
            self.advance()
            fields, self.fields = self.fields, True
            predicate = self.binary(0)
            self.fields = fields
            self.expect("rbracket")
        column = self.expect("ref").text if self.token.kind == "ref" else "name"
        return InstanceItem(list_name, predicate, column)


_REFERENCE_IN_TEXT = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")


@lru_cache(maxsize=16384)
def parse(source: str, fields: bool = False) -> Expression:
    """Parse `source`; raises ExpressionError. Cached: forms reuse the same few expressions.

    `fields` allows bare names (columns of the choices sheet), as in a `choice_filter`."""
    parser = _Parser(source, fields)
    root = parser.parse()
    return Expression(source, root, frozenset(parser.references))


# ----------------------------------------------------------------------------- values

_XPATH_NUMBER = re.compile(r"\s*-?(\d+(\.\d*)?|\.\d+)\s*")
_ISO_DATE = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})\s*")
_ISO_DATETIME = re.compile(
    r"\s*(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*"
)
_EPOCH = date(1970, 1, 1)
_EPOCH_TIME = datetime(1970, 1, 1, tzinfo=UTC)


def _single(value: Value) -> str | float | bool | date | datetime:
    if isinstance(value, NodeSet):
        return value[0] if value else ""
    return value


def as_datetime(value: Value) -> datetime | None:
    value = _single(value)
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        match = _ISO_DATETIME.fullmatch(value)
        if match:
            zone = match[8]
            tz = UTC
            if zone and zone != "Z":
                sign = 1 if zone[0] == "+" else -1
                digits = zone[1:].replace(":", "")
                tz = timezone_of(sign * (int(digits[:2]) * 60 + int(digits[2:])))
            try:
                return datetime(
                    int(match[1]),
                    int(match[2]),
                    int(match[3]),
                    int(match[4]),
                    int(match[5]),
                    int(match[6] or 0),
                    int((match[7] or "0")[:6].ljust(6, "0")),
                    tzinfo=tz,
                )
            except ValueError:
                return None
        day = as_date(value)
        if day is not None:
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
    if isinstance(value, float) and math.isfinite(value):
        return _EPOCH_TIME + timedelta(days=value)
    return None


def timezone_of(minutes: int) -> Any:
    from datetime import timezone

    return timezone(timedelta(minutes=minutes))


def as_date(value: Value) -> date | None:
    value = _single(value)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        match = _ISO_DATE.fullmatch(value) or _ISO_DATE.match(value)
        if match and (match.end() == len(value) or value[match.end()] in "T "):
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                return None
    if isinstance(value, float) and math.isfinite(value):
        try:
            return _EPOCH + timedelta(days=math.floor(value))
        except OverflowError:
            return None
    return None


def to_number(value: Value) -> float:
    value = _single(value)
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    if isinstance(value, datetime):
        return (value - _EPOCH_TIME).total_seconds() / 86400
    if isinstance(value, date):
        return float((value - _EPOCH).days)
    if _XPATH_NUMBER.fullmatch(value):
        return float(value)
    moment = _ISO_DATETIME.fullmatch(value)
    if moment:
        stamp = as_datetime(value)
        return to_number(stamp) if stamp is not None else math.nan
    day = as_date(value)
    return float((day - _EPOCH).days) if day is not None else math.nan


def to_string(value: Value) -> str:
    value = _single(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_boolean(value: Value) -> bool:
    if isinstance(value, NodeSet):
        return len(value) > 0
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, date):
        return True
    return len(value) > 0


def compare(op: str, left: Value, right: Value) -> bool:
    """XPath 1.0 comparison; a node-set compares true if any of its items does."""
    if isinstance(left, NodeSet):
        return any(compare(op, item, right) for item in left)
    if isinstance(right, NodeSet):
        return any(compare(op, left, item) for item in right)
    if op in ("=", "!="):
        equal: bool
        if isinstance(left, bool) or isinstance(right, bool):
            equal = to_boolean(left) == to_boolean(right)
        elif isinstance(left, float | date) or isinstance(right, float | date):
            equal = to_number(left) == to_number(right)
        else:
            equal = left == right
        return equal if op == "=" else not equal
    a, b = to_number(left), to_number(right)
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def arithmetic(op: str, left: Value, right: Value) -> float:
    a, b = to_number(left), to_number(right)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "div":
        if b == 0:
            if a == 0 or math.isnan(a):
                return math.nan
            return math.copysign(math.inf, a) * math.copysign(1.0, b)
        return a / b
    if b == 0 or math.isinf(a) or math.isnan(a) or math.isnan(b):
        return math.nan
    return math.fmod(a, b)


def selected_tokens(value: Value) -> list[str]:
    return to_string(value).split()


def items_of(values: list[Value]) -> list[Value]:
    """The items of node-set arguments, flattened (for sum, min, max, count, join)."""
    items: list[Value] = []
    for value in values:
        if isinstance(value, NodeSet):
            items.extend(value)
        else:
            items.append(value)
    return items


# ----------------------------------------------------------------------------- functions

Lookup = Callable[[str, bool], Value]


@dataclass(frozen=True)
class Environment:
    """What an expression is evaluated against.

    `answers` maps names to values for the simple case; `lookup(name, every_instance)`, when
    given, resolves references instead (groups, repeats, calculations); `position` is the
    instance number of the repeat being answered; `field` reads a choice's column
    (`choice_filter`); `choice_label(question, value)` serves `jr:choice-name`.
    """

    answers: Mapping[str, str]
    current: str = ""
    today: date = _EPOCH
    now: datetime | None = None
    lookup: Lookup | None = None
    position: int = 0
    field: Callable[[str], str] | None = None
    items: Callable[[str], list[Mapping[str, str]]] | None = None
    choice_label: Callable[[str, str], str] | None = None
    # indexed(name, [(repeat, n), ...]): the answer of `name` in instance n of each repeat.
    indexed: Callable[[str, list[tuple[str, int]]], Value] | None = None


@dataclass(frozen=True)
class Function:
    arity: tuple[int, int]  # (min, max); max -1 means any number
    apply: Callable[[Environment, list[Value]], Value]


def _regex(_env: Environment, args: list[Value]) -> Value:
    try:
        return re.search(to_string(args[1]), to_string(args[0])) is not None
    except re.error:
        return False


def _if(_env: Environment, args: list[Value]) -> Value:
    return args[1] if to_boolean(args[0]) else args[2]


def _int(_env: Environment, args: list[Value]) -> Value:
    number = to_number(args[0])
    return float(math.trunc(number)) if math.isfinite(number) else number


def _date(_env: Environment, args: list[Value]) -> Value:
    day = as_date(args[0])
    return day if day is not None else math.nan


def _date_time(_env: Environment, args: list[Value]) -> Value:
    moment = as_datetime(args[0])
    return moment if moment is not None else math.nan


def _now(env: Environment, _args: list[Value]) -> Value:
    if env.now is not None:
        return env.now
    return datetime(env.today.year, env.today.month, env.today.day, tzinfo=UTC)


def _round(_env: Environment, args: list[Value]) -> Value:
    number = to_number(args[0])
    places = int(to_number(args[1])) if len(args) > 1 else 0
    if not math.isfinite(number):
        return number
    factor = 10.0**places
    return math.floor(number * factor + 0.5) / factor  # XPath rounds half up


def _coalesce(_env: Environment, args: list[Value]) -> Value:
    first = to_string(args[0])
    return first if first else args[1]


def _sum(_env: Environment, args: list[Value]) -> Value:
    return float(sum(to_number(v) for v in items_of(args)))


def _extreme(pick: Callable[[list[float]], float]) -> Callable[[Environment, list[Value]], Value]:
    def apply(_env: Environment, args: list[Value]) -> Value:
        numbers = [to_number(v) for v in items_of(args)]
        if not numbers or any(math.isnan(n) for n in numbers):
            return math.nan
        return pick(numbers)

    return apply


def _count(_env: Environment, args: list[Value]) -> Value:
    value = args[0]
    if isinstance(value, NodeSet):
        return float(len(value))
    return 1.0 if to_string(value) != "" else 0.0


def _selected_at(_env: Environment, args: list[Value]) -> Value:
    tokens = selected_tokens(args[0])
    index = to_number(args[1])
    if math.isfinite(index) and 0 <= int(index) < len(tokens):
        return tokens[int(index)]
    return ""


def _substr(_env: Environment, args: list[Value]) -> Value:
    text = to_string(args[0])
    start = to_number(args[1])
    if not math.isfinite(start):
        return ""
    begin = max(int(start), 0)
    if len(args) > 2:
        end = to_number(args[2])
        return text[begin : int(end)] if math.isfinite(end) else text[begin:]
    return text[begin:]


def _substring_xpath(_env: Environment, args: list[Value]) -> Value:
    """XPath substring(): 1-based, with rounding."""
    text = to_string(args[0])
    start = to_number(args[1])
    if math.isnan(start):
        return ""
    first = round(start)
    last = first + round(to_number(args[2])) if len(args) > 2 else math.inf
    return "".join(c for i, c in enumerate(text, start=1) if first <= i < last)


def _format_date(env: Environment, args: list[Value]) -> Value:
    moment = as_datetime(args[0])
    if moment is None:
        return ""
    pattern = to_string(args[1])
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    codes = {
        "Y": f"{moment.year:04d}",
        "y": f"{moment.year % 100:02d}",
        "m": f"{moment.month:02d}",
        "n": str(moment.month),
        "b": months[moment.month - 1],
        "d": f"{moment.day:02d}",
        "e": str(moment.day),
        "a": days[moment.weekday()],
        "H": f"{moment.hour:02d}",
        "h": str(moment.hour),
        "M": f"{moment.minute:02d}",
        "S": f"{moment.second:02d}",
        "3": f"{moment.microsecond // 1000:03d}",
    }
    return re.sub(r"%(.)", lambda m: codes.get(m[1], m[0]), pattern)


def _decimal_time(_env: Environment, args: list[Value]) -> Value:
    text = to_string(args[0])
    match = re.fullmatch(r"\s*(\d{2}):(\d{2})(?::(\d{2}))?.*", text)
    if not match:
        return math.nan
    seconds = int(match[1]) * 3600 + int(match[2]) * 60 + int(match[3] or 0)
    return seconds / 86400


def _once(env: Environment, args: list[Value]) -> Value:
    return env.current if env.current else args[0]


def _boolean_from_string(_env: Environment, args: list[Value]) -> Value:
    return to_string(args[0]).strip() in ("true", "1")


def _join(_env: Environment, args: list[Value]) -> Value:
    return to_string(args[0]).join(to_string(v) for v in items_of(args[1:]))


def _position(env: Environment, _args: list[Value]) -> Value:
    return float(env.position)


def _choice_name(env: Environment, args: list[Value]) -> Value:
    value = to_string(args[0])
    target = _REFERENCE_IN_TEXT.search(to_string(args[1]))
    if env.choice_label is None or target is None:
        return value
    return env.choice_label(target.group(1), value)


def _number_function(apply: Callable[[float], float]) -> Function:
    def call(_env: Environment, args: list[Value]) -> Value:
        number = to_number(args[0])
        try:
            return float(apply(number))
        except (ValueError, OverflowError):
            return math.nan

    return Function((1, 1), call)


def _pow(_env: Environment, args: list[Value]) -> Value:
    try:
        return float(math.pow(to_number(args[0]), to_number(args[1])))
    except (ValueError, OverflowError):
        return math.nan


def _translate(_env: Environment, args: list[Value]) -> Value:
    source, old, new = (to_string(a) for a in args)
    table = {ord(c): (new[i] if i < len(new) else None) for i, c in reversed(list(enumerate(old)))}
    return source.translate(table)


FUNCTIONS: dict[str, Function] = {
    "selected": Function((2, 2), lambda _e, a: to_string(a[1]).strip() in selected_tokens(a[0])),
    "count-selected": Function((1, 1), lambda _e, a: float(len(selected_tokens(a[0])))),
    "selected-at": Function((2, 2), _selected_at),
    "string-length": Function(
        (0, 1), lambda e, a: float(len(to_string(a[0] if a else e.current)))
    ),
    "not": Function((1, 1), lambda _e, a: not to_boolean(a[0])),
    "true": Function((0, 0), lambda _e, _a: True),
    "false": Function((0, 0), lambda _e, _a: False),
    "boolean": Function((1, 1), lambda _e, a: to_boolean(a[0])),
    "boolean-from-string": Function((1, 1), _boolean_from_string),
    "number": Function((1, 1), lambda _e, a: to_number(a[0])),
    "string": Function((0, 1), lambda e, a: to_string(a[0] if a else e.current)),
    "concat": Function((0, -1), lambda _e, a: "".join(to_string(v) for v in items_of(a))),
    "join": Function((1, -1), _join),
    "contains": Function((2, 2), lambda _e, a: to_string(a[1]) in to_string(a[0])),
    "starts-with": Function((2, 2), lambda _e, a: to_string(a[0]).startswith(to_string(a[1]))),
    "ends-with": Function((2, 2), lambda _e, a: to_string(a[0]).endswith(to_string(a[1]))),
    "substr": Function((2, 3), _substr),
    "substring": Function((2, 3), _substring_xpath),
    "substring-before": Function(
        (2, 2),
        lambda _e, a: (
            to_string(a[0]).partition(to_string(a[1]))[0]
            if to_string(a[1]) in to_string(a[0])
            else ""
        ),
    ),
    "substring-after": Function(
        (2, 2), lambda _e, a: to_string(a[0]).partition(to_string(a[1]))[2]
    ),
    "normalize-space": Function(
        (0, 1), lambda e, a: " ".join(to_string(a[0] if a else e.current).split())
    ),
    "translate": Function((3, 3), _translate),
    "regex": Function((2, 2), _regex),
    "if": Function((3, 3), _if),
    "coalesce": Function((2, 2), _coalesce),
    "int": Function((1, 1), _int),
    "round": Function((1, 2), _round),
    "floor": _number_function(math.floor),
    "ceiling": _number_function(math.ceil),
    "abs": _number_function(abs),
    "sqrt": _number_function(math.sqrt),
    "exp": _number_function(math.exp),
    "log": _number_function(math.log),
    "log10": _number_function(math.log10),
    "sin": _number_function(math.sin),
    "cos": _number_function(math.cos),
    "tan": _number_function(math.tan),
    "pow": Function((2, 2), _pow),
    "pi": Function((0, 0), lambda _e, _a: math.pi),
    "sum": Function((1, 1), _sum),
    "min": Function((1, -1), _extreme(min)),
    "max": Function((1, -1), _extreme(max)),
    "count": Function((1, 1), _count),
    "position": Function((0, 1), _position),
    "today": Function((0, 0), lambda e, _a: e.today),
    "now": Function((0, 0), _now),
    "date": Function((1, 1), _date),
    "date-time": Function((1, 1), _date_time),
    "decimal-date-time": Function((1, 1), lambda _e, a: to_number(_date_time(_e, a))),
    "decimal-time": Function((1, 1), _decimal_time),
    "format-date": Function((2, 2), _format_date),
    "format-date-time": Function((2, 2), _format_date),
    "once": Function((1, 1), _once),
    "uuid": Function((0, 1), lambda _e, _a: str(uuid.uuid4())),
    "random": Function((0, 0), lambda _e, _a: random.random()),
    "jr:choice-name": Function((2, 2), _choice_name),
    # indexed-repeat(${q}, ${repeat}, n [, ${repeat2}, m]): read specially in evaluate_node.
    "indexed-repeat": Function((3, 7), lambda _e, a: a[0]),
}
_EVERY_INSTANCE = frozenset({"indexed-repeat"})


# ----------------------------------------------------------------------------- evaluation


def _reference(name: str, env: Environment, every_instance: bool = False) -> Value:
    if env.lookup is not None:
        return env.lookup(name, every_instance)
    return env.answers.get(name, "")


def evaluate_node(node: Node, env: Environment) -> Value:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Reference):
        return _reference(node.name, env)
    if isinstance(node, Current):
        return env.current
    if isinstance(node, Parent):
        return ""
    if isinstance(node, Field):
        return env.field(node.name) if env.field is not None else ""
    if isinstance(node, InstanceItem):
        return _instance_item(node, env)
    if isinstance(node, Negate):
        return -to_number(evaluate_node(node.operand, env))
    if isinstance(node, Call):
        if node.name in _EVERY_INSTANCE:
            return _indexed_repeat(node, env)
        return FUNCTIONS[node.name].apply(env, [evaluate_node(arg, env) for arg in node.args])
    if node.op == "or":
        return to_boolean(evaluate_node(node.left, env)) or to_boolean(
            evaluate_node(node.right, env)
        )
    if node.op == "and":
        return to_boolean(evaluate_node(node.left, env)) and to_boolean(
            evaluate_node(node.right, env)
        )
    left, right = evaluate_node(node.left, env), evaluate_node(node.right, env)
    if node.op in ("=", "!=", "<", "<=", ">", ">="):
        return compare(node.op, left, right)
    return arithmetic(node.op, left, right)


def _indexed_repeat(node: Call, env: Environment) -> Value:
    """The answer of `${q}` in instance n of repeat R (and m of R2 inside it, and so on, as
    `indexed-repeat(${q}, ${R}, n, ${R2}, m)`: any nesting depth)."""
    first = node.args[0]
    if env.indexed is not None and isinstance(first, Reference):
        pairs: list[tuple[str, int]] = []
        for at in range(1, len(node.args) - 1, 2):
            repeat, number = node.args[at], to_number(evaluate_node(node.args[at + 1], env))
            if not isinstance(repeat, Reference) or not math.isfinite(number):
                return ""
            pairs.append((repeat.name, int(number)))
        return env.indexed(first.name, pairs)
    values = (
        _reference(first.name, env, every_instance=True)
        if isinstance(first, Reference)
        else evaluate_node(first, env)
    )
    index = to_number(evaluate_node(node.args[2], env))
    if not isinstance(values, NodeSet):
        return values if index == 1 else ""
    if math.isfinite(index) and 1 <= int(index) <= len(values):
        return values[int(index) - 1]
    return ""


def _reader(row: Mapping[str, str]) -> Callable[[str], str]:
    return lambda column: row.get(column, "")


def _instance_item(node: InstanceItem, env: Environment) -> Value:
    """The column of the first item of the list that the filter keeps ("" if none)."""
    if env.items is None:
        return ""
    for item in env.items(node.list_name):
        if node.predicate is not None:
            inner = dataclasses.replace(env, field=_reader(item))
            if not to_boolean(evaluate_node(node.predicate, inner)):
                continue
        return item.get(node.column, "")
    return ""


def evaluate(expression: Expression | str, env: Environment) -> Value:
    parsed = parse(expression) if isinstance(expression, str) else expression
    return evaluate_node(parsed.root, env)


def holds(expression: str, env: Environment, *, fields: bool = False) -> bool:
    """The boolean value of `expression` (how ODK reads `relevant` and `constraint`)."""
    return to_boolean(evaluate(parse(expression, fields), env))
