"""Planner failures: each message says what went wrong and never carries a credential."""

from __future__ import annotations

from collections.abc import Sequence

from learning_loop.planner.models import Violation


class PlannerError(Exception):
    """Base of every expected planner failure; field names the input at fault, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class PlanRequestError(PlannerError, ValueError):
    """The idea, recipe, target duration or backend name cannot make a plan."""


class PlannerConfigError(PlannerError):
    """A backend is missing a setting or has a malformed one (e.g. an environment variable)."""


class PlannerBackendError(PlannerError):
    """The backend could not produce an answer: HTTP errors, malformed responses.

    `retry_later` is true when the job asked about is not at fault: the endpoint could not be
    reached or kept failing after the retries, or refused the credentials. Planning it again
    later may succeed without any change to the job.
    """

    def __init__(self, message: str, field: str | None = None, retry_later: bool = False) -> None:
        super().__init__(message, field)
        self.retry_later = retry_later


class PlannerTimeoutError(PlannerBackendError):
    """The backend did not answer in time, after the bounded retries."""


class PlanValidationError(PlannerError):
    """A plan broke the recipe's rules; violations lists every broken rule by name."""

    def __init__(
        self, violations: Sequence[Violation], attempts: int = 1, backend: str | None = None
    ) -> None:
        self.violations = list(violations)
        self.attempts = attempts
        who = f"the {backend} backend's plan" if backend else "the plan"
        after = f" after {attempts} attempt(s)" if attempts > 1 else ""
        shown = "; ".join(str(v) for v in self.violations[:10])
        more = f"; and {len(self.violations) - 10} more" if len(self.violations) > 10 else ""
        super().__init__(
            f"{who} breaks {len(self.violations)} rule(s){after}: {shown}{more}", "plan"
        )
