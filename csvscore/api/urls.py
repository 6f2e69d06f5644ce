"""The API address: the key travels only over HTTPS, except to this computer; proxies likewise.

Every request carries the API key in its ``Authorization`` header, so a plain ``http://`` address
would send it in clear text to whoever is on the path: one mistyped letter in the TitanX URL is
enough. So ``http://`` is refused unless the host is this computer (127.0.0.0/8, ::1 or the name
``localhost``): the built-in sandbox and local test servers, where nothing leaves the machine.

Company PCs often set ``HTTPS_PROXY``/``HTTP_PROXY``: requests honours them, and TitanX is reached
through the proxy (an HTTPS proxy only sees ``CONNECT app.titanx.io:443``; the key stays inside
TLS). A loopback address is never sent to a proxy: the proxy cannot reach this computer's own
127.0.0.1 (it answered "connection refused" for the built-in sandbox), and the key would leave it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from csvscore.errors import ConfigError

DEFAULT_BASE_URL = "https://app.titanx.io/api/public/v2"
EXPECTED_SHAPE = "https://<host>/api/public/v2"

# Per-request proxy settings that switch every proxy off (requests keeps an explicit None over
# what the environment says, then drops it: the request goes direct).
NO_PROXY: dict[str, str | None] = {"http": None, "https": None, "all": None}


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is this computer: ``localhost``, 127.0.0.0/8 or ::1 (mapped too)."""
    if not host:
        return False
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def resolve_base_url(option: str | None, env: Mapping[str, str]) -> str:
    """The API address to use: the option, else ``TITANX_BASE_URL``, else TitanX's."""
    return option or env.get("TITANX_BASE_URL") or DEFAULT_BASE_URL


def check_base_url(url: str) -> str:
    """``url`` cleaned (no trailing slash), or ConfigError naming the problem in one line.

    The line shows the scheme and host only: a pasted URL may carry a key in its query.
    """
    text = url.strip()
    parts = urlsplit(text)
    where = f"{parts.scheme}://{parts.hostname}" if parts.scheme and parts.hostname else "it"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"The TitanX API address must start with https:// ({DEFAULT_BASE_URL}); "
            f"{where if where != 'it' else 'the one given'} does not."
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"Refusing to send the API key in clear text over http:// to {parts.hostname}: "
            f"the TitanX API address starts with https:// ({DEFAULT_BASE_URL}). Plain http:// "
            "is only allowed to this computer (localhost, 127.0.0.1, ::1)."
        )
    return text.rstrip("/")


def proxies_for(url: str) -> dict[str, str | None] | None:
    """Per-request proxies: none at all for a loopback address, else the environment's."""
    return NO_PROXY if is_loopback(urlsplit(url).hostname) else None
