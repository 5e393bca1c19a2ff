"""Rendering is version-safe: each template version renders with its own catalog.

``copier update`` renders the old and the new version in one process. The catalog is
loaded by path for each version's Jinja environment, so rendering an older release
first must not change what the latest renders; and a name the catalog does not
provide fails the render instead of rendering as an empty string.
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import TemplateReleases, git, run_copier, text_files

pytestmark = pytest.mark.copier

RENDER_IN_ONE_PROCESS = textwrap.dedent("""
    import sys, warnings
    import copier

    warnings.simplefilter("ignore")
    template = sys.argv[1]
    for version, destination in zip(sys.argv[2::2], sys.argv[3::2]):
        copier.run_copy(
            template, destination, defaults=True, unsafe=True, vcs_ref=version, quiet=True,
            data={"python_version": "3.12"},
        )
    """)


def render_in_one_process(template: Path, *versions_and_destinations: Path | str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", RENDER_IN_ONE_PROCESS, str(template)]
        + [str(argument) for argument in versions_and_destinations],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def tree_differences(left: Path, right: Path) -> list[str]:
    def files(root: Path) -> set[str]:
        return {path.relative_to(root).as_posix() for path in text_files(root)}

    found = sorted(files(left) ^ files(right))
    found += [
        name
        for name in sorted(files(left) & files(right))
        if name != ".env" and not filecmp.cmp(left / name, right / name, shallow=False)
    ]
    return found


def test_an_older_version_rendered_first_does_not_leak_into_the_latest(
    template_releases: TemplateReleases, tmp_path: Path
) -> None:
    template = template_releases.path
    oldest, latest = template_releases.older[0], template_releases.latest
    render_in_one_process(template, oldest, tmp_path / "old", latest, tmp_path / "after-old")
    render_in_one_process(template, latest, tmp_path / "alone")
    assert not tree_differences(tmp_path / "after-old", tmp_path / "alone")


def test_a_name_the_catalog_lacks_fails_the_render(
    template_releases: TemplateReleases, tmp_path: Path
) -> None:
    template = tmp_path / "slipway"
    shutil.copytree(template_releases.path, template, symlinks=True)
    (template / "template" / "probe.txt.jinja").write_text("[{{ slipway.no_such_contribution }}]\n")
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "--message", "A template asking for too much")
    destination = tmp_path / "service"
    result = run_copier(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", str(template), str(destination)
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, "the render succeeded with a name the catalog lacks"
    assert "no_such_contribution" in output, output[-3000:]
    assert not (destination / "probe.txt").exists()
