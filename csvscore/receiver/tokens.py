"""Read tokens for the receiver's API: made here, shown once, kept only as a SHA-256."""

from __future__ import annotations

import re
import secrets

from csvscore.errors import ConfigError

PREFIX = "csr_"  # recognisable in a paste, and by secret scanners
TOKEN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def new_token() -> str:
    """A fresh 256-bit token."""
    return PREFIX + secrets.token_urlsafe(32)


def check_name(name: str) -> str:
    if not TOKEN_NAME.match(name or ""):
        raise ConfigError(
            f"token name {name!r} is not usable: letters, digits and . _ @ - (at most 64), "
            "e.g. the person's first name"
        )
    return name


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, or None."""
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
