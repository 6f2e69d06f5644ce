"""Typed errors and the exit codes they become at the CLI edge.

Library code raises these; only :mod:`csvscore.cli` turns them into a one-line
``Error: ...`` message and an exit code, so the library stays usable on its own.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented process exit codes (README, "Exit codes")."""

    OK = 0  # every row has a final status
    ERROR = 1  # unexpected internal error (a bug): shown with --debug
    BAD_INPUT = 2  # unreadable file, bad mapping file, bad option, nothing to map
    AUTH = 3  # API key missing or refused
    CREDITS = 4  # ran out of credits; remaining rows marked failed
    UNCONFIRMED = 5  # some batches' outcome is unknown: rerun with --retry-unconfirmed
    FAILED = 6  # some batches failed (server refused them); see the Rejected sheet
    NETWORK = 7  # the API could not be reached at all
    CANCELLED = 8  # the user declined at the review; nothing was sent
    INTERRUPTED = 130  # Ctrl-C


class CsvscoreError(Exception):
    """Base of every error csvscore reports to a user as one line."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(CsvscoreError):
    """The input file cannot be read as a contact table."""

    exit_code = ExitCode.BAD_INPUT


class MappingError(CsvscoreError):
    """A mapping file or override is invalid, or the mapping cannot be used."""

    exit_code = ExitCode.BAD_INPUT


class UsageError(CsvscoreError):
    """Options that do not make sense together."""

    exit_code = ExitCode.BAD_INPUT


class AuthError(CsvscoreError):
    """No API key, or TitanX refused it."""

    exit_code = ExitCode.AUTH


class CreditsError(CsvscoreError):
    """The account has run out of credits."""

    exit_code = ExitCode.CREDITS


class NetworkError(CsvscoreError):
    """TitanX could not be reached."""

    exit_code = ExitCode.NETWORK


class ApiError(CsvscoreError):
    """TitanX answered with an error csvscore cannot act on."""

    exit_code = ExitCode.FAILED


class Cancelled(CsvscoreError):
    """The user said no at the interactive review. Nothing was sent."""

    exit_code = ExitCode.CANCELLED


class ConfigError(CsvscoreError):
    """The user's configuration (stored key, remembered mappings) is unusable."""

    exit_code = ExitCode.BAD_INPUT


class OutputError(CsvscoreError):
    """The result file cannot be written (folder missing, no permission, file open in Excel)."""

    exit_code = ExitCode.BAD_INPUT
