#!/usr/bin/env python3
"""A local HTTP receiver for tests: writes its port to PORT_FILE, records every request as a JSON line.

Usage: receiver.py LOG_FILE PORT_FILE
Paths: /ok answers 200 with a JSON body; /flaky answers 500 to its first two requests, then 200;
/missing answers 404; /bad answers 400; /hang never answers (holds the connection for a minute);
/slow answers 200 after 10 seconds (logged on arrival, so a test sees it in flight), and after a
request to /control/kill-on-slow/PID the next request to /slow SIGKILLs process PID as it arrives (a
sender killed mid-delivery however slowly the test itself runs);
/outage/... answers 503 between a request to /control/down and one to /control/up (an outage
a test starts and ends), else 200; POST /train is a training service (it reads the training data
file the request names, checks its SHA-256, and answers "running" with a status URL), and
/train/jobs/N answers that job "done" with the rows it read; anything else 200 with an empty body. Each record has the method, path, body, the
headers tests check, and the status answered.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log_path = sys.argv[1]
counts = {}
state = {"down": False, "kill": None}
jobs = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        counts[self.path] = counts.get(self.path, 0) + 1
        record = {"method": self.command, "path": self.path, "body": body,
                  "idempotency_key": self.headers.get("Idempotency-Key"),
                  "signature": self.headers.get("X-Vigil-Signature-256"),
                  "event": self.headers.get("X-Vigil-Event"),
                  "authorization": self.headers.get("Authorization"),
                  "dd_api_key": self.headers.get("DD-API-KEY"),
                  "content_type": self.headers.get("Content-Type")}
        if self.path == "/slow":
            with open(log_path, "a") as log:
                log.write(json.dumps({key: value for key, value in dict(record, status="200").items() if value is not None}) + "\n")
            import os, signal, time
            victim, state["kill"] = state["kill"], None
            if victim is not None:
                os.kill(victim, signal.SIGKILL)
            time.sleep(10)
            try:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
            except OSError:
                pass  # the sender is gone
            return
        if self.path == "/hang":
            import time
            time.sleep(60)
            return
        if self.path == "/flaky" and counts[self.path] <= 2:
            status, reply = 500, b"busy"
        elif self.path == "/missing":
            status, reply = 404, b"no such thing"
        elif self.path == "/bad":
            status, reply = 400, b"invalid routing key"
        elif self.path.startswith("/control/kill-on-slow/"):
            state["kill"] = int(self.path.rsplit("/", 1)[1])
            status, reply = 200, b""
        elif self.path in ("/control/down", "/control/up"):
            state["down"] = self.path == "/control/down"
            status, reply = 200, b""
        elif self.path.startswith("/outage/") and state["down"]:
            status, reply = 503, b"down for maintenance"
        elif self.path == "/train" and self.command == "POST":
            import hashlib
            handed = json.loads(body)["training_data"]
            with open(handed["path"], "rb") as data:
                content = data.read()
            digest = hashlib.sha256(content).hexdigest()
            jobs.append({"rows": content.count(b"\n") - 1,
                         "hash_matches": int(digest == handed["sha256"] == handed["manifest"]["data_sha256"])})
            url = "http://127.0.0.1:%d/train/jobs/%d" % (self.server.server_address[1], len(jobs))
            status, reply = 202, json.dumps({"status": "running", "status_url": url}).encode()
        elif self.path.startswith("/train/jobs/"):
            job = jobs[int(self.path.rsplit("/", 1)[1]) - 1]
            status, reply = 200, json.dumps({"status": "done", "artifact_uri": "s3://models/churn/trained", "framework": "python",
                                             "metrics": {"rows_seen": job["rows"], "hash_matches": job["hash_matches"]}}).encode()
        elif self.path == "/ok":
            status, reply = 200, json.dumps({"accepted": True, "echo": body}).encode()
        else:
            status, reply = 200, b""
        record["status"] = str(status)
        with open(log_path, "a") as log:
            log.write(json.dumps({key: value for key, value in record.items() if value is not None}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", str(len(reply)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = handle_any


def watch_parent():
    """Exit when the test that started us goes away (python3 may be a shim, so the test cannot
    always signal this process directly), and after ten minutes whatever happens."""
    import os, threading, time
    parent, started = os.getppid(), time.monotonic()
    def loop():
        while os.getppid() == parent and time.monotonic() - started < 600:
            time.sleep(0.2)
        os._exit(0)
    threading.Thread(target=loop, daemon=True).start()


watch_parent()
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as port_file:
    port_file.write(str(server.server_address[1]))
import os
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
