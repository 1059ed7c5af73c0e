"""XLSForm expressions (`relevant`, `constraint`) parsed and evaluated as ODK does.

The supported language is the part of ODK XPath that survey authors use: `${name}`, `.` (the
answer being checked), string and number literals, `and`/`or`, comparisons `= != < <= > >=`,
arithmetic `+ - * div mod`, unary minus, and the functions in `FUNCTIONS`.

Values follow XPath 1.0 as ODK applies it to form data: an unanswered question is the empty
string; `=`/`!=` compare as booleans if either side is one, else as numbers if either side is
one, else as strings; `< <= > >=` compare as numbers, so `'' > 3` is false (the empty string is
NaN). Like ODK's typed date answers, a `YYYY-MM-DD` string counts as a day number when a
number is needed, so dates compare in calendar order.

`parse()` builds an AST (tokenizer + recursive descent) or raises `ExpressionError` with a code
and a position; `evaluate()` walks the AST against the answers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

Value = str | float | bool | date


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
  | (?P<dot>\.(?![.\d]))
  | (?P<string>'[^']*'|"[^"]*")
  | (?P<op>!=|<=|>=|=|<|>|\+|-|\*)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)*)
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


Node = Number | Literal | Reference | Current | Call | Negate | Binary


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
    def __init__(self, source: str) -> None:
        self.tokens = tokenize(source)
        self.index = 0
        self.references: set[str] = set()

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
            raise ExpressionError("bare_name", name_token.position, name)
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
        if name == "regex" and isinstance(args[1], Literal):
            try:
                re.compile(args[1].value)
            except re.error:
                raise ExpressionError("bad_regex", name_token.position, args[1].value) from None
        return Call(name, tuple(args))


@lru_cache(maxsize=4096)
def parse(source: str) -> Expression:
    """Parse `source`; raises ExpressionError. Cached: forms reuse the same few expressions."""
    parser = _Parser(source)
    root = parser.parse()
    return Expression(source, root, frozenset(parser.references))


# ----------------------------------------------------------------------------- values

_XPATH_NUMBER = re.compile(r"\s*-?(\d+(\.\d*)?|\.\d+)\s*")
_ISO_DATE = re.compile(r"\s*(\d{4})-(\d{2})-(\d{2})\s*")
_EPOCH = date(1970, 1, 1)


def as_date(value: Value) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        match = _ISO_DATE.fullmatch(value)
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                return None
    return None


def to_number(value: Value) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    if isinstance(value, date):
        return float((value - _EPOCH).days)
    if _XPATH_NUMBER.fullmatch(value):
        return float(value)
    day = as_date(value)
    return float((day - _EPOCH).days) if day is not None else math.nan


def to_string(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def to_boolean(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, date):
        return True
    return len(value) > 0


def compare(op: str, left: Value, right: Value) -> bool:
    """XPath 1.0 comparison of two non-node-set values."""
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


# ----------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class Environment:
    answers: Mapping[str, str]
    current: str = ""
    today: date = _EPOCH


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


FUNCTIONS: dict[str, Function] = {
    "selected": Function((2, 2), lambda _e, a: to_string(a[1]).strip() in selected_tokens(a[0])),
    "count-selected": Function((1, 1), lambda _e, a: float(len(selected_tokens(a[0])))),
    "string-length": Function(
        (0, 1), lambda e, a: float(len(to_string(a[0] if a else e.current)))
    ),
    "not": Function((1, 1), lambda _e, a: not to_boolean(a[0])),
    "true": Function((0, 0), lambda _e, _a: True),
    "false": Function((0, 0), lambda _e, _a: False),
    "boolean": Function((1, 1), lambda _e, a: to_boolean(a[0])),
    "number": Function((1, 1), lambda _e, a: to_number(a[0])),
    "string": Function((0, 1), lambda e, a: to_string(a[0] if a else e.current)),
    "concat": Function((0, -1), lambda _e, a: "".join(to_string(v) for v in a)),
    "contains": Function((2, 2), lambda _e, a: to_string(a[1]) in to_string(a[0])),
    "starts-with": Function((2, 2), lambda _e, a: to_string(a[0]).startswith(to_string(a[1]))),
    "ends-with": Function((2, 2), lambda _e, a: to_string(a[0]).endswith(to_string(a[1]))),
    "regex": Function((2, 2), _regex),
    "if": Function((3, 3), _if),
    "int": Function((1, 1), _int),
    "today": Function((0, 0), lambda e, _a: e.today),
    "date": Function((1, 1), _date),
}


# ----------------------------------------------------------------------------- evaluation


def evaluate_node(node: Node, env: Environment) -> Value:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Reference):
        return env.answers.get(node.name, "")
    if isinstance(node, Current):
        return env.current
    if isinstance(node, Negate):
        return -to_number(evaluate_node(node.operand, env))
    if isinstance(node, Call):
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


def evaluate(expression: Expression | str, env: Environment) -> Value:
    parsed = parse(expression) if isinstance(expression, str) else expression
    return evaluate_node(parsed.root, env)


def holds(expression: str, env: Environment) -> bool:
    """The boolean value of `expression` (how ODK reads `relevant` and `constraint`)."""
    return to_boolean(evaluate(expression, env))
