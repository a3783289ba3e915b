"""A webhook receiver for delivery tests, run as its own process:

    python tests/webhook_receiver.py --port PORT --log FILE [--status CODE] [--fail-first N]
                                     [--lose-first-answer]

It behaves like a careful chat or status-page service: every POST is logged (one JSON line:
path, headers, body, and whether it was a repeat), and a repeat of an ``Idempotency-Key`` it
already accepted is answered 200 without being accepted again. ``--fail-first N`` answers 503
to the first N requests (a receiver having a bad minute); ``--status`` answers that code
always; ``--lose-first-answer`` accepts the first request and then drops the connection
without answering (the sender cannot know it arrived).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--lose-first-answer", action="store_true")
    args = parser.parse_args()
    lock = threading.Lock()
    state = {"requests": 0, "accepted": set()}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            key = self.headers.get("idempotency-key", "")
            with lock:
                state["requests"] += 1
                number = state["requests"]
                failing = number <= args.fail_first or args.status >= 300
                repeat = bool(key) and key in state["accepted"]
                accepted = not failing and not repeat
                if accepted:
                    state["accepted"].add(key)
                with open(args.log, "a", encoding="utf-8") as log:
                    log.write(json.dumps({
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body.decode("utf-8"),
                        "accepted": accepted,
                        "repeat": repeat,
                    }) + "\n")
                    log.flush()
                    os.fsync(log.fileno())
            if args.lose_first_answer and number == 1:
                self.close_connection = True
                self.connection.shutdown(2)  # the update arrived; the answer never does
                return
            code = 503 if number <= args.fail_first else (args.status if not repeat else 200)
            answer = b'{"ok": true}' if code < 300 else b'{"error": "not now"}'
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
