"""The receiver's webhook secrets: one JSON file, mode 0600, several secrets per endpoint.

``csvscore webhook create`` writes the secret TitanX shows once straight into this file, never to
the terminal. The running receiver notices the change (it checks the file's modification time
on each delivery), so rotation is: create the new subscription, let both secrets verify for a
while, then ``csvscore receiver secret remove``. Secrets are never printed: listings show a
fingerprint.

Endpoint ``default`` is ``POST /hooks/titanx``; any other name is ``/hooks/titanx/NAME`` (one
subscription per TitanX user of a team). A file holding one bare line instead of JSON (a Docker
secret, a systemd credential) is read as the ``default`` endpoint's only secret.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from csvscore.api.webhooks import fingerprint
from csvscore.errors import ConfigError
from csvscore.user.paths import atomic_write_text, utc_now_iso

DEFAULT_ENDPOINT = "default"
ENDPOINT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_endpoint(name: str) -> str:
    """``name`` if it can be an endpoint (lowercase letters, digits, - and _), else ConfigError."""
    if not ENDPOINT_NAME.match(name or ""):
        raise ConfigError(
            f"endpoint name {name!r} is not usable: use lowercase letters, digits, '-' and '_' "
            "(at most 63)"
        )
    return name


@dataclass(frozen=True)
class SecretInfo:
    """What may be shown of a secret: never the secret."""

    endpoint: str
    fingerprint: str
    webhook_id: str | None
    added_at: str | None
    note: str | None


class SecretFile:
    """The secrets file at ``path`` (which may not exist yet: then no endpoint has a secret)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._data: dict[str, list[dict[str, Any]]] = {}

    def _read(self) -> dict[str, list[dict[str, Any]]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"cannot read the secrets file {self.path}: {exc.strerror}") from exc
        stripped = text.strip()
        if not stripped:
            return {}
        if not stripped.startswith("{"):
            line = stripped.splitlines()[0].strip()
            return {DEFAULT_ENDPOINT: [{"secret": line, "note": "single-secret file"}]}
        try:
            data = json.loads(stripped)
            endpoints = data["endpoints"]
            if not isinstance(endpoints, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            # Never quote the file: it holds secrets.
            raise ConfigError(
                f"the secrets file {self.path} is not a csvscore secrets file"
            ) from None
        out: dict[str, list[dict[str, Any]]] = {}
        for name, items in endpoints.items():
            if isinstance(items, list):
                out[str(name)] = [i for i in items if isinstance(i, dict) and i.get("secret")]
        return out

    def _current(self) -> dict[str, list[dict[str, Any]]]:
        try:
            st = os.stat(self.path)
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp != self._stamp or stamp is None:
                self._data = self._read()
                self._stamp = stamp
            return self._data

    def secrets_for(self, endpoint: str) -> list[str]:
        """The secrets an endpoint's deliveries may be signed with (newest first)."""
        return [str(i["secret"]) for i in reversed(self._current().get(endpoint, []))]

    def endpoints(self) -> list[SecretInfo]:
        return [
            SecretInfo(
                endpoint=name,
                fingerprint=fingerprint(str(i["secret"])),
                webhook_id=i.get("webhook_id"),
                added_at=i.get("added_at"),
                note=i.get("note"),
            )
            for name, items in sorted(self._current().items())
            for i in items
        ]

    def has_any(self) -> bool:
        return any(self._current().values())

    def _write(self, data: dict[str, list[dict[str, Any]]]) -> None:
        text = json.dumps({"csvscore_secrets": 1, "endpoints": data}, indent=2) + "\n"
        atomic_write_text(self.path, text, mode=0o600)

    def add(
        self, endpoint: str, secret: str, *, webhook_id: str | None = None, note: str | None = None
    ) -> SecretInfo:
        """Add ``secret`` to ``endpoint`` (kept with the older ones until removed)."""
        check_endpoint(endpoint)
        secret = secret.strip()
        if not secret or any(ch.isspace() for ch in secret):
            raise ConfigError("the webhook secret is empty or has spaces in it; nothing stored")
        with self._lock:
            data = self._read()
            items = data.setdefault(endpoint, [])
            if not any(i.get("secret") == secret for i in items):
                items.append(
                    {
                        "secret": secret,
                        "webhook_id": webhook_id,
                        "added_at": utc_now_iso(),
                        "note": note,
                    }
                )
            self._write(data)
            self._stamp = None
        return SecretInfo(endpoint, fingerprint(secret), webhook_id, utc_now_iso(), note)

    def remove(self, endpoint: str, fingerprint_prefix: str) -> int:
        """Remove the secrets of ``endpoint`` whose fingerprint starts with the prefix."""
        if len(fingerprint_prefix) < 4:
            raise ConfigError("give at least 4 characters of the secret's fingerprint")
        with self._lock:
            data = self._read()
            items = data.get(endpoint, [])
            kept = [
                i for i in items if not fingerprint(str(i["secret"])).startswith(fingerprint_prefix)
            ]
            removed = len(items) - len(kept)
            if removed:
                data[endpoint] = kept
                self._write(data)
                self._stamp = None
        return removed
