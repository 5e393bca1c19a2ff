"""Errors the domain raises; the API maps each kind to an HTTP status in one table."""


class DomainError(Exception):
    """Base of every expected failure; ``detail`` is safe to show to the caller."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFoundError(DomainError):
    """The thing does not exist, or the caller may not know it exists."""


class ConflictError(DomainError):
    """The request contradicts the current state (a duplicate, a reused key)."""


class AuthenticationError(DomainError):
    """The caller's credentials are missing, wrong or expired."""


class PermissionDeniedError(DomainError):
    """The caller is known but may not do this."""


class PreconditionFailedError(DomainError):
    """A conditional request's precondition (``If-Match``) does not hold."""


class UnavailableError(DomainError):
    """A backing service cannot answer now; the same request may succeed shortly."""
