"""Domain exceptions: what went wrong, in the service's words.

Plain Python on purpose: services raise these without knowing about HTTP, and
`taskhub.http.errors` is the one place that turns each into a status code and body.
"""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """Missing, or not visible to the caller (the two must look alike)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")


class Unauthorized(DomainError):
    """No valid credentials."""


class Forbidden(DomainError):
    """Visible to the caller, who may not do this to it."""


class Conflict(DomainError):
    """Contradicts the current state (a duplicate, the last owner leaving)."""


class PreconditionFailed(DomainError):
    """The caller's view of the row is out of date (If-Match)."""


class Invalid(DomainError):
    """A rule the schema cannot express (a cycle, a foreign parent)."""

    def __init__(self, detail: str, loc: tuple[str, ...] = ("body",)) -> None:
        super().__init__(detail)
        self.loc = loc


class RateLimited(DomainError):
    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many requests; retry later")
        self.retry_after = max(1, retry_after)
