"""A real HTTP receiver for webhook tests: ``http.server`` on a loopback port, checking every
request's signature with the ``standardwebhooks`` library, as a receiving system would."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from tests.support import WAIT


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Hook:
    """One request as the receiver got it."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int
    payload: Any = None  # the verified JSON; None when the signature did not verify
    error: str | None = None

    @property
    def type(self) -> str:
        return self.payload["type"]

    @property
    def data(self) -> dict[str, Any]:
        return self.payload["data"]

    @property
    def msg_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Behaviour:
    """How the receiver answers: the statuses to give first (then 200), and an event that
    holds every answer back until it is set (a receiver that is slow to answer)."""

    statuses: list[int] = field(default_factory=list)
    hold: threading.Event | None = None


class Receiver:
    """Answers POSTs on ``127.0.0.1:port``; ``secrets`` by path (``/all``, …) verify them."""

    def __init__(self, secrets_by_path: dict[str, str], port: int = 0) -> None:
        self.secrets = secrets_by_path
        self.behaviour = Behaviour()
        self.hooks: list[Hook] = []
        self._lock = threading.Condition()
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.answer(self, body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        server.daemon_threads = True
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering: the port refuses connections until :meth:`start` again."""
        if self.behaviour.hold is not None:
            self.behaviour.hold.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        return self._port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._port}{path}"

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {name.lower(): value for name, value in handler.headers.items()}
        hold = self.behaviour.hold
        if hold is not None:
            hold.wait(WAIT * 3)
        with self._lock:
            status = self.behaviour.statuses.pop(0) if self.behaviour.statuses else 200
        payload, error = None, None
        try:
            payload = Webhook(self.secrets[handler.path]).verify(body, headers)
        except (WebhookVerificationError, KeyError) as problem:
            error = repr(problem)
        handler.send_response(status)
        handler.send_header("content-length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")
        with self._lock:
            self.hooks.append(Hook(handler.path, headers, body, status, payload, error))
            self._lock.notify_all()

    def received(self, path: str | None = None) -> list[Hook]:
        with self._lock:
            return [hook for hook in self.hooks if path is None or hook.path == path]

    def wait_for(self, count: int, path: str | None = None, timeout: float = WAIT) -> list[Hook]:
        """Block until ``count`` requests (to ``path``) arrived: a wait for delivery."""
        with self._lock:
            self._lock.wait_for(lambda: len(self._matching(path)) >= count, timeout)
            return self._matching(path)

    def _matching(self, path: str | None) -> list[Hook]:
        return [hook for hook in self.hooks if path is None or hook.path == path]

    def delivered(self, path: str | None = None) -> list[Hook]:
        """The requests answered with a 2xx: what the receiver took."""
        return [hook for hook in self.received(path) if 200 <= hook.answered < 300]


def body_of(hook: Hook) -> dict[str, Any]:
    return json.loads(hook.body)
