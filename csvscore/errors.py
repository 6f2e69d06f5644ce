"""Typed errors and the exit codes they become at the CLI edge.

Library code raises these; only the CLI (:mod:`csvscore.cli.app`) turns them into a one-line
``Error: ...`` message and an exit code, so the library stays usable on its own. Every error
carries its exit code; a message says what happened and what to do next.

The whole tree (``api.errors`` adds the outcomes of one API call beside it)::

    CsvscoreError                 exit 1 (a bug, unless a subclass says otherwise)
    +-- InputError                2  the input file cannot be read as a contact table
    +-- MappingError              2  a mapping file or override is unusable; a required field
    |                                has no column
    +-- UsageError                2  options that do not make sense together
    +-- ConfigError               2  the user's own configuration is unusable
    |   +-- StateError           11  csvscore's state folder (journals, ledger) is unusable
    +-- OutputError               2  the result cannot be written (checked before sending)
    +-- AuthError                 3  no API key, or TitanX refused it
    +-- CreditsError              4  the account ran out of credits
    +-- ApiError                  6  TitanX answered with an error csvscore cannot act on
    +-- NetworkError              7  TitanX could not be reached
    +-- Cancelled                 8  the user declined at the review; nothing was sent
    +-- BusyError                 9  the same file is being scored in another window
    +-- NotSavedError            10  contacts were sent, but the result could not be saved
    |   +-- api.errors.BatchRefused        TitanX refused one batch (nothing charged)
    |   +-- api.errors.RateLimited         still rate limited after the retries
    |   +-- api.errors.UnexpectedResponse  an answer csvscore cannot use (wrong address...)
    |       +-- api.errors.JobNotFound     GET /jobs/{id} answered 404
    +-- api.errors.OutcomeUnknown 5  the request may or may not have been processed (and charged)
    +-- api.receiver.ReceiverError 12 the score receiver is missing, unreachable, refuses a token

    Exit code 13 is no error: `csvscore results` (and `score --wait-scores`) say with it that
    some scores are still to come.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented process exit codes (README, "Exit codes")."""

    OK = 0  # every row has a final status
    ERROR = 1  # unexpected internal error (a bug): shown with --debug
    BAD_INPUT = 2  # unreadable file, bad mapping file, bad option, nothing to map, no place to save
    AUTH = 3  # API key missing or refused
    CREDITS = 4  # ran out of credits; the rows left are `not sent`
    UNCONFIRMED = 5  # some rows' outcome is unknown: drop the same file again later
    FAILED = 6  # some batches failed (server refused them); see the Rejected sheet
    NETWORK = 7  # the API could not be reached at all
    CANCELLED = 8  # the user declined at the review; nothing was sent
    BUSY = 9  # the same file (or the same contacts) is being sent by another run; nothing sent
    NOT_SAVED = 10  # contacts were sent, but the result could not be saved where asked
    STATE = 11  # csvscore's state folder (journals, ledger) is unusable; nothing was sent
    RECEIVER = 12  # the score receiver is not configured, unreachable, or refused the token
    PENDING = 13  # scores of some accepted rows have not arrived yet (csvscore results)
    INTERRUPTED = 130  # Ctrl-C


# What each exit code means, in one short line: the one table the command's help (every
# command's epilog) and the README's "Exit codes" are made from or checked against.
EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "every row has a final status (accepted, rejected, skipped or duplicate)",
    ExitCode.ERROR: "unexpected internal error (a bug; `--debug` shows the traceback)",
    ExitCode.BAD_INPUT: "bad input: unreadable file, bad mapping file, bad option, no column for "
    "a required field, or a result that cannot be saved where asked (found before sending; "
    "nothing was sent)",
    ExitCode.AUTH: "the API key is missing or was refused",
    ExitCode.CREDITS: "credits ran out; the rows not sent yet are `not sent`",
    ExitCode.UNCONFIRMED: "some rows are `unconfirmed` (outcome unknown; drop the same file again "
    "later)",
    ExitCode.FAILED: "some batches failed (the server refused them), or some rows were not sent: "
    "the run stopped on TitanX's answer (a wrong API address, a rate limit that resets in more "
    "than 5 minutes)",
    ExitCode.NETWORK: "TitanX could not be reached",
    ExitCode.CANCELLED: "you declined at the review; nothing was sent",
    ExitCode.BUSY: "the same file is being scored in another window; nothing was sent from this "
    "one",
    ExitCode.NOT_SAVED: "contacts were sent, but the result could not be saved; run the same "
    "command again to write it",
    ExitCode.STATE: "csvscore's state folder (journals, ledger) cannot be used; nothing was sent",
    ExitCode.RECEIVER: "the score receiver is not set up, cannot be reached, or refused your read "
    "token",
    ExitCode.PENDING: "some accepted rows' scores have not arrived yet (`pending`); run the same "
    "command again later",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C, SIGTERM, or the terminal window closed); run the "
    "same command again to resume",
}


class CsvscoreError(Exception):
    """Base of every error csvscore reports to a user as one line."""

    exit_code: ExitCode = ExitCode.ERROR
    # How the CLI starts the line. Not every stop is an error: saying no at the review, or a
    # file already being scored in another window, is said plainly.
    prefix: str = "Error: "

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
    prefix = ""


class ConfigError(CsvscoreError):
    """The user's configuration (stored key, remembered mappings) is unusable."""

    exit_code = ExitCode.BAD_INPUT


class OutputError(CsvscoreError):
    """The result file cannot be written (folder missing, no permission, file open in Excel)."""

    exit_code = ExitCode.BAD_INPUT


class StateError(ConfigError):
    """csvscore's own state folder (journals, the ledger) is full, unreadable or corrupt."""

    exit_code = ExitCode.STATE


class BusyError(CsvscoreError):
    """The same input is being sent by another run right now. Nothing was sent from this one."""

    exit_code = ExitCode.BUSY
    prefix = ""


class NotSavedError(CsvscoreError):
    """Contacts were sent (and maybe charged), but the result could not be saved anywhere.

    The message starts with the money. The journal has everything: running the same command
    again writes the result without sending anything.
    """

    exit_code = ExitCode.NOT_SAVED
