"""The TitanX API key: where it comes from, where `csvscore login` stores it.

Where the API key comes from (first match wins)
-----------------------------------------------
1. The environment variable ``TITANX_API_KEY`` (an empty value counts as unset).
2. The system keyring (macOS Keychain, Windows Credential Locker, Secret Service on Linux),
   service ``csvscore``, user name ``titanx-api-key``, where ``csvscore login`` stores it.
3. The file ``credentials`` in the config directory, readable only by you, used by
   ``csvscore login`` when no usable keyring exists.

Set ``CSVSCORE_KEYRING=0`` to make csvscore ignore the keyring entirely (CI, headless Linux
where the keyring can hang waiting for D-Bus); the key then lives in the config file.

The key itself never appears in a log, an exception message or a repr: use :func:`mask_key`
to show which key is in use.

Every function takes ``env`` (default ``os.environ``) instead of reading globals, so tests and
embedding programs pass their own environment.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from csvscore.errors import AuthError, ConfigError
from csvscore.user.paths import atomic_write_text, config_dir, display_path

if TYPE_CHECKING:  # keyring is imported lazily: discovering a backend can block on D-Bus
    from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

ENV_API_KEY = "TITANX_API_KEY"

ENV_KEYRING = "CSVSCORE_KEYRING"

KEYRING_SERVICE = "csvscore"

KEYRING_USERNAME = "titanx-api-key"

CREDENTIALS_FILE = "credentials"

_NO_KEY_MESSAGE = "No TitanX API key. Run `csvscore login` to enter it, or set TITANX_API_KEY."

_FILE_HEADER = (
    "# csvscore: TitanX API key. Written by `csvscore login`; `csvscore logout` removes it.\n"
)


def credentials_path(env: Mapping[str, str] = os.environ) -> Path:
    """The file the key is stored in when no keyring is used."""
    return config_dir(env) / CREDENTIALS_FILE


def _keyring_enabled(env: Mapping[str, str]) -> bool:
    return env.get(ENV_KEYRING, "").strip().lower() not in ("0", "false", "no", "off")


def _usable_keyring(env: Mapping[str, str]) -> KeyringBackend | None:
    """The current keyring backend if it can really store secrets, else None."""
    if not _keyring_enabled(env):
        return None
    try:
        import keyring
        from keyring.backends import chainer, fail, null

        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring install must not stop csvscore working
        log.debug("keyring unavailable: %s", type(exc).__name__)
        return None
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return backend


def _keyring_label(backend: KeyringBackend) -> str:
    from keyring.backends import chainer

    if isinstance(backend, chainer.ChainerBackend) and backend.backends:
        backend = backend.backends[0]
    module = type(backend).__module__
    # keyring's own backends are named by their module (SecretService, macOS, Windows, ...);
    # third-party ones by their class.
    if module.startswith("keyring.backends."):
        name = module.split(".")[2]
    else:
        name = type(backend).__name__
    return f"system keyring ({name})"


def _read_keyring(backend: KeyringBackend) -> str | None:
    try:
        value = backend.get_password(KEYRING_SERVICE, KEYRING_USERNAME)
    except Exception as exc:  # locked or broken keyring: behave as if nothing is stored there
        log.debug("keyring read failed: %s", type(exc).__name__)
        return None
    return value.strip() if value and value.strip() else None


def _read_file_key(path: Path) -> str | None:
    """The key in the credentials file: its first line that is neither blank nor a comment."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        # Never quote the file's bytes: they may be the key.
        raise ConfigError(
            f"The API key file {display_path(path)} is not UTF-8 text. "
            "Run `csvscore login` to store the key again."
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the API key file {display_path(path)}: {exc.strerror or exc}. "
            "Fix its permissions or run `csvscore login` again."
        ) from exc
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line
    return None


def _file_label(path: Path) -> str:
    return f"config file {display_path(path)}"


def mask_key(key: str) -> str:
    """A display form of ``key``: eight dots and, for keys of 8+ characters, the last four.

    Always eight dots whatever the length, so the mask does not reveal it; short keys show no
    characters at all since four would be most of the secret.
    """
    key = key.strip()
    return "•" * 8 + (key[-4:] if len(key) >= 8 else "")


def validate_key(key: str, *, source: str = "The API key") -> str:
    """``key`` without surrounding whitespace; :class:`AuthError` if empty or malformed.

    A key with spaces, control or non-ASCII characters inside is a paste error (and could not be
    sent in an HTTP header), so it is refused rather than stored or sent. ``source`` names where
    the key came from in the message; the key itself is never quoted.
    """
    key = key.strip()
    if not key:
        raise AuthError(f"{source} is empty. Paste the key from your TitanX account settings.")
    if not key.isascii() or any(ch.isspace() or not ch.isprintable() for ch in key):
        raise AuthError(
            f"{source} contains spaces or characters an API key cannot have. "
            "Paste only the key itself."
        )
    return key


def _stored_key(env: Mapping[str, str]) -> tuple[str, str] | None:
    backend = _usable_keyring(env)
    if backend is not None:
        key = _read_keyring(backend)
        if key is not None:
            return key, _keyring_label(backend)
    path = credentials_path(env)
    key = _read_file_key(path)
    if key is not None:
        return key, _file_label(path)
    return None


def resolve_api_key(env: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """The API key to use and a description of where it came from (see the module docstring).

    Sources: ``"environment variable TITANX_API_KEY"``, ``"system keyring (<backend>)"`` or
    ``"config file <path>"``. Raises :class:`AuthError` when there is no key anywhere, and
    :class:`ConfigError` when the credentials file exists but cannot be read.
    """
    from_env = env.get(ENV_API_KEY, "").strip()
    if from_env:
        source = f"environment variable {ENV_API_KEY}"
        return validate_key(from_env, source=f"The key in {source}"), source
    found = _stored_key(env)
    if found is None:
        raise AuthError(_NO_KEY_MESSAGE)
    key, source = found
    # A hand-edited file or another program's keyring entry may hold junk: say where it is.
    return validate_key(key, source=f"The key in the {source}"), source


def stored_key_location(env: Mapping[str, str] = os.environ) -> str | None:
    """Where ``csvscore login`` stored the key (keyring or file label), or None.

    Ignores TITANX_API_KEY, so ``csvscore logout`` can say what it will remove.
    """
    found = _stored_key(env)
    return None if found is None else found[1]


def store_api_key(key: str, env: Mapping[str, str] = os.environ) -> str:
    """Store ``key`` for later runs and return a sentence fragment saying where.

    Uses the system keyring when a usable one exists (and ``CSVSCORE_KEYRING`` is not ``0``),
    checking the key reads back; otherwise writes the credentials file with mode 0600. The copy
    in the place not used is removed, so an old key can never shadow the new one.
    Raises :class:`AuthError` for an empty/malformed key, :class:`ConfigError` if the file
    cannot be written.
    """
    key = validate_key(key)
    backend = _usable_keyring(env)
    if backend is not None and _write_keyring(backend, key):
        path = credentials_path(env)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # an OSError here would leave a second copy: let it be reported
        return _keyring_label(backend)

    path = credentials_path(env)
    atomic_write_text(path, _FILE_HEADER + key + "\n", mode=0o600)
    if backend is not None:
        # The keyring refused the new key; make sure an old key there does not win over it.
        _delete_from_keyring(backend, quiet=True)
    privacy = "(in your user profile)" if sys.platform == "win32" else "(readable only by you)"
    return f"{_file_label(path)} {privacy}"


def _write_keyring(backend: KeyringBackend, key: str) -> bool:
    try:
        backend.set_password(KEYRING_SERVICE, KEYRING_USERNAME, key)
        # Some backends (a chainer whose members all decline) return without storing anything.
        return backend.get_password(KEYRING_SERVICE, KEYRING_USERNAME) == key
    except Exception as exc:  # any failure means "use the file instead"
        log.debug("keyring write failed: %s", type(exc).__name__)
        return False


def _delete_from_keyring(backend: KeyringBackend, *, quiet: bool) -> bool:
    """Remove our entry; True if one was there. Errors raise ConfigError unless ``quiet``."""
    if _read_keyring(backend) is None:
        return False
    try:
        backend.delete_password(KEYRING_SERVICE, KEYRING_USERNAME)
    except Exception as exc:
        if quiet:
            log.debug("keyring delete failed: %s", type(exc).__name__)
            return False
        raise ConfigError(
            f"Could not remove the API key from the {_keyring_label(backend)}: "
            f"{type(exc).__name__}. Remove its entry '{KEYRING_SERVICE}' by hand."
        ) from exc
    return True


def delete_api_key(env: Mapping[str, str] = os.environ) -> list[str]:
    """Remove the stored key from the keyring and the credentials file; say what was removed.

    Returns the locations removed (empty if there was nothing stored). TITANX_API_KEY is not
    touched: only the user can unset it. With ``CSVSCORE_KEYRING=0`` the keyring is left alone.
    Both places are always tried; if a stored copy exists but cannot be removed, raises
    :class:`ConfigError` naming it (and what was removed).
    """
    removed: list[str] = []
    problems: list[str] = []
    backend = _usable_keyring(env)
    if backend is not None:
        try:
            if _delete_from_keyring(backend, quiet=False):
                removed.append(_keyring_label(backend))
        except ConfigError as exc:
            problems.append(exc.message)
    path = credentials_path(env)
    try:
        path.unlink()
        removed.append(_file_label(path))
    except FileNotFoundError:
        pass
    except OSError as exc:
        problems.append(
            f"Could not remove the API key file {display_path(path)}: {exc.strerror or exc}."
        )
    if problems:
        done = f" Removed: {', '.join(removed)}." if removed else ""
        raise ConfigError(" ".join(problems) + done)
    return removed
