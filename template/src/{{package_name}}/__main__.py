"""Command line: ``python -m <package> [serve|migrate] [--server.port 9000 ...]``.

Flags override environment variables, which override ``.env``, which overrides the
defaults in ``settings.py``.
"""

import asyncio
import signal
import sys
from collections.abc import Sequence
from types import FrameType

import uvicorn
from pydantic import ValidationError

from .adapters.database import UNAVAILABLE_ERRORS, migrate, migrates_on_start
from .adapters.migration_branches import UnknownRevisionError
from .app import create_app
from .observability.logging import configure_logging
from .settings import ENV_PREFIX, Settings

COMMANDS = ("serve", "migrate")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args and not args[0].startswith("-") else "serve"
    if command not in COMMANDS:
        print(f"unknown command {command!r}; use one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        settings = Settings(_cli_parse_args=args, _cli_prog_name=f"python -m {__package__}")
    except ValidationError as error:
        print(describe_invalid_settings(error), file=sys.stderr)
        return 2
    configure_logging(settings.logging, cache_loggers=settings.environment != "test")
    migrated = False
    if command == "migrate" or migrates_on_start(settings):
        # Before the port opens: a refused migration is one line, not a lifespan traceback.
        try:
            asyncio.run(migrate(settings.database))
            migrated = True
        except UnknownRevisionError as refusal:
            print(refusal, file=sys.stderr)
            return 1
        except UNAVAILABLE_ERRORS as error:
            if command == "migrate":
                print(describe_unreachable_database(error), file=sys.stderr)
                return 1
            # Serve anyway: readiness answers 503, and migrates once the database answers.
    if command == "serve":
        serve(_without_start_migrations(settings) if migrated else settings)
    return 0


def describe_unreachable_database(error: Exception) -> str:
    reason = str(error).partition("\n")[0] or type(error).__name__
    return (
        f"The database cannot be reached ({reason}); start it, "
        f"or point {ENV_PREFIX}DATABASE__URL at it"
    )


def serve(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT: stop accepting, drain in-flight requests, close."""
    # uvicorn re-raises the stop signal once it has shut down gracefully; by then the
    # work is done, so the process reports a clean stop (exit 0) to its supervisor.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _exit_cleanly)
    server = settings.server
    uvicorn.run(
        create_app(settings),
        host=server.host,
        port=server.port,
        timeout_graceful_shutdown=int(server.graceful_timeout_seconds),
        log_config=None,
        access_log=False,
        server_header=False,
    )


def _without_start_migrations(settings: Settings) -> Settings:
    """``main`` has migrated already where configured: the lifespan need not again."""
    database = settings.database.model_copy(update={"migrate_on_start": False})
    return settings.model_copy(update={"database": database})


def _exit_cleanly(_signal: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def describe_invalid_settings(error: ValidationError) -> str:
    lines = ["Invalid settings; fix these environment variables (or .env entries):"]
    for problem in error.errors():
        location = "__".join(str(part) for part in problem["loc"]).upper()
        variable = f"{ENV_PREFIX}{location}" if location else "settings"
        lines.append(f"  {variable}: {problem['msg']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
