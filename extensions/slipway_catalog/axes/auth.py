"""Who may call the API."""

from ..model import Axis, Choice, Contract, Router, Setting, SettingsGroup, Slot

NONE = Choice(
    value="none",
    label="None (every caller is anonymous)",
    description="No authentication: every request acts as one anonymous principal.",
    files=(
        "src/{package_name}/api/security.py",
        "tests/callers.py",
    ),
    docs=(
        "The API has no authentication: every request acts as the same anonymous "
        "principal, so every caller sees every item. Put the service behind a gateway "
        "that authenticates, or choose `auth=jwt`."
    ),
)

JWT = Choice(
    value="jwt",
    label="JWT bearer tokens (register, login, refresh)",
    description="Users with argon2id passwords; short-lived JWT access and rotating refresh tokens.",
    files=(
        "src/{package_name}/adapters/passwords.py",
        "src/{package_name}/adapters/tokens.py",
        "src/{package_name}/adapters/user_repository.py",
        "src/{package_name}/api/auth.py",
        "src/{package_name}/api/auth_dependencies.py",
        "src/{package_name}/api/security.py",
        "src/{package_name}/domain/ports/users.py",
        "src/{package_name}/domain/users.py",
        "tests/api/test_auth.py",
        "tests/unit/test_passwords.py",
        "tests/unit/test_tokens.py",
        "tests/unit/test_users.py",
        "tests/callers.py",
    ),
    dependencies=(
        "pyjwt>=2.10",
        "argon2-cffi>=23.1",
        "python-multipart>=0.0.18",
    ),
    settings=(
        SettingsGroup(
            name="auth",
            class_name="AuthSettings",
            description="JWT signing and verification.",
            fields=(
                Setting(
                    "jwt_secret",
                    "SecretStr",
                    "SecretStr(DEVELOPMENT_SECRET)",
                    "HMAC key for tokens; at least 64 random characters in production.",
                    secret=True,
                    example="",
                    imports=("from pydantic import SecretStr",),
                ),
                Setting(
                    "jwt_algorithm",
                    'Literal["HS256", "HS384", "HS512"]',
                    '"HS256"',
                    "Signing algorithm; tokens signed any other way are refused.",
                ),
                Setting(
                    "issuer", "str", '"{project_slug}"', "The `iss` claim issued and required."
                ),
                Setting(
                    "audience", "str", '"{project_slug}"', "The `aud` claim issued and required."
                ),
                Setting("access_token_ttl_seconds", "int", "900", "Access token lifetime."),
                Setting(
                    "refresh_token_ttl_seconds",
                    "int",
                    "14 * 24 * 3600",
                    "Refresh token lifetime.",
                    example="1209600",
                ),
                Setting("leeway_seconds", "int", "30", "Clock skew tolerated on exp/nbf/iat."),
                Setting(
                    "password_hash_time_cost",
                    "int",
                    "3",
                    "argon2id passes (RFC 9106 low-memory profile: 3).",
                ),
                Setting(
                    "password_hash_memory_kib",
                    "int",
                    "65_536",
                    "argon2id memory per hash in KiB (RFC 9106 low-memory profile: 64 MiB).",
                ),
                Setting(
                    "password_hash_parallelism",
                    "int",
                    "4",
                    "argon2id lanes (RFC 9106 low-memory profile: 4).",
                ),
            ),
        ),
    ),
    routers=(Router(".api.auth"),),
    migrations=("2026_11_23_0002_create_user_and_refresh_token.py",),
    migration_branch="auth_jwt",
    docs=(
        "Users register with an email and password (hashed with argon2id) and log in "
        "through the OAuth2 password flow at `POST /auth/token`, receiving a short-lived "
        "access token and a refresh token. `POST /auth/refresh` rotates the refresh "
        "token; presenting a used one revokes its whole family. Tokens are HMAC-signed "
        "JWTs (HS256 by default) whose `iss`, `aud`, `exp`, `nbf` and `iat` are checked."
    ),
)

AUTH = Axis(
    name="auth",
    question="How do callers authenticate?",
    choices=(NONE, JWT),
    default=("jwt",),
    contract=Contract(
        slots=(
            # Routes declare `principal: CurrentPrincipal` and `responses=AUTH_RESPONSES`.
            Slot("src/{package_name}/api/security.py", ("CurrentPrincipal", "AUTH_RESPONSES")),
            # Tests (the service's and the template's) become callers through these.
            Slot("tests/callers.py", ("new_caller", "SETTINGS_FOR_TESTS")),
        ),
    ),
)
