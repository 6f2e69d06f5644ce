"""Account commands: `login`, `logout`, `account`, `mappings ...`, `install-shortcut`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from csvscore.cli.env import Env
from csvscore.errors import ExitCode, UsageError


def _base_url(args: argparse.Namespace, env: Env) -> str:
    from csvscore.api.urls import resolve_base_url

    return resolve_base_url(args.base_url, env.environ)


LOGIN_TRIES = 3  # as sudo: a mistyped or mis-pasted key is asked for again


def cmd_login(args: argparse.Namespace, env: Env) -> int:
    import getpass

    from csvscore.api.client import TitanXClient
    from csvscore.cli.wrap import say
    from csvscore.errors import AuthError
    from csvscore.user import credentials

    if not args.key_stdin and not env.interactive:
        raise UsageError(
            "no terminal to ask for the key; pipe it in with `csvscore login --key-stdin`"
        )
    tries = 1 if args.key_stdin else LOGIN_TRIES
    for attempt in range(1, tries + 1):
        if args.key_stdin:
            key = env.stdin.readline().strip()
        else:
            key = getpass.getpass("TitanX API key (input hidden): ").strip()
        if not key:
            raise UsageError("no key entered; nothing stored")
        try:
            # AuthError: refused, not stored. A key with a character no HTTP header can carry
            # is refused before it is sent (validate_key).
            credentials.validate_key(key, source="The key you entered")
            with TitanXClient(key, _base_url(args, env), max_retries=2) as client:
                client.check_key()
        except AuthError as exc:
            if attempt == tries:
                if tries == 1:
                    raise AuthError(f"{_refused(exc)} Nothing was stored.") from None
                raise AuthError(
                    f"{_refused(exc)} That was the last of {tries} tries; nothing was stored. "
                    "Check the key in your TitanX account, then run `csvscore login` again."
                ) from None
            say(env.stderr, f"{_refused(exc)} Try again ({tries - attempt} more tries).")
            continue
        break
    where = credentials.store_api_key(key, env=env.environ)
    say(env.stdout, f"Key {credentials.mask_key(key)} checked and stored in {where}.")
    return ExitCode.OK


def _refused(exc: Exception) -> str:
    """The refusal without its "run `csvscore login`" advice: this *is* csvscore login."""
    text = str(exc)
    return text.split(" Run `csvscore login`")[0].rstrip(".") + "."


def cmd_logout(args: argparse.Namespace, env: Env) -> int:
    from csvscore.user import credentials

    removed = credentials.delete_api_key(env=env.environ)
    if removed:
        print("Removed the stored key from " + " and ".join(removed) + ".", file=env.stdout)
    else:
        print("No stored key to remove.", file=env.stdout)
    if env.environ.get("TITANX_API_KEY"):
        print("Note: TITANX_API_KEY is still set in this environment.", file=env.stdout)
    return ExitCode.OK


def cmd_account(args: argparse.Namespace, env: Env) -> int:
    from csvscore.api.client import TitanXClient
    from csvscore.errors import ApiError, NetworkError
    from csvscore.user import credentials, lastseen

    if args.sandbox:
        if args.base_url:
            raise UsageError("--sandbox and --base-url cannot be used together")
        return _sandbox_account(args, env)
    key, source = credentials.resolve_api_key(env=env.environ)
    info: dict[str, Any] = {"key": credentials.mask_key(key), "key_source": source}
    try:
        # One quick retry: a person is waiting, and last-seen figures are the fallback.
        with TitanXClient(key, _base_url(args, env), connect_timeout=5, max_retries=1) as client:
            info["quota"] = client.quota()
        info["source"] = "TitanX, live"
    except (NetworkError, ApiError) as exc:
        # AuthError is not caught: a refused key must say so, not show stale figures.
        seen = lastseen.load(env=env.environ)
        if seen is None:
            raise
        info["source"] = f"last seen {seen.seen_at} (TitanX did not answer: {exc})"
        info["quota"] = {
            "creditsRemaining": seen.credits_remaining,
            "costPerPhone": seen.cost_per_phone,
            **seen.limits,
        }
    return _show_account(info, args, env)


def _sandbox_account(args: argparse.Namespace, env: Env) -> int:
    """`account --sandbox`: the simulator's figures, as `score --sandbox` would see them."""
    from csvscore.api.client import TitanXClient
    from csvscore.sandbox.server import Sandbox, SandboxConfig

    with Sandbox(SandboxConfig()) as sb, TitanXClient(sb.api_key, sb.url) as client:
        quota = client.quota()
    info = {
        "key": "none needed",
        "key_source": "the built-in sandbox",
        "source": "the built-in sandbox (free; not your TitanX account)",
        "quota": quota,
    }
    return _show_account(info, args, env)


def _show_account(info: dict[str, Any], args: argparse.Namespace, env: Env) -> int:
    if args.json:
        json.dump(info, env.stdout, indent=2, default=str)
        env.stdout.write("\n")
        return ExitCode.OK
    print(f"API key:            {info['key']} (from {info['key_source']})", file=env.stdout)
    print(f"Figures:            {info['source']}", file=env.stdout)
    for label, value in _account_lines(info["quota"]):
        print(f"{label + ':':<20}{value}", file=env.stdout)
    return ExitCode.OK


def _account_lines(quota: dict[str, Any]) -> list[tuple[str, str]]:
    """Plain lines from a quota answer whose shape TitanX does not document."""
    flat = _flatten(quota)
    norm = {k: "".join(ch for ch in k.lower() if ch.isalnum()) for k, _ in flat}

    def pick(*words: str) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in flat if all(w in norm[k] for w in words)]

    def shown(value: Any) -> str:
        return "not reported" if value is None or value == "" else str(value)

    used: set[str] = set()
    lines: list[tuple[str, str]] = []
    for label, words in (
        ("Credits remaining", ("credit", "remaining")),
        ("Cost per phone", ("cost",)),
    ):
        found = pick(*words)
        used.update(k for k, _ in found)
        lines.append((label, shown(found[0][1]) if found else "not reported"))
    limits = []
    for tier in ("second", "minute", "day"):
        found = [(k, v) for k, v in pick(tier) if k not in used]
        used.update(k for k, _ in found)
        limits.append(f"per {tier} {shown(found[0][1]) if found else 'not reported'}")
    lines.append(("Rate limits", ", ".join(limits)))
    other = [f"{k} {shown(v)}" for k, v in flat if k not in used]
    if other:
        lines.append(("Other", "; ".join(other)))
    return lines


def cmd_mappings_list(args: argparse.Namespace, env: Env) -> int:
    from csvscore.user import remembered

    items = remembered.list_remembered(env=env.environ)
    if not items:
        print("No remembered mappings yet.", file=env.stdout)
    for m in items:
        count = "?" if m.column_count is None else m.column_count
        problem = f"  ({m.problem})" if m.problem else ""
        print(
            f"{m.signature[:12]}  {count:>3} columns  saved {m.saved_at}  "
            f"from {m.source_file}{problem}",
            file=env.stdout,
        )
    return ExitCode.OK


def _find_remembered(name: str, env: Env) -> Path:
    from csvscore.errors import ConfigError
    from csvscore.user import remembered

    matches = [
        m for m in remembered.list_remembered(env=env.environ) if m.signature.startswith(name)
    ]
    if len(matches) != 1:
        names = ", ".join(m.signature[:12] for m in matches) or "none"
        raise ConfigError(f"no single remembered mapping starts with {name!r} (matches: {names})")
    return matches[0].path


def cmd_mappings_show(args: argparse.Namespace, env: Env) -> int:
    print(_find_remembered(args.name, env).read_text(encoding="utf-8"), file=env.stdout)
    return ExitCode.OK


def cmd_mappings_forget(args: argparse.Namespace, env: Env) -> int:
    from csvscore.user import remembered

    path = remembered.forget(args.name, env=env.environ)
    print(f"Forgot {path.name}", file=env.stdout)
    return ExitCode.OK


def cmd_install_shortcut(args: argparse.Namespace, env: Env) -> int:
    from csvscore.desktop.shortcuts import install_shortcut

    paths = install_shortcut(args.dir, env=env.environ)
    for path in paths:
        print(f"Put the shortcut at {path}", file=env.stdout)
    for note in paths.notes:
        print(note, file=env.stdout)
    if any(p.suffix == ".app" for p in paths):
        print("Drop CSV or Excel files onto csvscore.app to score them.", file=env.stdout)
    elif paths and paths[-1].suffix == ".command":
        print("Double-click it: Terminal opens and asks for your files.", file=env.stdout)
    else:
        print("Drop CSV or Excel files onto it to score them.", file=env.stdout)
    return ExitCode.OK


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.extend(_flatten(v, name + "."))
        else:
            out.append((name, v))
    return out
