"""The documentation builds cleanly, and its generated regions are the catalog's.

``docs/hooks/catalog.py`` writes the slice reference, the matrix and the code quotes
into ``README.md`` and ``docs/*.md`` between ``<!-- slipway:... -->`` markers; every
region must be what it would write now. ``mkdocs build --strict`` runs as a user would
run it (this environment's MkDocs, the repository's ``mkdocs.yml``), so a broken link,
a missing snippet or a marker the hook cannot render fails here. The built questions
page must then list every axis and every choice of ``slipway_catalog.AXES``, and so
must the README's table of choices.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import slipway_catalog as catalog
from conftest import TEMPLATE_ROOT
from slipway_catalog.model import Axis, Choice, Setting, SettingsGroup

pytestmark = pytest.mark.xdist_group("docs")

HOOK = TEMPLATE_ROOT / "docs" / "hooks" / "catalog.py"
BUILD_TIMEOUT_SECONDS = 300


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once with ``mkdocs build --strict`` into a temporary directory."""
    destination = tmp_path_factory.mktemp("docs") / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(TEMPLATE_ROOT / "mkdocs.yml"),
            "--site-dir",
            str(destination),
        ],
        cwd=TEMPLATE_ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}{result.stderr}"
    return destination


def section(page: str, heading_id: str) -> str:
    """The HTML from the heading with ``heading_id`` up to the next heading of its level."""
    start = re.search(rf'<h(?P<level>[1-6]) id="{re.escape(heading_id)}"', page)
    assert start is not None, f"no heading #{heading_id}"
    end = re.compile(rf"<h[1-{start['level']}][ >]").search(page, start.end())
    return page[start.start() : end.start() if end else len(page)]


def code(text: str) -> str:
    return f"<code>{html.escape(text, quote=False)}</code>"


def test_the_docs_build_strictly(site: Path) -> None:
    pages = sorted(path.relative_to(site).as_posix() for path in site.rglob("index.html"))
    assert pages == [
        "adding-a-choice/index.html",
        "generated-service/index.html",
        "getting-started/index.html",
        "index.html",
        "questions/index.html",
        "testing/index.html",
        "updating/index.html",
    ]
    assert not list(site.rglob("*.py")), "the hook was published as a page asset"


def test_every_generated_region_is_current() -> None:
    hook = load_hook()
    stale = sorted(path.relative_to(TEMPLATE_ROOT).as_posix() for path in hook.stale())
    assert not stale, f"stale generated regions in {', '.join(stale)}; run `{hook.COMMAND}`"


def test_a_region_is_written_after_its_marker_and_rewritten_in_place() -> None:
    hook = load_hook()
    marker = "- The files:\n\n  <!-- slipway:owned cache=memory -->\n\nAfter.\n"
    written = hook.expand(marker, "page.md")
    owned = "\n".join(f"  - `{path}`" for path in hook.owned_files("cache", "memory"))
    assert written == (
        "- The files:\n\n  <!-- slipway:owned cache=memory -->\n\n"
        f"{owned}\n\n  <!-- /slipway:owned -->\n\nAfter.\n"
    )
    assert hook.expand(written, "page.md") == written
    stale = written.replace("  - `", "  - `old/", 1)
    assert stale != written
    assert hook.expand(stale, "page.md") == written
    assert "slipway:" not in hook.strip_markers(written)


def test_a_closing_marker_without_its_region_is_refused() -> None:
    hook = load_hook()
    with pytest.raises(hook.MarkerError, match="closes no region"):
        hook.expand("Text.\n\n<!-- /slipway:catalog -->\n", "page.md")


def test_no_marker_is_left_unrendered(site: Path) -> None:
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        for marker in ("<!-- slipway:", "<!-- /slipway:"):
            assert marker not in text, f"{page.relative_to(site)} still has a slipway marker"
        assert "--8&lt;--" not in text, f"{page.relative_to(site)} has a snippet line"


def test_the_catalog_table_lists_every_axis_and_choice(site: Path) -> None:
    page = (site / "questions" / "index.html").read_text(encoding="utf-8")
    at_a_glance = section(page, "every-choice-at-a-glance")
    axes = section(page, "the-slices")
    for axis in catalog.AXES:
        assert f'href="#axis-{axis.name}"' in axes, f"axis {axis.name} missing from the axes table"
        assert f'id="axis-{axis.name}"' in page, f"no section for axis {axis.name}"
        for choice in axis.choices:
            selector = f"{axis.name}={choice.value}"
            assert code(selector) in at_a_glance, f"{selector} missing from the catalog table"
            assert f'id="{axis.name}-{choice.value}"' in page, f"no section for {selector}"
            assert html.escape(choice.description, quote=False) in page


def test_every_copier_question_is_on_the_questions_page(site: Path) -> None:
    hook = load_hook()
    page = (site / "questions" / "index.html").read_text(encoding="utf-8")
    for question in hook.copier_questions():
        assert f'id="{question}"' in page or f'id="axis-{question}"' in page, question


def test_the_python_versions_on_the_questions_page_are_the_offered_ones(site: Path) -> None:
    page = (site / "questions" / "index.html").read_text(encoding="utf-8")
    python = section(page, "python_version")
    versions = catalog.PYTHON_VERSION
    offered = [version for version in versions.values if code(version) in python]
    assert offered == list(versions.values)
    assert f"else {code(versions.default[0])}" in python


def test_the_reference_follows_the_catalog_without_editing_the_docs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A choice added to the catalog shows up in the rendered tables by itself."""
    hook = load_hook()
    cache = catalog.axis("cache")
    valkey = Choice(
        "valkey",
        "Valkey",
        "A shared cache server.",
        dependencies=("valkey>=6.1",),
        settings=(
            SettingsGroup(
                "cache",
                "CacheSettings",
                "Cache-aside for reads.",
                (Setting("url", "str", '"valkey://127.0.0.1:6379/0"', "Where Valkey listens."),),
            ),
        ),
    )
    grown = Axis(cache.name, cache.question, (*cache.choices, valkey), cache.default)
    axes = tuple(grown if axis.name == "cache" else axis for axis in catalog.AXES)
    monkeypatch.setattr(catalog, "AXES", axes)
    monkeypatch.setattr(hook, "catalog", catalog)

    table = hook.render_catalog()
    assert "`cache=valkey`" in table
    assert "`valkey>=6.1`" in table
    assert "`MY_SERVICE_CACHE__URL`" in table
    assert "`valkey`" in hook.render_axes()
    assert "#### `cache=valkey`" in hook.render_choices()
    assert "`none`, `valkey`" in hook.render_summary()


def test_the_readme_lists_every_choice_and_default() -> None:
    """The README's table (a generated region) says what the catalog offers."""
    readme = (TEMPLATE_ROOT / "README.md").read_text(encoding="utf-8")
    rows = {
        match["axis"]: (re.findall(r"`([^`]+)`", match["choices"]), match["default"])
        for match in re.finditer(
            r"^\| `(?P<axis>\w+)` \| (?P<choices>[^|]+) \| (?P<default>[^|]+) \|$", readme, re.M
        )
    }
    for axis in catalog.AXES:
        assert axis.name in rows, f"the README's table has no row for {axis.name}"
        choices, default = rows[axis.name]
        assert choices == list(axis.values), f"{axis.name}: README says {choices}"
        assert re.findall(r"`([^`]+)`", default) == list(axis.default), f"{axis.name}: default"
    assert rows["python_version"][1].startswith("the Python running Copier, else ")


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("slipway_docs_hook", HOOK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    vars(module)["catalog"] = catalog  # what on_config sets when MkDocs runs the hook
    return module


def test_every_snippet_include_is_well_formed() -> None:
    """``--8<-- "PATH"`` exactly: a mangled marker renders as literal text, silently."""
    for page in [TEMPLATE_ROOT / "README.md", *sorted((TEMPLATE_ROOT / "docs").glob("*.md"))]:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if "--8" in line:
                assert re.fullmatch(r'\s*--8<-- "[^"]+"', line), f"{page.name}:{number}: {line}"
