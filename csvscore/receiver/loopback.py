"""A receiver on 127.0.0.1 for one process: the sandbox's one-machine loop.

``csvscore score FILE --sandbox --wait-scores 60`` runs the sandbox (TitanX's side) and this
receiver (the team's side) in its own process: a throwaway SQLite store and secrets file in a
temporary folder, one read token made up here, and uvicorn on a free loopback port in a thread.
The sandbox's webhook subscription points at it; the scores come back through the same read API
a real receiver serves. Everything is gone when the run ends.

Needs the ``receiver`` extra (Starlette, uvicorn): :class:`ReceiverError` names it otherwise.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from csvscore.api.receiver import ReceiverError
from csvscore.receiver.secretfile import SecretFile

# The pip of the Python running csvscore: a bare `pip` may belong to another environment than
# the virtualenv csvscore was installed in (and then installs the extra where it is not seen).
EXTRA = f"{sys.executable} -m pip install 'csvscore[receiver]'"
_TOKEN_NAME = "this-run"


class LoopbackReceiver:
    """A receiver serving on 127.0.0.1 until :meth:`close`; ``url`` and ``token`` read it."""

    def __init__(self) -> None:
        try:  # the extra's modules, before anything else is done
            from csvscore.receiver.database import open_store
            from csvscore.receiver.ingest import Receiver
            from csvscore.receiver.serve import ServeOptions, make_server
        except ImportError as exc:
            raise ReceiverError(
                f"waiting for the sandbox's scores runs a score receiver on this computer, which "
                f"needs csvscore's receiver extra: {EXTRA} ({exc.name or 'a module'} is "
                "missing). Nothing was sent."
            ) from None
        self._folder = Path(tempfile.mkdtemp(prefix="csvscore-receiver-"))
        self.secrets = SecretFile(self._folder / "secrets.json")
        self.token = "csr_" + secrets.token_urlsafe(24)
        self._store = open_store(f"sqlite:///{self._folder / 'receiver.db'}")
        self._store.add_token(_TOKEN_NAME, self.token)
        options = ServeOptions(host="127.0.0.1", port=0, retention=None, log_level="warning")
        self._ready = threading.Event()
        self._server: Any
        self._server, self._sock = make_server(
            Receiver(self._store, self.secrets), options, lambda _url: self._ready.set()
        )
        host, port = self._sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name="csvscore-receiver",
            daemon=True,
        )

    @property
    def hook_url(self) -> str:
        """Where the sandbox delivers its webhooks."""
        return f"{self.url}/hooks/titanx"

    def start(self) -> LoopbackReceiver:
        self._thread.start()
        if not self._ready.wait(20):
            self.close()
            raise ReceiverError("the score receiver on this computer did not start within 20 s")
        return self

    def close(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(20)
        self._sock.close()
        self._store.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> LoopbackReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
