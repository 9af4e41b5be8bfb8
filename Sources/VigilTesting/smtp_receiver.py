#!/usr/bin/env python3
"""A real SMTP server for tests (aiosmtpd), recording every message it accepts as a JSON line.

Usage: smtp_receiver.py LOG_FILE PORT_FILE CERT_FILE KEY_FILE [PORT]

It offers STARTTLS with the given certificate and requires it before anything else, and requires
AUTH (PLAIN or LOGIN) as user "vigil" with password "s3cret" before it takes mail. Listens on
127.0.0.1 at PORT (a free one when not given, so a test can stop it and start it again on the same
port to stage an outage) and writes the port to PORT_FILE once it answers.

Each record: the envelope (mail_from, rcpt_tos), whether the session was encrypted and who logged
in, the headers tests check, and both bodies, decoded with Python's `email` package.
"""
import json
import os
import signal
import socket
import ssl
import sys
import time
from email import policy
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

log_path, port_path, cert_path, key_path = sys.argv[1:5]
# The test process blocks SIGTERM in the thread that starts this one, and a child inherits that
# mask: unblock it (before the server's threads start), so the test can stop this server.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
signal.signal(signal.SIGTERM, signal.SIG_DFL)


class Recorder:
    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        # Every value a string, as the Swift side reads them.
        auth = session.auth_data
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": ", ".join(envelope.rcpt_tos),
            "tls": "true" if session.ssl is not None else "false",
            "login": auth.login.decode() if isinstance(auth, LoginPassword) else "",
            "content_type": message.get_content_type(),
        }
        for header in ("From", "To", "Subject", "Message-ID", "In-Reply-To", "References", "Date",
                       "X-Vigil-Event", "X-Vigil-Alert-ID", "X-Vigil-Severity", "Auto-Submitted"):
            if message[header] is not None:
                record[header.lower()] = str(message[header])
        for part in message.walk():
            if part.get_content_type() in ("text/plain", "text/html") and not part.is_multipart():
                record[part.get_content_subtype()] = part.get_content()
        with open(log_path, "a") as log:
            log.write(json.dumps(record) + "\n")
        return "250 Message accepted for delivery"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"vigil" and auth_data.password == b"s3cret"
    # `handled=False`: aiosmtpd then answers a failure with 535 itself.
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


port = int(sys.argv[5]) if len(sys.argv) > 5 else free_port()
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert_path, key_path)
controller = Controller(Recorder(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                        authenticator=authenticate, auth_require_tls=True, auth_exclude_mechanism=["CRAM-MD5"])
controller.start()
with open(port_path + ".tmp", "w") as out:
    out.write(str(port))
os.replace(port_path + ".tmp", port_path)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    controller.stop()
