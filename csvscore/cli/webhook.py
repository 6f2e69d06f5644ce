"""`csvscore webhook ...`: TitanX webhook subscriptions for the receiver, run on its host.

``create --url`` subscribes the receiver and writes the once-shown secret into the receiver's
secrets file (never to the terminal); ``enable``/``disable ID``; ``test`` sends a signed synthetic
event to the receiver, as ``stripe trigger`` does, proving TLS, routing and the secret.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from csvscore.cli.env import Env
from csvscore.errors import ExitCode

if TYPE_CHECKING:
    from csvscore.api.client import TitanXClient
    from csvscore.receiver.secretfile import SecretFile

_ANSWERS = {
    200: "the receiver verified and stored it",
    401: "the receiver refused the signature: is this the secret of that endpoint?",
    404: "no receiver endpoint at that path: check the URL",
    413: "the receiver refused the size (a proxy limit?)",
    503: "the receiver could not store it now (database busy or down); TitanX would retry",
}


def _client(args: argparse.Namespace, env: Env) -> TitanXClient:
    from csvscore.api.client import DEFAULT_BASE_URL, TitanXClient
    from csvscore.user import credentials

    key, _ = credentials.resolve_api_key(env=env.environ)
    base = args.base_url or env.environ.get("TITANX_BASE_URL") or DEFAULT_BASE_URL
    return TitanXClient(key, base, max_retries=2)


def _secrets(args: argparse.Namespace, env: Env) -> SecretFile:
    from csvscore.receiver.secretfile import SecretFile
    from csvscore.user.receiver import secrets_path

    return SecretFile(secrets_path(args.secrets, env.environ))


def cmd_create(args: argparse.Namespace, env: Env) -> int:
    from csvscore.receiver.subscriptions import create_subscription

    secrets = _secrets(args, env)
    with _client(args, env) as client:
        created = create_subscription(client, args.url, secrets, name=args.name)
    print(f"Created TitanX webhook {created.webhook_id or '(no id given)'}", file=env.stdout)
    print(f"  for      {args.url}", file=env.stdout)
    print(f"  events   {', '.join(created.events)}", file=env.stdout)
    print(
        f"  secret   stored in {secrets.path} for endpoint {created.endpoint}\n"
        f"           (fingerprint {created.fingerprint}; TitanX shows it only once)",
        file=env.stdout,
    )
    print("Check it end to end with:", file=env.stdout)
    print(f"  csvscore webhook test --url {args.url}", file=env.stdout)
    return ExitCode.OK


def _set(args: argparse.Namespace, env: Env, active: bool) -> int:
    with _client(args, env) as client:
        client.set_webhook_status(args.id, active)
    print(f"Webhook {args.id} is now {'enabled' if active else 'disabled'}.", file=env.stdout)
    return ExitCode.OK


def cmd_enable(args: argparse.Namespace, env: Env) -> int:
    return _set(args, env, True)


def cmd_disable(args: argparse.Namespace, env: Env) -> int:
    return _set(args, env, False)


def _pinned_derivation(args: argparse.Namespace, env: Env, secret: str) -> str:
    """The key derivation the receiver pinned for this secret, if its database is at hand."""
    from csvscore.api.webhooks import UTF8, fingerprint

    try:
        from csvscore.receiver.database import open_store
        from csvscore.user.receiver import receiver_db_url

        store = open_store(receiver_db_url(args.db, env.environ))
        try:
            return store.pins().get(fingerprint(secret), UTF8)
        finally:
            store.close()
    except Exception:  # no database here (another host): the documented form is tried first
        return UTF8


def cmd_test(args: argparse.Namespace, env: Env) -> int:
    from csvscore.api.receiver import ReceiverError
    from csvscore.receiver.subscriptions import endpoint_of, send_test_event

    secrets = _secrets(args, env)
    found = secrets.secrets_for(endpoint_of(args.url))
    derivation = _pinned_derivation(args, env, found[0]) if found else "utf8"
    status, answer, key = send_test_event(args.url, secrets, derivation=derivation)
    meaning = _ANSWERS.get(status, "unexpected: see the receiver's log")
    print(f"Sent a signed test event ({key})", file=env.stdout)
    print(f"  to       {args.url}", file=env.stdout)
    print(f"  answer   HTTP {status} {answer}: {meaning}", file=env.stdout)
    if status != 200:
        raise ReceiverError(f"the webhook test failed (HTTP {status})")
    return ExitCode.OK


def add_webhook_parser(
    add: Callable[..., argparse.ArgumentParser], parser_class: type[argparse.ArgumentParser]
) -> None:
    p = add("webhook", help="TitanX webhook subscriptions for the receiver: create, test...")
    sub = p.add_subparsers(
        dest="action", metavar="ACTION", parser_class=parser_class, required=True
    )

    def common(q: argparse.ArgumentParser, api: bool = True) -> None:
        if api:
            q.add_argument("--base-url", help="TitanX API base URL (TITANX_BASE_URL)")
        q.add_argument("--secrets", type=Path, help="the receiver's webhook secrets file")

    q = sub.add_parser("create", help="subscribe a receiver URL; its secret goes to the receiver")
    q.add_argument("--url", required=True, help="https://HOST/hooks/titanx[/NAME]")
    q.add_argument("--name", default="csvscore receiver", help="the subscription's name")
    common(q)
    q.set_defaults(func=cmd_create)
    for name, func, text in (
        ("enable", cmd_enable, "enable a subscription"),
        ("disable", cmd_disable, "disable a subscription (TitanX keeps it)"),
    ):
        q = sub.add_parser(name, help=text)
        q.add_argument("id", help="the webhook id `create` printed")
        common(q)
        q.set_defaults(func=func)
    q = sub.add_parser("test", help="send a signed synthetic event to the receiver")
    q.add_argument("--url", default="http://127.0.0.1:8080/hooks/titanx", help="the hook URL")
    q.add_argument("--db", help="the receiver's database (to sign as it expects)")
    common(q, api=False)
    q.set_defaults(func=cmd_test)
