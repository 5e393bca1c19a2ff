"""How the service is shipped and run outside a laptop."""

from ..model import Axis, Choice

COMPOSE = Choice(
    value="compose",
    label="Docker Compose",
    description="A multi-stage Dockerfile and a compose.yaml with the backing services.",
    files=("compose.yaml",),
    readme="template/.readme/compose.md.jinja",
    docs=(
        "`docker compose up --build` builds the image (multi-stage, uv, non-root, with a "
        "HEALTHCHECK) and starts it beside the backing services it needs."
    ),
)

DEPLOYMENT = Axis(
    name="deployment",
    question="How will the service be deployed?",
    choices=(COMPOSE,),
    default=("compose",),
)
