"""Tests for csvscore.user.paths: directories, API key resolution, storage and removal.

Every test passes its own ``env`` with config/state dirs under tmp_path. Tests that exercise the
keyring install a real in-memory keyring backend (``keyring.set_keyring``) and restore the
previous one afterwards; all others set ``CSVSCORE_KEYRING=0``, so no test ever touches the
developer's real keyring.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.core
import platformdirs
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import PasswordDeleteError

from csvscore.errors import AuthError, ConfigError, ExitCode
from csvscore.user import credentials, paths

KEY = "tx_live_0123456789abcdef3f9a"
OTHER_KEY = "tx_live_fedcba98765432107b2c"
SERVICE = ("csvscore", "titanx-api-key")


# --- real keyring backends used by the tests --------------------------------------------------


class MemoryKeyring(KeyringBackend):
    """A working keyring that keeps secrets in a dict."""

    # Below fail.Keyring's 0 and not > 0, so keyring's own detection never picks this class
    # (KeyringBackend subclasses register themselves globally when defined).
    priority = -1

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.secrets:
            raise PasswordDeleteError("not found")
        del self.secrets[(service, username)]


class RefusingKeyring(MemoryKeyring):
    """A keyring that reads and deletes but raises on every write (e.g. a locked collection)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("collection is locked")


class SilentKeyring(MemoryKeyring):
    """A keyring that accepts writes and keeps nothing, like a chainer whose members decline."""

    def set_password(self, service: str, username: str, password: str) -> None:
        return None


class UnreadableKeyring(MemoryKeyring):
    """A keyring whose reads fail (e.g. D-Bus error)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("cannot unlock")


class UndeletableKeyring(MemoryKeyring):
    """A keyring that holds the key but refuses to delete it."""

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("permission denied")


class EmptyChainer(chainer.ChainerBackend):
    """keyring's chainer as it is on a machine with no real backend to chain."""

    backends: list[KeyringBackend] = []  # noqa: RUF012 (mirrors the base class's property)


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def kr_env(env: dict[str, str]) -> dict[str, str]:
    """The same environment with the keyring enabled (use with ``use_backend``)."""
    return {k: v for k, v in env.items() if k != "CSVSCORE_KEYRING"}


@pytest.fixture
def use_backend() -> Iterator:
    """Install a keyring backend for one test, then put back whatever was there before."""
    # Read the module global rather than keyring.get_keyring(): that would run backend detection,
    # which can block on D-Bus on headless machines. None means "not detected yet".
    previous = keyring.core._keyring_backend

    def install(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    yield install
    keyring.core._keyring_backend = previous  # set_keyring() refuses None


@pytest.fixture
def memory(use_backend) -> MemoryKeyring:
    return use_backend(MemoryKeyring())


def cred_file(env: dict[str, str]) -> Path:
    return Path(env["CSVSCORE_CONFIG_DIR"]) / "credentials"


# --- directories ------------------------------------------------------------------------------


def test_dirs_follow_env_overrides(tmp_path: Path) -> None:
    env = {"CSVSCORE_CONFIG_DIR": str(tmp_path / "c"), "CSVSCORE_STATE_DIR": str(tmp_path / "s")}
    assert paths.config_dir(env) == tmp_path / "c"
    assert paths.state_dir(env) == tmp_path / "s"
    assert credentials.credentials_path(env) == tmp_path / "c" / "credentials"


def test_dirs_default_to_platformdirs_when_not_overridden() -> None:
    env = {"CSVSCORE_CONFIG_DIR": "  ", "CSVSCORE_STATE_DIR": ""}  # blank counts as unset
    assert paths.config_dir(env) == Path(platformdirs.user_config_dir("csvscore", appauthor=False))
    assert paths.state_dir({}) == Path(platformdirs.user_state_dir("csvscore", appauthor=False))


def test_dir_override_expands_home() -> None:
    assert paths.config_dir({"CSVSCORE_CONFIG_DIR": "~/cs"}) == Path.home() / "cs"


def test_display_path_abbreviates_home_only() -> None:
    assert paths.display_path(Path.home() / "a" / "b") == os.path.join("~", "a", "b")
    outside = Path(os.path.abspath(os.sep)) / "definitely-not-home"
    assert paths.display_path(outside) == str(outside)


# --- resolution order -------------------------------------------------------------------------


def test_no_key_anywhere_raises_auth_error_with_next_step(env: dict[str, str]) -> None:
    with pytest.raises(AuthError) as info:
        credentials.resolve_api_key(env)
    assert str(info.value) == (
        "No TitanX API key. Run `csvscore login` to enter it, or set TITANX_API_KEY."
    )
    assert info.value.exit_code == ExitCode.AUTH


def test_environment_variable_wins_over_config_file(env: dict[str, str]) -> None:
    credentials.store_api_key(OTHER_KEY, env)
    key, source = credentials.resolve_api_key({**env, "TITANX_API_KEY": f"  {KEY}\n"})
    assert (key, source) == (KEY, "environment variable TITANX_API_KEY")


def test_environment_variable_wins_over_keyring(kr_env: dict[str, str], memory) -> None:
    credentials.store_api_key(OTHER_KEY, kr_env)
    assert credentials.resolve_api_key({**kr_env, "TITANX_API_KEY": KEY}) == (
        KEY,
        "environment variable TITANX_API_KEY",
    )


def test_empty_environment_variable_counts_as_unset(env: dict[str, str]) -> None:
    credentials.store_api_key(KEY, env)
    key, source = credentials.resolve_api_key({**env, "TITANX_API_KEY": "   "})
    assert key == KEY
    assert source.startswith("config file ")


def test_keyring_wins_over_config_file(kr_env: dict[str, str], memory) -> None:
    # A file left by an earlier login without keyring, and a key in the keyring.
    credentials.store_api_key(OTHER_KEY, {**kr_env, "CSVSCORE_KEYRING": "0"})
    memory.secrets[SERVICE] = KEY
    assert credentials.resolve_api_key(kr_env) == (KEY, "system keyring (MemoryKeyring)")


def test_malformed_environment_key_is_refused_without_quoting_it(env: dict[str, str]) -> None:
    bad = "tx_live_abc def"
    with pytest.raises(AuthError) as info:
        credentials.resolve_api_key({**env, "TITANX_API_KEY": bad})
    assert "TITANX_API_KEY" in str(info.value)
    assert "tx_live" not in str(info.value)


# --- the config file --------------------------------------------------------------------------


def test_file_fallback_stores_key_readable_only_by_owner(env: dict[str, str]) -> None:
    where = credentials.store_api_key(KEY, env)
    path = cred_file(env)
    privacy = "(in your user profile)" if sys.platform == "win32" else "(readable only by you)"
    assert where == f"config file {paths.display_path(path)} {privacy}"
    # POSIX: exactly rw for the owner. Windows only knows "read-only or not".
    expected = 0o600 if os.name == "posix" else 0o666
    assert stat.S_IMODE(os.stat(path).st_mode) == expected
    assert credentials.resolve_api_key(env) == (KEY, f"config file {paths.display_path(path)}")


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077, 0o277], ids=oct)
def test_file_mode_is_0600_whatever_the_umask(env: dict[str, str], umask: int) -> None:
    # 0o277 would leave the file read-only (0400) if the mode were not set explicitly.
    cred_file(env).parent.mkdir(parents=True)  # so the umask under test applies to the file only
    old = os.umask(umask)
    try:
        credentials.store_api_key(KEY, env)
    finally:
        os.umask(old)
    expected = 0o600 if os.name == "posix" else 0o666
    assert stat.S_IMODE(os.stat(cred_file(env)).st_mode) == expected


def test_storing_again_replaces_the_key_and_leaves_no_temp_files(env: dict[str, str]) -> None:
    credentials.store_api_key(KEY, env)
    credentials.store_api_key(OTHER_KEY, env)
    assert credentials.resolve_api_key(env)[0] == OTHER_KEY
    assert sorted(p.name for p in cred_file(env).parent.iterdir()) == ["credentials"]


def test_failed_atomic_write_raises_config_error_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "occupied"
    target.mkdir()  # os.replace cannot put a file over a directory
    (target / "x").write_text("keep")
    with pytest.raises(ConfigError, match="Cannot write"):
        paths.atomic_write_text(target, "data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["occupied"]


@pytest.mark.parametrize(("umask", "posix_mode"), [(0o022, 0o644), (0o077, 0o600)], ids=oct)
def test_atomic_write_without_mode_follows_the_umask(
    tmp_path: Path, umask: int, posix_mode: int
) -> None:
    old = os.umask(umask)
    try:
        paths.atomic_write_text(tmp_path / "plain.yaml", "a: 1\n")
    finally:
        os.umask(old)
    expected = posix_mode if os.name == "posix" else 0o666
    assert stat.S_IMODE(os.stat(tmp_path / "plain.yaml").st_mode) == expected


def test_atomic_write_creates_parent_dirs(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "file.txt"
    paths.atomic_write_text(target, "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"


def test_hand_written_file_with_comments_and_blank_lines_is_read(env: dict[str, str]) -> None:
    path = cred_file(env)
    path.parent.mkdir(parents=True)
    path.write_text(f"# my key\n\n   {KEY}  \nignored-second-line\n", encoding="utf-8")
    assert credentials.resolve_api_key(env)[0] == KEY


def test_file_with_only_comments_counts_as_no_key(env: dict[str, str]) -> None:
    path = cred_file(env)
    path.parent.mkdir(parents=True)
    path.write_text("# nothing here\n\n", encoding="utf-8")
    with pytest.raises(AuthError, match="No TitanX API key"):
        credentials.resolve_api_key(env)


def test_non_utf8_file_raises_config_error_without_its_bytes(env: dict[str, str]) -> None:
    path = cred_file(env)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xff\xfesecret-bytes")
    with pytest.raises(ConfigError) as info:
        credentials.resolve_api_key(env)
    assert "not UTF-8" in str(info.value)
    assert "secret" not in str(info.value) and "xff" not in str(info.value)


def test_unreadable_file_raises_config_error(env: dict[str, str]) -> None:
    path = cred_file(env)
    path.mkdir(parents=True)  # a directory where the file should be: reading it fails
    with pytest.raises(ConfigError, match="Cannot read the API key file"):
        credentials.resolve_api_key(env)


@pytest.mark.parametrize("bad", ["", "   \n", "tx live", "tx\tlive", "tx\x00live", "clé-1234567"])
def test_store_refuses_empty_or_malformed_key_and_writes_nothing(
    env: dict[str, str], bad: str
) -> None:
    with pytest.raises(AuthError) as info:
        credentials.store_api_key(bad, env)
    if bad.strip():
        assert bad.strip() not in str(info.value)
    assert not cred_file(env).exists()


def test_store_strips_surrounding_whitespace(env: dict[str, str]) -> None:
    credentials.store_api_key(f"\n  {KEY}\r\n", env)
    assert credentials.resolve_api_key(env)[0] == KEY


# --- deletion and location --------------------------------------------------------------------


def test_delete_removes_file_and_says_so(env: dict[str, str]) -> None:
    credentials.store_api_key(KEY, env)
    path = cred_file(env)
    assert credentials.delete_api_key(env) == [f"config file {paths.display_path(path)}"]
    assert not path.exists()
    with pytest.raises(AuthError):
        credentials.resolve_api_key(env)


def test_delete_with_nothing_stored_returns_empty_list(env: dict[str, str]) -> None:
    assert credentials.delete_api_key(env) == []


def test_delete_leaves_environment_variable_alone(env: dict[str, str]) -> None:
    with_env = {**env, "TITANX_API_KEY": KEY}
    assert credentials.delete_api_key(with_env) == []
    assert credentials.resolve_api_key(with_env)[0] == KEY


def test_stored_key_location_ignores_environment(env: dict[str, str]) -> None:
    assert credentials.stored_key_location({**env, "TITANX_API_KEY": KEY}) is None
    credentials.store_api_key(KEY, env)
    assert credentials.stored_key_location(env) == (
        f"config file {paths.display_path(cred_file(env))}"
    )


# --- keyring ----------------------------------------------------------------------------------


def test_key_goes_to_working_keyring_not_file(kr_env: dict[str, str], memory) -> None:
    where = credentials.store_api_key(KEY, kr_env)
    assert where == "system keyring (MemoryKeyring)"
    assert memory.secrets == {SERVICE: KEY}
    assert not cred_file(kr_env).exists()
    assert credentials.resolve_api_key(kr_env) == (KEY, "system keyring (MemoryKeyring)")
    assert credentials.stored_key_location(kr_env) == "system keyring (MemoryKeyring)"


def test_storing_in_keyring_removes_an_older_file_copy(kr_env: dict[str, str], memory) -> None:
    credentials.store_api_key(OTHER_KEY, {**kr_env, "CSVSCORE_KEYRING": "0"})
    assert cred_file(kr_env).exists()
    credentials.store_api_key(KEY, kr_env)
    assert not cred_file(kr_env).exists()
    assert credentials.resolve_api_key(kr_env)[0] == KEY


def test_backend_raising_on_set_falls_back_to_file(kr_env: dict[str, str], use_backend) -> None:
    use_backend(RefusingKeyring())
    where = credentials.store_api_key(KEY, kr_env)
    assert where.startswith("config file ")
    assert credentials.resolve_api_key(kr_env)[0] == KEY


def test_file_fallback_removes_stale_keyring_key_that_would_shadow_it(
    kr_env: dict[str, str], use_backend
) -> None:
    backend = use_backend(RefusingKeyring())
    backend.secrets[SERVICE] = OTHER_KEY  # stored back when the keyring still accepted writes
    credentials.store_api_key(KEY, kr_env)
    assert backend.secrets == {}
    assert credentials.resolve_api_key(kr_env)[0] == KEY


def test_backend_that_keeps_nothing_falls_back_to_file(kr_env: dict[str, str], use_backend) -> None:
    use_backend(SilentKeyring())
    assert credentials.store_api_key(KEY, kr_env).startswith("config file ")
    assert credentials.resolve_api_key(kr_env)[0] == KEY


@pytest.mark.parametrize(
    "backend",
    [fail.Keyring(), null.Keyring(), EmptyChainer()],
    ids=["fail", "null", "empty-chainer"],
)
def test_unusable_backends_mean_file_storage(
    kr_env: dict[str, str], use_backend, backend: KeyringBackend
) -> None:
    use_backend(backend)
    assert credentials.store_api_key(KEY, kr_env).startswith("config file ")
    assert credentials.resolve_api_key(kr_env)[0] == KEY
    assert credentials.delete_api_key(kr_env) == [
        f"config file {paths.display_path(cred_file(kr_env))}"
    ]


def test_keyring_read_failure_falls_back_to_file(kr_env: dict[str, str], use_backend) -> None:
    credentials.store_api_key(KEY, {**kr_env, "CSVSCORE_KEYRING": "0"})
    use_backend(UnreadableKeyring())
    assert credentials.resolve_api_key(kr_env) == (
        KEY,
        f"config file {paths.display_path(cred_file(kr_env))}",
    )


@pytest.mark.parametrize("value", ["0", "false", "NO", "off"])
def test_csvscore_keyring_0_ignores_keyring_entirely(
    env: dict[str, str], memory, value: str
) -> None:
    env = {**env, "CSVSCORE_KEYRING": value}
    memory.secrets[SERVICE] = OTHER_KEY
    with pytest.raises(AuthError):
        credentials.resolve_api_key(env)  # the keyring copy is not read
    assert credentials.store_api_key(KEY, env).startswith("config file ")
    assert memory.secrets == {SERVICE: OTHER_KEY}  # nor written
    assert credentials.delete_api_key(env) == [f"config file {paths.display_path(cred_file(env))}"]
    assert memory.secrets == {SERVICE: OTHER_KEY}  # nor deleted


def test_delete_removes_keyring_and_file_copies(kr_env: dict[str, str], memory) -> None:
    credentials.store_api_key(OTHER_KEY, {**kr_env, "CSVSCORE_KEYRING": "0"})
    memory.secrets[SERVICE] = KEY
    removed = credentials.delete_api_key(kr_env)
    assert removed == [
        "system keyring (MemoryKeyring)",
        f"config file {paths.display_path(cred_file(kr_env))}",
    ]
    assert memory.secrets == {}
    assert not cred_file(kr_env).exists()
    assert credentials.stored_key_location(kr_env) is None


def test_delete_reports_keyring_failure_after_removing_file(
    kr_env: dict[str, str], use_backend
) -> None:
    backend = use_backend(UndeletableKeyring())
    backend.secrets[SERVICE] = KEY
    credentials.store_api_key(OTHER_KEY, {**kr_env, "CSVSCORE_KEYRING": "0"})
    with pytest.raises(ConfigError) as info:
        credentials.delete_api_key(kr_env)
    message = str(info.value)
    assert "Could not remove the API key from the system keyring (UndeletableKeyring)" in message
    assert "Removed: config file" in message
    assert KEY not in message
    assert not cred_file(kr_env).exists()


# --- secrecy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("tx_live_0123456789abcdef3f9a", "••••••••3f9a"),
        ("  abcdefgh\n", "••••••••efgh"),
        ("abc1234", "••••••••"),  # short: show none of it
        ("", "••••••••"),
    ],
)
def test_mask_key_shows_at_most_last_four(key: str, masked: str) -> None:
    assert credentials.mask_key(key) == masked


def test_key_never_logged_even_at_debug_when_keyring_fails(
    kr_env: dict[str, str], use_backend, caplog: pytest.LogCaptureFixture
) -> None:
    use_backend(RefusingKeyring())
    with caplog.at_level(logging.DEBUG):
        credentials.store_api_key(KEY, kr_env)
        credentials.resolve_api_key(kr_env)
        credentials.delete_api_key(kr_env)
    assert "keyring write failed" in caplog.text  # the failure is logged ...
    assert KEY not in caplog.text and KEY[-4:] not in caplog.text  # ... the key is not


def test_importing_modules_does_not_import_keyring() -> None:
    # Backend discovery can block on D-Bus; it must only happen when a key is needed.
    code = (
        "import sys, csvscore.user.paths, csvscore.user.remembered, csvscore.user.lastseen; "
        "print('keyring' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def test_utc_now_iso_formats_aware_and_naive_times() -> None:
    from datetime import datetime, timedelta, timezone

    aware = datetime(2025, 3, 4, 12, 30, 5, tzinfo=timezone(timedelta(hours=2)))
    assert paths.utc_now_iso(aware) == "2025-03-04T10:30:05Z"
    assert paths.utc_now_iso(datetime(2025, 3, 4, 12, 30, 5)) == "2025-03-04T12:30:05Z"
    assert paths.utc_now_iso().endswith("Z")
