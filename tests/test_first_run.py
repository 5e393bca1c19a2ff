"""The README's first command, as written, on a machine with only its default Python.

A fresh clone of the template stands in for ``path/to/slipway``. The command runs in a
shell whose ``PATH`` holds a fresh virtual environment of the machine's default
``python3`` and the system directories, nothing else: no other interpreter, no
interpreter uv manages, and no downloads (``UV_PYTHON_DOWNLOADS=never``: the command
must not need one). It generates the default service, installs it and serves it;
the test waits for ``/health/ready`` and stops it with SIGTERM.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import GIT_IDENTITY, TEMPLATE_ROOT, TemplateReleases, free_port, run_copier
from slipway_catalog import PYTHON_VERSION

pytestmark = [pytest.mark.copier, pytest.mark.xdist_group("first-run")]

README = TEMPLATE_ROOT / "README.md"
SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")
READY_TIMEOUT_SECONDS = 600.0
PYTHON_SELECTION = (
    "PYENV",
    "UV_",
    "VIRTUAL_ENV",
    "CONDA",
    "PYTHONPATH",
    "PYTHONHOME",
    "MY_SERVICE_",
)
"""Variables that would point at another Python or project: none of the machine's own."""


def first_command() -> str:
    """The first shell command of the README: the one that generates and serves."""
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has no sh block"
    command: str = blocks[0].strip()
    assert "path/to/slipway" in command, command
    assert "copier copy" in command, command
    return command


def default_python3() -> tuple[str, str]:
    """The machine's ``python3`` (resolved through any shim) and its version."""
    python3 = shutil.which("python3")
    assert python3, "no python3 on PATH"
    resolved = subprocess.run(
        [python3, "-c", "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    executable, version = resolved.stdout.split()
    return executable, version


def machine_env(python3: str, tmp_path: Path) -> dict[str, str]:
    """``PATH``: a fresh venv of ``python3`` (where ``pip install uv`` lands) and the system."""
    environment = tmp_path / "python3-venv"
    subprocess.run([python3, "-m", "venv", str(environment)], check=True, timeout=120)
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(PYTHON_SELECTION) and key not in {"PATH", "VIRTUAL_ENV"}
    }
    return {
        **kept,
        **GIT_IDENTITY,
        "PATH": os.pathsep.join((str(environment / "bin"), *SYSTEM_PATH)),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PYTHON_INSTALL_DIR": str(tmp_path / "no-managed-pythons"),
        "UV_NO_PROGRESS": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "MY_SERVICE_SERVER__PORT": str(free_port()),
        "NO_COLOR": "1",
    }


def test_the_readme_first_command_serves_the_default_service(
    template_releases: TemplateReleases, tmp_path: Path
) -> None:
    python3, version = default_python3()
    command = first_command().replace("path/to/slipway", str(template_releases.path))
    env = machine_env(python3, tmp_path)
    workdir = tmp_path / "work"
    workdir.mkdir()
    log = tmp_path / "first-run.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{env['MY_SERVICE_SERVER__PORT']}/health/ready"
    try:
        status = wait_for(url, process)
        output = log.read_text(errors="replace")[-6000:]
        assert status == 200, f"{url} answered {status}\n{output}"
        service = workdir / "my-service"
        assert (service / ".python-version").read_text().strip() == version
        served_by = subprocess.run(
            [str(service / ".venv" / "bin" / "python"), "-c", "import sys; print(sys.version)"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert served_by.stdout.startswith(version + "."), served_by.stdout
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def wait_for(url: str, process: subprocess.Popen[bytes]) -> int | None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None
        try:
            return httpx.get(url, timeout=2.0).status_code
        except httpx.TransportError:
            time.sleep(0.5)
    return None


def test_make_install_names_the_python_to_install_when_it_is_absent(
    template_releases: TemplateReleases, tmp_path: Path
) -> None:
    python3, version = default_python3()
    absent = [
        offered
        for offered in PYTHON_VERSION.values
        if offered != version
        and not shutil.which(f"python{offered}", path=os.pathsep.join(SYSTEM_PATH))
    ]
    if not absent:
        pytest.skip("every offered Python is installed in the system directories")
    env = machine_env(python3, tmp_path)
    subprocess.run(["pip", "install", "--quiet", "uv"], env=env, check=True, timeout=300)
    service = tmp_path / "service"
    generated = run_copier(
        "copy", "--trust", "--defaults", "--data", f"python_version={absent[0]}",
        str(template_releases.path), str(service),
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    result = subprocess.run(
        ["make", "install"], cwd=service, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert any(
        f"Python {absent[0]} (.python-version) is not installed" in line
        and f"install Python {absent[0]}" in line
        for line in lines
    ), result.stderr
    assert "Traceback" not in result.stderr
