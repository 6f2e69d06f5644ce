"""The errors of a TitanX API call beyond the generic ones in :mod:`csvscore.errors`.

Kept apart from the client so that code which only handles the outcomes of a call (the
submit loop, the response parsing) can name them without the HTTP machinery.
:class:`OutcomeUnknown` is the one that matters most: the batch may have been charged.
"""

from __future__ import annotations

from csvscore.errors import ApiError, CsvscoreError, ExitCode


class OutcomeUnknown(CsvscoreError):
    """The batch may have been processed and charged, or not: it was NOT resent.

    Raised for a read timeout, a connection dropped after the body was sent, a 5xx that is not
    retried (500, 504...) or a 2xx that is not the expected JSON. ``detail`` says which;
    ``status`` is the HTTP status when there was one.
    """

    exit_code = ExitCode.UNCONFIRMED

    def __init__(self, detail: str, status: int | None = None, *, stops_run: bool = False) -> None:
        super().__init__(
            f"The outcome of the batch is unknown: {detail}. TitanX may have created a job and "
            "charged for it, so csvscore did not resend it."
        )
        self.detail = detail
        self.status = status
        # The answer was not TitanX's API at all (an HTML page): further batches would only
        # meet the same page, so the sending stops after this one.
        self.stops_run = stops_run


class BatchRefused(ApiError):
    """TitanX refused the batch (400, 413, 422...): nothing was created or charged.

    ``message`` is the server's own message; ``too_large`` is True for a 413 or a message
    about the 1000-record limit, so the caller can split the batch. ``str()`` is a full sentence.
    """

    def __init__(self, status: int, message: str, *, too_large: bool = False) -> None:
        super().__init__(f"TitanX refused the batch (HTTP {status}): {message}")
        self.sentence = f"TitanX refused the batch (HTTP {status}): {message}"
        self.message = message
        self.status = status
        self.too_large = too_large

    def __str__(self) -> str:
        return self.sentence


class RateLimited(ApiError):
    """Still rate limited after the retries, or told to wait longer than csvscore waits.

    Nothing was processed or charged. ``wait`` is the wait TitanX asked for, when known;
    ``until`` the Unix time the limit resets, when the wait was too long to make.
    """

    def __init__(self, message: str, wait: float | None = None, *, until: float | None = None):
        super().__init__(message)
        self.wait = wait
        self.until = until


class UnexpectedResponse(ApiError):
    """TitanX answered something csvscore cannot use (wrong endpoint, redirect, not JSON...)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class JobNotFound(UnexpectedResponse):
    """``GET /jobs/{jobId}`` answered 404."""
