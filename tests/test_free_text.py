"""The filters that render free text inert, on texts long and strange enough to wrap."""

from __future__ import annotations

import ast

import pytest

import context

TEXTS = [
    "Café\N{RIGHT SINGLE QUOTATION MARK}s API \N{EN DASH} fast " * 12,
    'Say "hi" to O\'Brien \\ back\\slash ' * 10,
    "\N{ROCKET} launch\tday\nnotes \x1b[0m " * 15,
    "word " * 60,
]


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("text", TEXTS)
def test_a_docstring_reads_back_as_the_text_and_fits_the_line(text: str) -> None:
    source = f'"""{context.py_docstring(text)}"""\n'
    docstring = ast.get_docstring(ast.parse(source))
    assert docstring is not None
    assert one_line(docstring) == one_line(text)
    assert max(len(line) for line in source.splitlines()) <= context.PYTHON_LINE_LENGTH


@pytest.mark.parametrize("text", TEXTS)
def test_an_argument_reads_back_as_the_text_and_fits_the_line(text: str) -> None:
    source = f"call(\n        {context.py_argument(text, 'description', 8)},\n)\n"
    (statement,) = ast.parse(source).body
    assert isinstance(statement, ast.Expr)
    assert isinstance(statement.value, ast.Call)
    (keyword,) = statement.value.keywords
    assert ast.literal_eval(keyword.value) == one_line(text)
    assert max(len(line) for line in source.splitlines()) <= context.PYTHON_LINE_LENGTH
