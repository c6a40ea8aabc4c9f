"""hubcli/cli/pretty.py: the layout against the standard library's, the colours
against jq's scheme, and the choice of style against the flags and environment."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubcli.cli.pretty import Style, choose_style, render, render_json
from hubcli.protocol import jsonvalues

ANSI = re.compile(r"\x1b\[[0-9;]*m")


# Every JSON value: strings with quotes, backslashes, control characters, any
# code point (lone surrogates included, which JSON carries as \u escapes),
# integers of any size.
def _values(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=20,
    )


# Floats apart: orjson and the standard library spell some differently (1e-05).
exact_values = _values(st.none() | st.booleans() | st.integers() | st.text())
json_values = _values(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)


def _compact(value: Any) -> bytes:
    return jsonvalues.dumps(value)


@settings(max_examples=400, deadline=None)
@given(exact_values)
def test_pretty_is_the_standard_indented_layout(value: Any) -> None:
    shown = render_json(_compact(value), pretty=True, color=False).decode("utf-8")
    # The standard library's indent=2 is jq's layout: ": " after a key, "[]" and
    # "{}" for empty containers.
    assert shown == json.dumps(value, indent=2, ensure_ascii=False)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_pretty_json_reads_back_as_the_same_value(value: Any) -> None:
    compact = _compact(value)
    shown = render_json(compact, pretty=True, color=False)
    assert json.loads(shown) == json.loads(compact)


@settings(max_examples=400, deadline=None)
@given(json_values, st.booleans())
def test_colour_only_adds_escape_sequences(value: Any, pretty: bool) -> None:
    compact = _compact(value)
    coloured = render_json(compact, pretty=pretty, color=True)
    plain = render_json(compact, pretty=pretty, color=False)
    assert ANSI.sub("", coloured.decode("utf-8")) == plain.decode("utf-8")
    if not pretty:
        assert plain == compact


def test_colours_are_jqs() -> None:
    text = render({"k": [None, True, False, 1.5, "s", {}, []]}, pretty=False, color=True)
    bold, key = "\x1b[1;39m", "\x1b[34;1m"
    reset = "\x1b[0m"
    assert text == (
        f'{bold}{{{reset}{key}"k"{reset}{bold}:{reset}{bold}[{reset}'
        f"\x1b[0;90mnull{reset}{bold},{reset}\x1b[0;39mtrue{reset}{bold},{reset}"
        f"\x1b[0;39mfalse{reset}{bold},{reset}\x1b[0;39m1.5{reset}{bold},{reset}"
        f'\x1b[0;32m"s"{reset}{bold},{reset}{bold}{{}}{reset}{bold},{reset}'
        f"{bold}[]{reset}{bold}]{reset}{bold}}}{reset}"
    )


def test_a_string_value_that_follows_a_key_is_not_a_key() -> None:
    text = render({"a": "b", "c": ["d", {"e": "f"}]}, pretty=False, color=True)
    keys = re.findall(r"\x1b\[34;1m(.*?)\x1b", text)
    strings = re.findall(r"\x1b\[0;32m(.*?)\x1b", text)
    assert keys == ['"a"', '"c"', '"e"']
    assert strings == ['"b"', '"d"', '"f"']


def test_escapes_and_punctuation_inside_strings_stay_in_the_string() -> None:
    value = {'{"x": [1,2]}': 'a\\"b,c:d]\n\u00e9\U0001f600', "\\": "\\"}
    shown = render(value, pretty=True, color=False)
    assert json.loads(shown) == value
    assert shown.count("\n") == 3  # two members: one line each, between the braces


def test_values_beyond_orjson_render_exactly() -> None:
    big = 2**70
    assert render([big], pretty=True, color=False) == f"[\n  {big}\n]"
    assert json.loads(render(["\ud800"], pretty=True, color=False)) == ["\ud800"]
    assert render(b"\x00\xff", pretty=True, color=False) == '"AP8="'


@pytest.mark.parametrize(
    ("pretty", "color", "isatty", "environ", "expected"),
    [
        (None, None, True, {}, Style(pretty=True, color=True)),
        (None, None, False, {}, Style()),
        (False, None, True, {}, Style(pretty=False, color=True)),
        (True, None, False, {}, Style(pretty=True, color=False)),
        (None, None, True, {"NO_COLOR": "1"}, Style(pretty=True, color=False)),
        (None, None, True, {"NO_COLOR": ""}, Style(pretty=True, color=True)),
        (None, None, True, {"TERM": "dumb"}, Style(pretty=True, color=False)),
        # Often set for a whole CI job: colour in piped JSON would break its readers.
        (None, None, False, {"FORCE_COLOR": "1"}, Style()),
        (None, True, False, {"NO_COLOR": "1"}, Style(pretty=False, color=True)),
        (None, False, True, {"FORCE_COLOR": "1"}, Style(pretty=True, color=False)),
    ],
)
def test_choose_style(
    pretty: bool | None,
    color: bool | None,
    isatty: bool,
    environ: dict[str, str],
    expected: Style,
) -> None:
    assert choose_style(pretty=pretty, color=color, isatty=isatty, environ=environ) == expected
