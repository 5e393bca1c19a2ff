"""The Python the service runs on, everywhere: uv, the Dockerfile and CI."""

from ..model import Axis, Choice


def _python(version: str) -> Choice:
    return Choice(
        value=version,
        label=f"Python {version}",
        description=f"CPython {version}, for uv, the container image and CI alike.",
        docs=(
            f"The service runs on CPython {version}: `.python-version` pins it for uv, "
            "and the Dockerfile's base image and the CI job use it too."
        ),
    )


PYTHON_VERSION = Axis(
    name="python_version",
    question="Which Python version does the service run on?",
    choices=(_python("3.11"), _python("3.12"), _python("3.13")),
    default=("3.12",),
)
"""Oldest first. Copier offers the Python running it when that is one of these (the
interpreter surely installed), else this default; the templates read the answer."""
