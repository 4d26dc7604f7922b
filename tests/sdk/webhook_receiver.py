"""A webhook receiver on 127.0.0.1 that checks every delivery with the
official SDK's own `sudomock.verify_webhook_signature`.

Run by mockup/tests/service.rs (`webhooks_reach_a_real_receiver`):
    python3 webhook_receiver.py SECRETS_FILE LOG_FILE FAIL_FIRST
It prints its port on the first line of stdout, then serves until killed.
SECRETS_FILE holds the secrets to accept, one per line (re-read on every
delivery, so the test can rotate). The first FAIL_FIRST deliveries are
answered 500 on purpose (after being logged). Each delivery appends one
JSON line to LOG_FILE: the event, the headers that matter and whether the
signature verified under one of the secrets.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sudomock import verify_webhook_signature
from sudomock.exceptions import WebhookVerificationError

secrets_file, log_file, fail_first = sys.argv[1], sys.argv[2], int(sys.argv[3])
lock = threading.Lock()
count = 0


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(secrets_file) as f:
            secrets = [s.strip() for s in f if s.strip()]
        verified = None
        for secret in secrets:
            try:
                verify_webhook_signature(
                    secret,
                    self.headers.get("X-SudoMock-Signature", ""),
                    self.headers.get("X-SudoMock-Timestamp", ""),
                    raw,
                )
                verified = secret
                break
            except WebhookVerificationError:
                pass
        try:
            event = json.loads(raw)
        except ValueError:
            event = {}
        with lock:
            count += 1
            failing = count <= fail_first
            with open(log_file, "a") as f:
                f.write(json.dumps({
                    "path": self.path,
                    "event_id": event.get("id"),
                    "type": event.get("type"),
                    "job_id": (event.get("data") or {}).get("job_id"),
                    "delivery": self.headers.get("X-SudoMock-Delivery"),
                    "attempt": self.headers.get("X-SudoMock-Attempt"),
                    "verified_with": verified,
                    "answered": 500 if failing else 200,
                }) + "\n")
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
