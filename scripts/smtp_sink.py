"""A real SMTP server for steward's tests, on 127.0.0.1 only (aiosmtpd from PyPI).

It requires STARTTLS before anything else (or, with --implicit-tls, TLS from the first byte,
as SMTPS on port 465) and AUTH (PLAIN or LOGIN) with one user and password, then stores every accepted message as one JSON file in --maildir:
{"mail_from": ..., "rcpt_tos": [...], "data": "<the message as received>"}, named by arrival
time, so a test reads back exactly what was delivered (envelope Bcc included).

    python smtp_sink.py --port P --cert C --key K --user U --password-file F --maildir D [--implicit-tls]
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, maildir, port):
        self.maildir = maildir
        self.port = port
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "data": envelope.content.decode("utf-8", "replace"),
        }
        # Named by arrival time (both servers share the directory), then port.
        with self.lock:
            name = "%020d-%05d.json" % (time.time_ns(), self.port)
        tmp = os.path.join(self.maildir, "." + name)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.replace(tmp, os.path.join(self.maildir, name))
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--implicit-tls", action="store_true")
    args = parser.parse_args()
    with open(args.password_file) as f:
        password = f.read().strip()
    os.makedirs(args.maildir, exist_ok=True)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == args.user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    if args.implicit_tls:
        tls = {"ssl_context": context, "auth_require_tls": False}
    else:
        tls = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
    controller = Controller(
        Store(args.maildir, args.port),
        hostname="127.0.0.1",
        port=args.port,
        auth_required=True,
        authenticator=authenticator,
        **tls,
    )
    controller.start()
    print("smtp sink listening on 127.0.0.1:%d%s" % (args.port, " (TLS)" if args.implicit_tls else ""), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
