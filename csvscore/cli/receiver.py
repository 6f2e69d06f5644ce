"""`csvscore receiver ...`: run the webhook receiver, look after it, and connect to one.

Admin commands (on the receiver host): ``serve``, ``status``, ``purge``, ``reverify``,
``reprocess``, ``token add|list|revoke``, ``secret add|list|remove``. Ops command (on a
laptop, once): ``connect URL``. Each parses, calls the library, prints; secrets and tokens are
never printed, except a new read token, once, which is the point of ``token add``.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from csvscore.cli.env import Env
from csvscore.errors import ConfigError, CsvscoreError, ExitCode, UsageError

if TYPE_CHECKING:
    from csvscore.receiver.ingest import Receiver
    from csvscore.receiver.store import Store

# The pip of the Python running csvscore, not whichever `pip` comes first on the PATH.
EXTRA_HINT = f"the receiver needs its extra: {sys.executable} -m pip install 'csvscore[receiver]'"


def _needs_extra(exc: ImportError) -> ConfigError:
    return ConfigError(f"{EXTRA_HINT} ({exc.name or 'a module'} is missing)")


def _store(args: argparse.Namespace, env: Env) -> Store:
    from csvscore.receiver.database import open_store
    from csvscore.user.receiver import receiver_db_url

    try:
        return open_store(receiver_db_url(getattr(args, "db", None), env.environ))
    except ImportError as exc:  # psycopg for a postgresql:// URL
        raise _needs_extra(exc) from None


def _unavailable(exc: Exception, store_label: str = "") -> CsvscoreError:
    from csvscore.api.receiver import ReceiverError

    return ReceiverError(f"the receiver database {store_label} cannot be used now: {exc}")


def _with_store(fn: Callable[[argparse.Namespace, Env, Store], int]) -> Callable[..., int]:
    @functools.wraps(fn)
    def run(args: argparse.Namespace, env: Env) -> int:
        from csvscore.receiver.store import StoreUnavailable

        try:
            store = _store(args, env)
        except StoreUnavailable as exc:
            raise _unavailable(exc) from None
        try:
            return fn(args, env, store)
        except StoreUnavailable as exc:
            raise _unavailable(exc, store.url_label) from None
        finally:
            store.close()

    return run


def _receiver(args: argparse.Namespace, env: Env, store: Store) -> Receiver:
    from csvscore.receiver.ingest import Receiver
    from csvscore.receiver.secretfile import SecretFile
    from csvscore.user.receiver import secrets_path

    return Receiver(store, SecretFile(secrets_path(getattr(args, "secrets", None), env.environ)))


def _when(ms: int | None, now: datetime | None = None) -> str:
    if ms is None:
        return "never"
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    now = now or datetime.now(timezone.utc)
    ago = int((now - moment).total_seconds())
    if ago < 0:
        rel = "in the future: check the clock"
    elif ago < 120:
        rel = f"{ago} s ago"
    elif ago < 7200:
        rel = f"{ago // 60} min ago"
    elif ago < 172800:
        rel = f"{ago // 3600} h ago"
    else:
        rel = f"{ago // 86400} days ago"
    return f"{moment:%Y-%m-%d %H:%M} UTC ({rel})"


# -- serve ---------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, env: Env) -> int:
    try:
        from csvscore.receiver.serve import ServeOptions, serve
        from csvscore.receiver.store import Retention
    except ImportError as exc:
        raise _needs_extra(exc) from None
    store = _store(args, env)
    receiver = _receiver(args, env, store)
    retention = None if args.no_purge else Retention(args.bodies_days, args.results_days)
    options = ServeOptions(
        host=args.host,
        port=args.port,
        retention=retention,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        log_level=args.log_level,
    )

    def ready(url: str) -> None:
        print(f"RECEIVER_URL={url}", file=env.stdout, flush=True)
        print(
            f"Receiving TitanX webhooks at {url}/hooks/titanx (database {store.url_label}, "
            f"secrets {receiver.secrets.path}). Ctrl-C stops.",
            file=env.stderr,
            flush=True,
        )

    try:
        serve(receiver, options, ready)
    finally:
        store.close()
    return ExitCode.OK


# -- status --------------------------------------------------------------------------------------


def _status_lines(data: dict[str, Any], source: str) -> list[tuple[str, str]]:
    by_state = data.get("by_state") or {}
    kept = by_state.get("unparsed", 0)
    detail = ", ".join(
        f"{label} {by_state.get(state, 0):,}"
        for state, label in (
            ("applied", "applied"),
            ("unparsed", "kept aside"),
            ("ignored", "ignored"),
            ("stale", "stale"),
        )
        if by_state.get(state, 0) or state == "applied"
    )
    lines = [
        ("Receiver", source),
        ("Deliveries stored", f"{data.get('deliveries', 0):,} ({detail})"),
        ("Duplicates", f"{data.get('duplicates', 0):,} (acknowledged, stored once)"),
        ("Quarantined", f"{data.get('quarantined', 0):,} (failed signature check)"),
        ("Last delivery", str(data.get("last_delivery_text") or "never")),
        ("Jobs completed", f"{data.get('jobs_completed', 0):,}"),
        ("Contacts scored", f"{data.get('results', 0):,}"),
        ("Read tokens", f"{data.get('tokens', 0):,}"),
    ]
    endpoints = data.get("by_endpoint") or {}
    if endpoints:
        lines.append(("Endpoints", ", ".join(f"{k} {v:,}" for k, v in sorted(endpoints.items()))))
    if data.get("quarantined"):
        lines.append(("", f"last {data.get('last_quarantined_text')}; after fixing the secret,"))
        lines.append(("", "run `csvscore receiver reverify`"))
    if kept:
        lines.append(("", "kept-aside bodies: `csvscore receiver reprocess` after an update"))
    return lines


@_with_store
def _local_status(args: argparse.Namespace, env: Env, store: Store) -> int:
    from dataclasses import asdict

    s = store.status()
    data: dict[str, Any] = asdict(s)
    data["last_delivery"] = _iso(s.last_delivery_ms)
    data["last_quarantined"] = _iso(s.last_quarantined_ms)
    data["database"] = store.url_label
    return _print_status(args, env, data, store.url_label)


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ms(iso: str | None) -> int | None:
    if not iso:
        return None
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _print_status(args: argparse.Namespace, env: Env, data: dict[str, Any], source: str) -> int:
    if args.json:
        out = {k: v for k, v in data.items() if not k.endswith("_ms")}
        json.dump(out, env.stdout, indent=2, sort_keys=True)
        env.stdout.write("\n")
        return ExitCode.OK
    data["last_delivery_text"] = _when(_ms(data.get("last_delivery")))
    data["last_quarantined_text"] = _when(_ms(data.get("last_quarantined")))
    for label, value in _status_lines(data, source):
        print(f"{label:<19}{value}" if label else f"{'':<19}{value}", file=env.stdout)
    return ExitCode.OK


def cmd_status(args: argparse.Namespace, env: Env) -> int:
    from csvscore.user.receiver import ENV_RECEIVER_DB, load_link

    if args.db or env.environ.get(ENV_RECEIVER_DB) or args.local:
        return int(_local_status(args, env))
    link = load_link(env.environ)
    if link is None:
        return int(_local_status(args, env))
    from csvscore.api.receiver import ReceiverClient

    with ReceiverClient(link.url, link.token) as client:
        data = client.status()
    data.pop("version", None)
    return _print_status(args, env, data, link.url)


# -- maintenance ---------------------------------------------------------------------------------


@_with_store
def cmd_purge(args: argparse.Namespace, env: Env, store: Store) -> int:
    from csvscore.receiver.store import Retention

    if args.contact:
        counts = store.erase_contact(args.contact)
        print(
            f"Erased contact {args.contact}: {counts.results} result(s), "
            f"{counts.bodies} raw delivery body(ies).",
            file=env.stdout,
        )
        return ExitCode.OK
    retention = Retention(args.bodies_days, args.results_days, args.quarantine_days)
    counts = store.purge(retention)
    print(
        f"Purged: {counts.bodies} raw bodies (older than {args.bodies_days:g} days), "
        f"{counts.results} results and {counts.jobs} jobs (older than {args.results_days:g} "
        f"days), {counts.deliveries} delivery records, {counts.quarantine} quarantined bodies.",
        file=env.stdout,
    )
    return ExitCode.OK


@_with_store
def cmd_reverify(args: argparse.Namespace, env: Env, store: Store) -> int:
    released, left = _receiver(args, env, store).reverify()
    print(
        f"Re-verified the quarantine: {released} deliveries now verify and were stored; "
        f"{left} still do not.",
        file=env.stdout,
    )
    return ExitCode.OK


@_with_store
def cmd_reprocess(args: argparse.Namespace, env: Env, store: Store) -> int:
    counts = _receiver(args, env, store).reprocess()
    total = sum(counts.values())
    parts = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "nothing to do"
    print(f"Reprocessed {total} kept-aside deliveries: {parts}.", file=env.stdout)
    return ExitCode.OK


# -- tokens and secrets --------------------------------------------------------------------------


@_with_store
def cmd_token_add(args: argparse.Namespace, env: Env, store: Store) -> int:
    from csvscore.receiver.tokens import check_name, new_token

    token = new_token()
    store.add_token(check_name(args.name), token)
    print(f"Read token for {args.name} (shown once; give it to them privately):", file=env.stderr)
    print(token, file=env.stdout)
    print("They run `csvscore receiver connect https://<this receiver>` and paste it.",
          file=env.stderr)  # fmt: skip
    print(f"To revoke it: csvscore receiver token revoke {args.name}", file=env.stderr)
    return ExitCode.OK


@_with_store
def cmd_token_list(args: argparse.Namespace, env: Env, store: Store) -> int:
    tokens = store.tokens()
    if not tokens:
        print("No read tokens yet: `csvscore receiver token add NAME`.", file=env.stdout)
    for name, created, revoked in tokens:
        state = f"revoked {_iso(revoked)}" if revoked else "live"
        print(f"{name:<24} created {_iso(created)}  {state}", file=env.stdout)
    return ExitCode.OK


@_with_store
def cmd_token_revoke(args: argparse.Namespace, env: Env, store: Store) -> int:
    if not store.revoke_token(args.name):
        raise ConfigError(f"no live read token named {args.name!r} (`receiver token list`)")
    print(f"Revoked the read token of {args.name}.", file=env.stdout)
    return ExitCode.OK


def _secrets(args: argparse.Namespace, env: Env) -> Any:
    from csvscore.receiver.secretfile import SecretFile
    from csvscore.user.receiver import secrets_path

    return SecretFile(secrets_path(args.secrets, env.environ))


def cmd_secret_add(args: argparse.Namespace, env: Env) -> int:
    if args.stdin:
        secret = env.stdin.readline().strip()
    elif env.interactive:
        secret = getpass.getpass("Webhook secret (input hidden): ").strip()
    else:
        raise UsageError("no terminal to ask for the secret; pipe it in with --stdin")
    info = _secrets(args, env).add(args.endpoint, secret, note="added by hand")
    print(
        f"Stored a secret for endpoint {info.endpoint} (fingerprint {info.fingerprint}) in "
        f"{_secrets(args, env).path}.",
        file=env.stdout,
    )
    return ExitCode.OK


def cmd_secret_list(args: argparse.Namespace, env: Env) -> int:
    items = _secrets(args, env).endpoints()
    if not items:
        print("No webhook secrets yet: `csvscore webhook create --url ...`.", file=env.stdout)
    for i in items:
        hook = i.webhook_id or "-"
        print(f"{i.endpoint:<16} {i.fingerprint}  webhook {hook}  added {i.added_at or '?'}",
              file=env.stdout)  # fmt: skip
    return ExitCode.OK


def cmd_secret_remove(args: argparse.Namespace, env: Env) -> int:
    removed = _secrets(args, env).remove(args.endpoint, args.fingerprint)
    if not removed:
        raise ConfigError(
            f"no secret of endpoint {args.endpoint!r} has a fingerprint starting with "
            f"{args.fingerprint!r} (`receiver secret list`)"
        )
    print(f"Removed {removed} secret(s) from endpoint {args.endpoint}.", file=env.stdout)
    return ExitCode.OK


# -- connect (ops laptops) -----------------------------------------------------------------------


def cmd_connect(args: argparse.Namespace, env: Env) -> int:
    from csvscore.api.receiver import ReceiverClient, check_receiver_url
    from csvscore.user.receiver import save_link

    url = check_receiver_url(args.url)
    if args.token_stdin:
        token = env.stdin.readline().strip()
    elif env.interactive:
        token = getpass.getpass("Read token from your receiver's admin (input hidden): ").strip()
    else:
        raise UsageError("no terminal to ask for the token; pipe it in with --token-stdin")
    if not token:
        raise UsageError("no token entered; nothing stored")
    with ReceiverClient(url, token) as client:
        status = client.status()  # ReceiverError: unreachable or token refused; nothing stored
    where = save_link(url, token, env.environ)
    print(
        f"Connected to {url} ({status.get('results', 0):,} contacts scored there); "
        f"the token is stored in {where}.",
        file=env.stdout,
    )
    return ExitCode.OK


# -- the parser ----------------------------------------------------------------------------------


def add_receiver_parser(
    add: Callable[..., argparse.ArgumentParser], parser_class: type[argparse.ArgumentParser]
) -> None:
    """``csvscore receiver ...`` (``add`` is the top-level subparsers' add_parser)."""
    p = add("receiver", help="run or look after the webhook receiver; connect to one")
    sub = p.add_subparsers(
        dest="action", metavar="ACTION", parser_class=parser_class, required=True
    )

    def db(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--db", help="database URL: sqlite:///path or postgresql://... (default: "
            "CSVSCORE_RECEIVER_DB, else a SQLite file in the state folder)"
        )  # fmt: skip

    def secrets(q: argparse.ArgumentParser) -> None:
        q.add_argument("--secrets", type=Path, help="webhook secrets file (0600)")

    q = sub.add_parser("serve", help="receive TitanX webhooks (needs csvscore[receiver])")
    db(q)
    secrets(q)
    q.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    q.add_argument("--port", type=int, default=8080, help="port (0: any free one; default 8080)")
    q.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-* headers")
    q.add_argument("--forwarded-allow-ips", default="127.0.0.1", help="proxies to trust")
    q.add_argument("--bodies-days", type=float, default=30, help="keep raw bodies (default 30)")
    q.add_argument("--results-days", type=float, default=180, help="keep scores (default 180)")
    q.add_argument("--no-purge", action="store_true", help="no automatic retention purge")
    q.add_argument(
        "--log-level",
        default="info",
        choices=("debug", "info", "warning", "error"),
        help="how much to log (never bodies, secrets or tokens)",
    )
    q.set_defaults(func=cmd_serve)

    q = sub.add_parser("status", help="deliveries, duplicates, quarantine, last delivery")
    db(q)
    q.add_argument("--local", action="store_true", help="read the local database, not `connect`")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=cmd_status)

    q = sub.add_parser("purge", help="delete personal data past its retention, or one contact")
    db(q)
    q.add_argument("--bodies-days", type=float, default=30, help="raw bodies older (default 30)")
    q.add_argument("--results-days", type=float, default=180, help="scores older (default 180)")
    q.add_argument(
        "--quarantine-days", type=float, default=30, help="quarantined bodies older (default 30)"
    )
    q.add_argument("--contact", metavar="KEY", help="erase one customerContactId everywhere")
    q.set_defaults(func=cmd_purge)

    q = sub.add_parser("reverify", help="re-check quarantined deliveries with today's secrets")
    db(q)
    secrets(q)
    q.set_defaults(func=cmd_reverify)

    q = sub.add_parser("reprocess", help="parse kept-aside deliveries again (after an update)")
    db(q)
    secrets(q)
    q.set_defaults(func=cmd_reprocess)

    q = sub.add_parser("token", help="read tokens for the CLI: add, list, revoke")
    tsub = q.add_subparsers(dest="token_action", metavar="ACTION", parser_class=parser_class,
                            required=True)  # fmt: skip
    t = tsub.add_parser("add", help="make a token for NAME and print it once")
    t.add_argument("name", help="who it is for (one token per person)")
    db(t)
    t.set_defaults(func=cmd_token_add)
    t = tsub.add_parser("list", help="list tokens (names and dates only)")
    db(t)
    t.set_defaults(func=cmd_token_list)
    t = tsub.add_parser("revoke", help="revoke NAME's token")
    t.add_argument("name", help="the name given at `token add`")
    db(t)
    t.set_defaults(func=cmd_token_revoke)

    q = sub.add_parser("secret", help="webhook secrets by hand: add, list, remove")
    ssub = q.add_subparsers(dest="secret_action", metavar="ACTION", parser_class=parser_class,
                            required=True)  # fmt: skip
    t = ssub.add_parser("add", help="store a secret (asked hidden, or --stdin)")
    t.add_argument("--endpoint", default="default", help="endpoint name (default: default)")
    t.add_argument("--stdin", action="store_true", help="read the secret from standard input")
    secrets(t)
    t.set_defaults(func=cmd_secret_add)
    t = ssub.add_parser("list", help="endpoints and secret fingerprints (never the secrets)")
    secrets(t)
    t.set_defaults(func=cmd_secret_list)
    t = ssub.add_parser("remove", help="remove an old secret after rotation")
    t.add_argument("endpoint", help="the endpoint name (`default` for /hooks/titanx)")
    t.add_argument("fingerprint", help="its fingerprint (or the first characters)")
    secrets(t)
    t.set_defaults(func=cmd_secret_remove)

    q = sub.add_parser("connect", help="use a team receiver for scores (stores URL and token)")
    q.add_argument("url", help="the receiver's https:// address")
    q.add_argument("--token-stdin", action="store_true", help="read the token from stdin")
    q.set_defaults(func=cmd_connect)
