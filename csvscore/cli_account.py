"""Account commands: `login`, `logout`, `account`, `mappings ...`, `install-shortcut`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from csvscore.cli import Env
from csvscore.errors import ExitCode, UsageError


def _base_url(args: argparse.Namespace, env: Env) -> str:
    from csvscore.client import DEFAULT_BASE_URL

    return args.base_url or env.environ.get("TITANX_BASE_URL") or DEFAULT_BASE_URL


def cmd_login(args: argparse.Namespace, env: Env) -> int:
    import getpass

    from csvscore import settings
    from csvscore.client import TitanXClient

    if args.key_stdin:
        key = env.stdin.readline().strip()
    elif env.interactive:
        key = getpass.getpass("TitanX API key (input hidden): ").strip()
    else:
        raise UsageError(
            "no terminal to ask for the key; pipe it in with `csvscore login --key-stdin`"
        )
    if not key:
        raise UsageError("no key entered; nothing stored")
    TitanXClient(key, _base_url(args, env)).check_key()  # AuthError: refused, not stored
    where = settings.store_api_key(key, env=env.environ)
    print(f"Key {settings.mask_key(key)} checked and stored in {where}.", file=env.stdout)
    return ExitCode.OK


def cmd_logout(args: argparse.Namespace, env: Env) -> int:
    from csvscore import settings

    removed = settings.delete_api_key(env=env.environ)
    if removed:
        print("Removed the stored key from " + " and ".join(removed) + ".", file=env.stdout)
    else:
        print("No stored key to remove.", file=env.stdout)
    if env.environ.get("TITANX_API_KEY"):
        print("Note: TITANX_API_KEY is still set in this environment.", file=env.stdout)
    return ExitCode.OK


def cmd_account(args: argparse.Namespace, env: Env) -> int:
    from csvscore import lastseen, settings
    from csvscore.client import TitanXClient
    from csvscore.errors import NetworkError

    key, source = settings.resolve_api_key(env=env.environ)
    info: dict[str, Any] = {"key": settings.mask_key(key), "key_source": source}
    try:
        client = TitanXClient(key, _base_url(args, env))
        info["source"] = "TitanX (live)"
        info["quota"] = client.quota()
    except NetworkError as exc:
        seen = lastseen.load(env=env.environ)
        if seen is None:
            raise
        info["source"] = f"last seen {seen.seen_at} (TitanX unreachable: {exc})"
        info["credits_remaining"] = str(seen.credits_remaining)
        info["cost_per_phone"] = str(seen.cost_per_phone)
        info["limits"] = seen.limits
    else:
        seen = lastseen.load(env=env.environ)
        if seen is not None:
            info["last_run_credits_remaining"] = str(seen.credits_remaining)
            info["last_run_at"] = seen.seen_at
    if args.json:
        json.dump(info, env.stdout, indent=2, default=str)
        env.stdout.write("\n")
    else:
        for k, v in info.items():
            if isinstance(v, dict):
                print(f"{k}:", file=env.stdout)
                for kk, vv in _flatten(v):
                    print(f"  {kk}: {vv}", file=env.stdout)
            else:
                print(f"{k}: {v}", file=env.stdout)
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


def cmd_mappings_list(args: argparse.Namespace, env: Env) -> int:
    from csvscore import remembered

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
    from csvscore import remembered
    from csvscore.errors import ConfigError

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
    from csvscore import remembered

    path = remembered.forget(args.name, env=env.environ)
    print(f"Forgot {path.name}", file=env.stdout)
    return ExitCode.OK


def cmd_install_shortcut(args: argparse.Namespace, env: Env) -> int:
    from csvscore.shortcuts import install_shortcut

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
