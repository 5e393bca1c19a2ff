"""An axis asked only after another answer (``Axis.when``), through the real ``copier``.

The catalog declares none yet, so a snapshot of the template gains two, declared and
asked the way a future slice would be: ``rollout``, asked only when ``deployment`` is
``compose`` (the only deployment offered, so always), and ``mesh``, asked only for a
deployment never offered (so never). Copier must record an answer only for a question
it asked, and an answer given for one it did not ask must neither break the render nor
contribute to the service.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import git, run_copier, snapshot_template

pytestmark = pytest.mark.copier

DEPENDENT_AXES = '''"""Axes asked only after another answer."""

from ..model import Axis, Choice, When

ROLLOUT = Axis(
    name="rollout",
    question="How are new versions rolled out?",
    choices=(
        Choice("rolling", "Rolling update", "Replace instances one at a time."),
        Choice("canary", "Canary release", "Send a share of traffic to the new version first."),
    ),
    default=("rolling",),
    when=(When("deployment", ("compose",)),),
)
MESH = Axis(
    name="mesh",
    question="Which service mesh carries the traffic?",
    choices=(Choice("istio", "Istio mesh", "Sidecar proxies."),),
    default=("istio",),
    when=(When("deployment", ("nomad",)),),
)
'''

JOINED = """
from .axes.dependent import MESH, ROLLOUT

AXES = (*AXES, ROLLOUT, MESH)

__all__ = ["""

QUESTION = """
{name}:
  type: str
  help: "{{{{ '{name}' | slice_question }}}}"
  when: "{{{{ '{name}' | slice_asked }}}}"
  choices: "{{{{ '{name}' | slice_choices }}}}"
  default: "{{{{ '{name}' | slice_default }}}}"
  validator: "{{{{ {name} | slice_problems('{name}') }}}}"
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot of the template whose catalog and questions have the two axes."""
    template = snapshot_template(tmp_path_factory.mktemp("template") / "slipway")
    package = template / "extensions" / "slipway_catalog"
    (package / "axes" / "dependent.py").write_text(DEPENDENT_AXES, encoding="utf-8")
    init = package / "__init__.py"
    text = init.read_text(encoding="utf-8")
    assert "\n__all__ = [" in text, "the catalog's __all__ moved: place the axes elsewhere"
    # Before the functions, whose defaults are the catalog's AXES.
    init.write_text(text.replace("\n__all__ = [", JOINED, 1), encoding="utf-8")
    questions = template / "copier.yml"
    asked = "".join(QUESTION.format(name=name) for name in ("rollout", "mesh"))
    questions.write_text(questions.read_text(encoding="utf-8") + asked, encoding="utf-8")
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "--message", "Two dependent axes")
    return template


def render(template: Path, destination: Path, *data: str) -> tuple[dict[str, object], str]:
    """The answers file and the README of a service copied with ``-d`` ``data``."""
    arguments = [argument for answer in data for argument in ("-d", answer)]
    result = run_copier(
        "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", *arguments,
        str(template), str(destination),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text(encoding="utf-8"))
    return answers, (destination / "README.md").read_text(encoding="utf-8")


def test_an_asked_axis_is_answered_with_its_default(template: Path, tmp_path: Path) -> None:
    answers, readme = render(template, tmp_path / "service")
    assert answers["rollout"] == "rolling"
    assert "mesh" not in answers, "an axis never asked was recorded"
    assert "### Rolling update" in readme, "the asked axis's choice does not contribute"
    assert "Istio" not in readme, "an axis never asked contributes"


def test_an_asked_axis_takes_the_answer_given(template: Path, tmp_path: Path) -> None:
    answers, readme = render(template, tmp_path / "service", "rollout=canary")
    assert answers["rollout"] == "canary"
    assert "### Canary release" in readme
    assert "Rolling update" not in readme


def test_an_answer_for_an_axis_not_asked_is_ignored(template: Path, tmp_path: Path) -> None:
    answers, readme = render(template, tmp_path / "service", "mesh=istio", "rollout=canary")
    assert "mesh" not in answers, "an answer to a question not asked was recorded"
    assert answers["rollout"] == "canary"
    assert "Istio" not in readme, "an axis not asked contributes"
