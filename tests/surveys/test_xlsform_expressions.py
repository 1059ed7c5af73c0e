"""The XLSForm expression evaluator against a table of ODK semantics, and property tests that
compare it with a small reference implementation of XPath 1.0 value rules."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.surveys.xlsform.expressions import (
    Environment,
    ExpressionError,
    NodeSet,
    Value,
    evaluate,
    holds,
    parse,
)

ANSWERS = {
    "yes_no": "yes",
    "age": "25",
    "empty": "",
    "needs": "water food  health",
    "height": "1.75",
    "visit": "2025-01-10",
    "name": "Salma",
}
ENV = Environment(ANSWERS, current="12", today=date(2025, 3, 1))

# (expression, value in ODK) — written from the ODK XForms spec and XPath 1.0.
ODK_TABLE = [
    ("${yes_no} = 'yes'", True),
    ("${yes_no} != 'yes'", False),
    ("${age} > 18", True),
    ("${age} >= 25 and ${age} <= 25", True),
    ("${age} = '25'", True),
    ("${age} = 25.0", True),
    ("${unanswered} = ''", True),
    ("${empty} > 3", False),
    ("${empty} < 3", False),
    ("${empty} = 0", False),
    ("${empty} != 0", True),
    ("'' > 3", False),
    ("not(${empty})", True),
    ("selected(${needs}, 'food')", True),
    ("selected(${needs}, 'foo')", False),
    ("selected(${empty}, '')", False),
    ("count-selected(${needs}) = 3", True),
    ("count-selected(${empty}) = 0", True),
    ("string-length(${name}) = 5", True),
    ("string-length() = 2", True),
    (". > 10 and . < 13", True),
    ("${height} * 100 = 175", True),
    ("7 mod 3 = 1", True),
    ("-7 mod 3 = -1", True),
    ("10 div 4 = 2.5", True),
    ("1 div 0 > 1000000", True),
    ("2 + 3 * 4 = 14", True),
    ("(2 + 3) * 4 = 20", True),
    ("1 < 2 = true()", True),
    ("${yes_no} = 'yes' or ${age} > 99 and false()", True),
    ("not(${yes_no} = 'no')", True),
    ("${visit} < today()", True),
    ("${visit} > date('2025-01-01')", True),
    ("regex(${name}, '^[A-Z][a-z]+$')", True),
    ("contains(${name}, 'alm')", True),
    ("if(${age} > 18, 'adult', 'minor') = 'adult'", True),
    ("int(${height}) = 1", True),
    ("boolean('false')", True),
    ("number('abc') != number('abc')", True),
]


@pytest.mark.parametrize(("source", "expected"), ODK_TABLE)
def test_odk_semantics_table(source: str, expected: bool) -> None:
    assert holds(source, ENV) is expected


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("${age} = = 1", "unexpected_token"),
        ("(${age} > 1", "unexpected_end"),
        ("age > 1", "bare_name"),
        ("pulldata('x', 'y')", "unknown_function"),
        ("selected(${needs})", "wrong_arguments"),
        ("${name} = 'Salma", "unterminated_string"),
        ("${age} # 2", "bad_character"),
        ("${age > 2", "bad_reference"),
        ("regex(., '[0-9')", "bad_regex"),
        ("   ", "empty"),
        ("1 2", "unexpected_token"),
    ],
)
def test_parse_errors_name_the_problem_and_where(source: str, code: str) -> None:
    with pytest.raises(ExpressionError) as raised:
        parse(source)
    assert raised.value.code == code
    assert 0 <= raised.value.position <= len(source)


def test_references_are_collected() -> None:
    assert parse("selected(${a}, 'x') and ${b} > . + ${a}").references == {"a", "b"}


# ----------------------------------------------------------------------------- reference model


def ref_number(value: object) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    text = str(value).strip()
    try:
        if text and all(c.isdigit() or c in ".-" for c in text):
            return float(text)
    except ValueError:
        pass
    return math.nan


def ref_compare(op: str, left: object, right: object) -> bool:
    """XPath 1.0 §3.4 for strings and numbers (no dates in the generated values)."""
    if op in ("=", "!="):
        if isinstance(left, float) or isinstance(right, float):
            equal = ref_number(left) == ref_number(right)
        else:
            equal = left == right
        return equal if op == "=" else not equal
    a, b = ref_number(left), ref_number(right)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


number_text = st.integers(-1000, 1000).map(str) | st.decimals(
    -100, 100, places=2, allow_nan=False
).map(lambda d: str(d))
plain_text = st.text(alphabet="abcxyz ", max_size=6)
answer_values = st.one_of(st.just(""), number_text, plain_text)
operators = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])


@dataclass(frozen=True)
class Operand:
    source: str
    value: object  # str or float, as XPath sees it


def literal_operands() -> st.SearchStrategy[Operand]:
    numbers = st.integers(-1000, 1000).map(lambda n: Operand(str(n), float(n)))
    strings = plain_text.map(lambda s: Operand(f"'{s}'", s))
    return numbers | strings


@settings(max_examples=300, deadline=None)
@given(left=answer_values, right=literal_operands(), op=operators)
def test_comparisons_of_answers_follow_xpath(left: str, right: Operand, op: str) -> None:
    env = Environment({"q": left})
    source = f"${{q}} {op} {right.source}"
    assert holds(source, env) is ref_compare(op, left, right.value)


@settings(max_examples=200, deadline=None)
@given(a=st.integers(-50, 50), b=st.integers(-50, 50), c=st.integers(1, 9), op=operators)
def test_generated_arithmetic_round_trips_against_python(a: int, b: int, c: int, op: str) -> None:
    source = f"({a} + {b}) * {c} - {a} div {c} {op} {b} mod {c}"
    left = (a + b) * c - a / c
    right = math.fmod(b, c)
    expected = {
        "=": left == right,
        "!=": left != right,
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[op]
    assert holds(source, Environment({})) is expected


tokens = st.lists(st.sampled_from(["water", "food", "health", "jobs", "other"]), max_size=5)


@settings(max_examples=200, deadline=None)
@given(
    chosen=tokens,
    probe=st.sampled_from(["water", "food", "health", "jobs", "other", "wat"]),
    spaces=st.sampled_from([" ", "  ", "\t"]),
)
def test_selected_and_count_selected_on_space_separated_lists(
    chosen: list[str], probe: str, spaces: str
) -> None:
    env = Environment({"needs": spaces.join(chosen)})
    assert holds(f"selected(${{needs}}, '{probe}')", env) is (probe in chosen)
    assert evaluate("count-selected(${needs})", env) == float(len(chosen))


@settings(max_examples=200, deadline=None)
@given(value=answer_values)
def test_not_not_is_boolean(value: str) -> None:
    env = Environment({"x": value}, current=value)
    assert holds("not(not(${x}))", env) is holds("boolean(${x})", env) is (value != "")
    assert holds("not(not(.))", env) is bool(value)


@settings(max_examples=200, deadline=None)
@given(value=plain_text)
def test_string_length_counts_characters(value: str) -> None:
    env = Environment({"x": value}, current=value)
    assert evaluate("string-length(${x})", env) == float(len(value))
    assert evaluate("string-length()", env) == float(len(value))


@settings(max_examples=200, deadline=None)
@given(a=st.booleans(), b=st.booleans(), c=st.booleans())
def test_and_binds_tighter_than_or(a: bool, b: bool, c: bool) -> None:
    words = {True: "true()", False: "false()"}
    source = f"{words[a]} or {words[b]} and {words[c]}"
    assert holds(source, Environment({})) is (a or (b and c))


# ----------------------------------------------------------------------------- ODK functions

REPEATED = NodeSet(("4", "9", "", "2"))


def odk_env() -> Environment:
    def lookup(name: str, every_instance: bool) -> Value:
        if name == "ages":
            return REPEATED
        return ANSWERS.get(name, "")

    return Environment(
        ANSWERS,
        current="",
        today=date(2025, 3, 1),
        now=datetime(2025, 3, 1, 9, 5, 7, tzinfo=UTC),
        lookup=lookup,
        position=3,
        choice_label=lambda question, value: {"yes": "Yes!"}.get(value, value),
    )


ODK_FUNCTIONS = [
    ("concat(${name}, '-', ${age})", "Salma-25"),
    ("coalesce(${empty}, ${name})", "Salma"),
    ("sum(${ages})", math.nan),  # an unanswered instance is NaN, as XPath's number('')
    ("max(${ages})", math.nan),
    ("min(1, 3, -2)", -2.0),
    ("count(${ages})", 4.0),
    ("indexed-repeat(${ages}, ${roster}, 2)", "9"),
    ("position(..)", 3.0),
    ("round(2.5)", 3.0),
    ("round(3.14159, 2)", 3.14),
    ("int(-3.7)", -3.0),
    ("substr(${name}, 1, 3)", "al"),
    ("selected-at(${needs}, 1)", "food"),
    ("today() - ${visit}", 50.0),
    ("date(${visit} + 30)", date(2025, 2, 9)),
    ("format-date(${visit}, '%e/%n/%Y %b')", "10/1/2025 Jan"),
    ("format-date-time(now(), '%H:%M:%S')", "09:05:07"),
    ("decimal-date-time('1970-01-02T12:00:00Z')", 1.5),
    ("decimal-time('06:00')", 0.25),
    ("boolean-from-string('true')", True),
    ("boolean-from-string('yes')", False),
    ("once(${age})", "25"),
    ("string-length(uuid())", 36.0),
    ("jr:choice-name(${yes_no}, '${yes_no}')", "Yes!"),
    ("starts-with(${name}, 'Sa') and ends-with(${name}, 'ma')", True),
    ("normalize-space('  a   b ')", "a b"),
    ("translate('abc', 'ab', 'AB')", "ABc"),
    ("join(', ', ${ages})", "4, 9, , 2"),
    ("${ages} = 9", True),  # a node-set equals a value if any item does
    ("regex(${age}, '^[0-9]+$')", True),
    ("pow(2, 10)", 1024.0),
    ("../age + 1", 26.0),
    ("/data/household/age * 2", 50.0),
]


@pytest.mark.parametrize(("source", "expected"), ODK_FUNCTIONS)
def test_odk_functions(source: str, expected: object) -> None:
    value = evaluate(source, odk_env())
    if isinstance(expected, float) and math.isnan(expected):
        assert isinstance(value, float) and math.isnan(value)
    else:
        assert value == expected


def test_choice_filters_read_bare_names_as_choice_columns() -> None:
    env = Environment({"gov": "bgd"}, field=lambda column: {"parent": "bgd"}.get(column, ""))
    assert holds("parent = ${gov}", env, fields=True)
    with pytest.raises(ExpressionError):
        parse("parent = ${gov}")  # outside a choice filter a bare name is an error


def test_instance_lookups_read_a_choice_list() -> None:
    items = [{"name": "a", "price": "3"}, {"name": "b", "price": "5"}]
    env = Environment({"item": "b"}, items=lambda _list: items)
    assert evaluate("instance('prices')/root/item[name = ${item}]/price * 2", env) == 10.0


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(-500, 500), max_size=8))
def test_sum_count_and_extremes_over_repeats_follow_python(values: list[int]) -> None:
    nodes = NodeSet(str(v) for v in values)
    env = Environment({}, lookup=lambda _name, _every: nodes)
    assert evaluate("sum(${x})", env) == float(sum(values))
    assert evaluate("count(${x})", env) == float(len(values))
    if values:
        assert evaluate("max(${x})", env) == float(max(values))
        assert evaluate("min(${x})", env) == float(min(values))
        assert evaluate("indexed-repeat(${x}, ${r}, 1)", env) == str(values[0])


@settings(max_examples=200, deadline=None)
@given(day=st.dates(date(1950, 1, 1), date(2049, 12, 31)), shift=st.integers(-4000, 4000))
def test_date_arithmetic_counts_days(day: date, shift: int) -> None:
    env = Environment({"d": day.isoformat()})
    expected = date.fromordinal(day.toordinal() + shift)
    assert evaluate(f"date(${{d}} + {shift})", env) == expected
    assert evaluate(f"date(${{d}} + {shift}) - ${{d}}", env) == float(shift)
    assert evaluate("format-date(${d}, '%Y-%m-%d')", env) == day.isoformat()
