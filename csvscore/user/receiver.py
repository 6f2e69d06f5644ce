"""Where scores come from: the receiver's URL and this person's read token, and the receiver's
own files on the host that runs it.

On an ops laptop (``csvscore receiver connect URL``): the URL goes into ``receiver.json`` in the
config directory; the token into the system keyring (service ``csvscore``, user name
``receiver-read-token``), or, with no usable keyring, into the same file with mode 0600. The
token is never printed or logged.

On the receiver host: the database URL is ``--db``, else ``CSVSCORE_RECEIVER_DB``, else a SQLite
file in the state directory; the webhook secrets file is ``--secrets``, else
``CSVSCORE_RECEIVER_SECRETS``, else ``receiver/secrets.json`` in the config directory.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from csvscore.errors import ConfigError
from csvscore.user.credentials import _keyring_label, _usable_keyring
from csvscore.user.paths import atomic_write_text, config_dir, display_path, state_dir

log = logging.getLogger(__name__)

ENV_RECEIVER_DB = "CSVSCORE_RECEIVER_DB"
ENV_RECEIVER_SECRETS = "CSVSCORE_RECEIVER_SECRETS"
ENV_RECEIVER_URL = "CSVSCORE_RECEIVER_URL"
ENV_RECEIVER_TOKEN = "CSVSCORE_RECEIVER_TOKEN"
KEYRING_USERNAME = "receiver-read-token"
LINK_FILE = "receiver.json"


def receiver_db_url(given: str | None, env: Mapping[str, str] = os.environ) -> str:
    """The receiver's database URL (see the module docstring for the order)."""
    if given and given.strip():
        return given.strip()
    from_env = env.get(ENV_RECEIVER_DB, "").strip()
    if from_env:
        return from_env
    return f"sqlite:///{state_dir(env) / 'receiver' / 'receiver.db'}"


def secrets_path(given: Path | None, env: Mapping[str, str] = os.environ) -> Path:
    """The receiver's webhook secrets file (see the module docstring for the order)."""
    if given is not None:
        return given.expanduser()
    from_env = env.get(ENV_RECEIVER_SECRETS, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    return config_dir(env) / "receiver" / "secrets.json"


@dataclass(frozen=True)
class ReceiverLink:
    """The receiver this person reads scores from, and where the token is kept."""

    url: str
    token: str
    token_source: str


def _link_path(env: Mapping[str, str]) -> Path:
    return config_dir(env) / LINK_FILE


def _read_link_file(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot read {display_path(path)} ({type(exc).__name__}); run "
            "`csvscore receiver connect URL` again"
        ) from None
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def save_link(url: str, token: str, env: Mapping[str, str] = os.environ) -> str:
    """Store the URL and token; a sentence fragment saying where the token went."""
    path = _link_path(env)
    backend = _usable_keyring(env)
    if backend is not None:
        try:
            backend.set_password("csvscore", KEYRING_USERNAME, token)
            stored = backend.get_password("csvscore", KEYRING_USERNAME) == token
        except Exception as exc:  # any keyring failure means "use the file"
            log.debug("keyring write failed: %s", type(exc).__name__)
            stored = False
        if stored:
            atomic_write_text(path, json.dumps({"url": url}, indent=2) + "\n", mode=0o600)
            return _keyring_label(backend)
    atomic_write_text(path, json.dumps({"url": url, "token": token}, indent=2) + "\n", mode=0o600)
    return f"config file {display_path(path)} (readable only by you)"


def load_link(env: Mapping[str, str] = os.environ) -> ReceiverLink | None:
    """The connected receiver, or None. ``CSVSCORE_RECEIVER_URL``/``_TOKEN`` win if set."""
    env_url = env.get(ENV_RECEIVER_URL, "").strip()
    env_token = env.get(ENV_RECEIVER_TOKEN, "").strip()
    if env_url and env_token:
        return ReceiverLink(env_url, env_token, f"environment variable {ENV_RECEIVER_TOKEN}")
    path = _link_path(env)
    data = _read_link_file(path)
    url = env_url or data.get("url", "")
    if not url:
        return None
    if env_token:
        return ReceiverLink(url, env_token, f"environment variable {ENV_RECEIVER_TOKEN}")
    backend = _usable_keyring(env)
    if backend is not None:
        with contextlib.suppress(Exception):
            token = backend.get_password("csvscore", KEYRING_USERNAME)
            if token:
                return ReceiverLink(url, token, _keyring_label(backend))
    if data.get("token"):
        return ReceiverLink(url, data["token"], f"config file {display_path(path)}")
    return None
