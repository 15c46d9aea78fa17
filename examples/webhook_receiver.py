#!/usr/bin/env python3
"""A receiver for Compass webhook notifications, using only the standard library
and `standardwebhooks`.

    python examples/webhook_receiver.py --secret whsec_... --port 8080 [--out events.jsonl]

Every request is verified with the webhook's signing secret (the one
`addWebhook { signingSecret }` or `rotateWebhookSigningSecret` showed):
a bad or missing signature is answered 401. Compass delivers at least once,
so a notification may come again under the same `webhook-id`; this receiver
answers 204 to every verified one but handles each `webhook-id` once: it
prints the event as one JSON line on stdout.

With `--out FILE`, every verified request is appended to FILE as one JSON
line `{"webhookID", "duplicate", "event"}` (duplicates included, marked), and
the IDs already in FILE count as seen when the receiver starts again.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

MAX_BODY = 1024 * 1024


class Inbox:
    """The webhook IDs handled so far, and where verified notifications go."""

    def __init__(self, out: Path | None) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        if out is not None and out.exists():
            for line in out.read_text().splitlines():
                if line.strip():
                    self._seen.add(json.loads(line)["webhookID"])

    def accept(self, webhook_id: str, event: Any) -> bool:
        """Records one verified notification; False when it came before."""
        with self._lock:
            duplicate = webhook_id in self._seen
            self._seen.add(webhook_id)
            if self._out is not None:
                line = {"webhookID": webhook_id, "duplicate": duplicate, "event": event}
                with self._out.open("a") as sink:
                    sink.write(json.dumps(line, sort_keys=True) + "\n")
            if not duplicate:
                print(json.dumps(event, sort_keys=True), flush=True)
        return not duplicate


def handler_for(verifier: Webhook, inbox: Inbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the sender may reuse its connection

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._answer(413, "body too large")
                self.close_connection = True
                return
            body = self.rfile.read(length)
            headers = {key.lower(): value for key, value in self.headers.items()}
            try:
                verifier.verify(body, headers, json_parse=False)
            except (WebhookVerificationError, ValueError) as error:  # ValueError: malformed
                self._answer(401, f"signature not verified: {error}")
                return
            try:
                event = json.loads(body)
            except ValueError:
                self._answer(400, "the body is not JSON")
                return
            inbox.accept(headers["webhook-id"], event)
            self._answer(204)

        def _answer(self, status: int, reason: str = "") -> None:
            payload = reason.encode()
            self.send_response(status)
            if status != 204:
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if status != 204:
                self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secret", required=True, help="the webhook's whsec_... secret")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--out", type=Path, help="append verified notifications here")
    options = parser.parse_args(argv)
    server = ThreadingHTTPServer(
        (options.host, options.port), handler_for(Webhook(options.secret), Inbox(options.out))
    )
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
