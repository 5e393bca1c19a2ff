"""Every tested combination renders, and reads as hand-written.

One render per matrix row (``rendered_row``), from the working tree. The checks are
on text: no Jinja left over, no blank-line runs, no trailing whitespace, one final
newline, no empty modules, Python that parses.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import RenderedProject, text_files

pytestmark = pytest.mark.copier

JINJA = re.compile(r"\{\{|\{%|\{#|%\}|#\}")
GITHUB_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
"""``${{ matrix.python }}`` in a GitHub workflow is GitHub's syntax, not Jinja residue."""
EMPTY_ALLOWED = frozenset({"__init__.py", "py.typed"})


def read_text(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def relative(project: RenderedProject, path: Path) -> str:
    return path.relative_to(project.path).as_posix()


def rendered_texts(project: RenderedProject) -> dict[str, str]:
    texts = {}
    for path in text_files(project.path):
        text = read_text(path)
        if text is not None:
            texts[relative(project, path)] = text
    assert texts, f"nothing rendered in {project.path}"
    return texts


def test_answers_are_recorded(rendered_row: RenderedProject) -> None:
    for name, value in rendered_row.row.answers.items():
        assert rendered_row.answers[name] == value, name


def test_no_jinja_residue(rendered_row: RenderedProject) -> None:
    problems = []
    for path in text_files(rendered_row.path):
        name = relative(rendered_row, path)
        if JINJA.search(name) or name.endswith(".jinja"):
            problems.append(f"{name}: template syntax in the file name")
    for name, text in rendered_texts(rendered_row).items():
        if name.startswith(".github/"):
            text = GITHUB_EXPRESSION.sub("", text)
        for number, line in enumerate(text.splitlines(), 1):
            if JINJA.search(line):
                problems.append(f"{name}:{number}: {line.strip()}")
    assert not problems, "Jinja left in the output:\n" + "\n".join(problems)


def test_blank_lines_whitespace_and_final_newline(rendered_row: RenderedProject) -> None:
    problems = []
    for name, text in rendered_texts(rendered_row).items():
        if not text:
            if Path(name).name not in EMPTY_ALLOWED:
                problems.append(f"{name}: empty")
            continue
        if "\r" in text:
            problems.append(f"{name}: carriage returns")
        if not text.endswith("\n"):
            problems.append(f"{name}: no newline at the end")
        elif text.endswith("\n\n"):
            problems.append(f"{name}: blank lines at the end")
        if text.startswith("\n"):
            problems.append(f"{name}: blank line at the start")
        # Python (and Alembic's script.py.mako, which writes Python) keeps PEP 8's two.
        allowed = 2 if ".py" in Path(name).suffixes else 1
        run = 0
        for number, line in enumerate(text.splitlines(), 1):
            if line != line.rstrip():
                problems.append(f"{name}:{number}: trailing whitespace")
            if line.strip():
                run = 0
                continue
            run += 1
            if run == allowed + 1:
                problems.append(f"{name}:{number}: {run} blank lines in a row (at most {allowed})")
    assert not problems, "\n".join(problems)


def test_python_modules_parse_and_are_not_empty(rendered_row: RenderedProject) -> None:
    problems = []
    for name, text in rendered_texts(rendered_row).items():
        if not name.endswith(".py"):
            continue
        try:
            tree = ast.parse(text, filename=name)
        except SyntaxError as error:
            problems.append(f"{name}:{error.lineno}: {error.msg}")
            continue
        if Path(name).name == "__init__.py":
            continue
        docstring = ast.get_docstring(tree)
        body = tree.body[1:] if docstring is not None else tree.body
        if not body:
            problems.append(f"{name}: no code (only __init__.py may be empty or just a docstring)")
    assert not problems, "\n".join(problems)


def test_the_package_is_where_the_answers_say(rendered_row: RenderedProject) -> None:
    package = rendered_row.path / "src" / rendered_row.package_name
    assert (package / "__init__.py").is_file()
    assert (package / "__main__.py").is_file()
    assert (rendered_row.path / "pyproject.toml").is_file()
