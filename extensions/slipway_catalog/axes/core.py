"""What every generated service gets, whatever the answers."""

from ..model import Choice, Middleware, Resource, Router, Setting, SettingsGroup

CORE = Choice(
    value="core",
    label="Core",
    description=(
        "FastAPI on uvicorn, settings, JSON logs, errors, health, middleware and signed "
        "outbound webhooks."
    ),
    dependencies=(
        "fastapi>=0.128",
        "uvicorn[standard]>=0.34",
        "uvloop>=0.21; sys_platform != 'win32'",
        "pydantic>=2.10",
        "pydantic-settings>=2.7",
        "structlog>=25.5",
        "orjson>=3.10",
        "httpx>=0.28",
    ),
    dev_dependencies=(
        "pytest>=8.3",
        "pytest-asyncio>=0.25",
        "asgi-lifespan>=2.1",
        "mypy>=1.14",
        "ruff>=0.9",
        "black>=25.1",
    ),
    settings=(
        SettingsGroup(
            name="server",
            class_name="ServerSettings",
            description="Where and how uvicorn serves.",
            fields=(
                Setting("host", "str", '"127.0.0.1"', "Interface to bind; 0.0.0.0 in a container."),
                Setting("port", "int", "8000", "TCP port to listen on."),
                Setting(
                    "graceful_timeout_seconds",
                    "float",
                    "20.0",
                    "How long SIGTERM waits for in-flight requests before closing.",
                ),
            ),
        ),
        SettingsGroup(
            name="http",
            class_name="HttpSettings",
            description="Edge policy: CORS, body size and rate limits.",
            fields=(
                Setting(
                    "cors_origins",
                    "list[str]",
                    "[]",
                    "Origins allowed to call the API from a browser (JSON list).",
                    example='["http://localhost:3000"]',
                ),
                Setting("max_body_bytes", "int", "1_048_576", "Larger request bodies get 413."),
                Setting(
                    "rate_limit_per_second",
                    "PositiveFloat",
                    "20.0",
                    "Sustained requests per client (above 0).",
                    imports=("from pydantic import PositiveFloat",),
                ),
                Setting(
                    "rate_limit_burst",
                    "PositiveInt",
                    "40",
                    "Requests a client may burst above the rate (at least 1).",
                    imports=("from pydantic import PositiveInt",),
                ),
            ),
        ),
        SettingsGroup(
            name="logging",
            class_name="LoggingSettings",
            description="Structured logs: JSON lines, or a console view on a terminal.",
            fields=(
                Setting(
                    "level",
                    'Literal["DEBUG", "INFO", "WARNING", "ERROR"]',
                    '"INFO"',
                    "Lowest level written.",
                ),
                Setting(
                    "format",
                    'Literal["auto", "json", "console"]',
                    '"auto"',
                    "auto: console on a terminal, JSON otherwise.",
                ),
            ),
        ),
        SettingsGroup(
            name="webhooks",
            class_name="WebhooksSettings",
            description="Outbound webhooks, signed as Standard Webhooks (standardwebhooks.com).",
            fields=(
                Setting(
                    "url",
                    "HttpUrl | None",
                    "None",
                    "Where events are POSTed; unset: they are written to the log as audit "
                    "records instead.",
                    example="",
                    imports=("from pydantic import HttpUrl",),
                ),
                Setting(
                    "secret",
                    "SecretStr",
                    "SecretStr(DEVELOPMENT_SECRET)",
                    "HMAC key receivers verify deliveries with; at least 64 random characters "
                    "in production.",
                    secret=True,
                    example="",
                    imports=("from pydantic import SecretStr",),
                ),
                Setting(
                    "timeout_seconds",
                    "float",
                    "5.0",
                    "How long a delivery may take, connecting included; a slower one is retried.",
                ),
            ),
        ),
    ),
    resources=(
        Resource(
            name="webhooks",
            module=".adapters.webhooks",
            opener="open_webhooks",
            type_module=".adapters.webhooks",
            type_name="WebhookSender",
        ),
    ),
    routers=(Router(".api.health"), Router(".api.items")),
    endpoints=(
        ("/docs", "the interactive API documentation (the schema is at `/openapi.json`)"),
        ("/health/live", "the process is up"),
        ("/health/ready", "the backing services answer too (503 until they do)"),
    ),
    middleware=(
        Middleware(".api.middleware", "ErrorCatcherMiddleware", 0),
        Middleware(".api.middleware", "RequestIdMiddleware", 10),
        Middleware(".api.middleware", "AccessLogMiddleware", 20),
        Middleware(
            ".api.middleware",
            "CORSMiddleware",
            30,
            options=(
                "allow_origins=settings.http.cors_origins",
                'allow_methods=["*"]',
                'allow_headers=["*"]',
                'expose_headers=["ETag", "X-Request-ID", "Retry-After"]',
            ),
        ),
        Middleware(".api.middleware", "SecurityHeadersMiddleware", 40),
        Middleware(
            ".api.middleware",
            "BodySizeLimitMiddleware",
            50,
            options=("max_body_bytes=settings.http.max_body_bytes",),
        ),
        Middleware(".api.middleware", "RateLimitMiddleware", 60),
    ),
)
