"""Where the service's own checks run on every push."""

from ..model import Axis, Choice

GITHUB = Choice(
    value="github",
    label="GitHub Actions",
    description="A workflow that lints, type-checks and tests against real services.",
    files=(".github/workflows/ci.yml",),
    docs=(
        "`.github/workflows/ci.yml` runs ruff, black, mypy --strict and the test suite "
        "on every push and pull request, with the backing services it needs."
    ),
)

CI = Axis(
    name="ci",
    question="Which CI runs the service's checks?",
    choices=(GITHUB,),
    default=("github",),
)
