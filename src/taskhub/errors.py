"""Domain exceptions: what went wrong, in the service's words.

Plain Python on purpose: services raise these without importing any web framework.
Each kind names the status it stands for (`status_code`, a plain number), and
`taskhub.http.errors` is the one place that turns an exception into a response (body
shape, WWW-Authenticate, Retry-After).
"""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """Missing, or not visible to the caller (the two must look alike)."""

    status_code = 404

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")


class Unauthorized(DomainError):
    """No valid credentials."""

    status_code = 401


class Forbidden(DomainError):
    """Visible to the caller, who may not do this to it."""

    status_code = 403


class Conflict(DomainError):
    """Contradicts the current state (a duplicate, the last owner leaving)."""

    status_code = 409


class PreconditionFailed(DomainError):
    """The caller's view of the row is out of date (If-Match)."""

    status_code = 412


class Invalid(DomainError):
    """A rule the schema cannot express (a cycle, a foreign parent)."""

    status_code = 422

    def __init__(self, detail: str, loc: tuple[str, ...] = ("body",)) -> None:
        super().__init__(detail)
        self.loc = loc


class RateLimited(DomainError):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many requests; retry later")
        self.retry_after = max(1, retry_after)
