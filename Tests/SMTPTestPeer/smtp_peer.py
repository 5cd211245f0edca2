#!/usr/bin/env python3
"""A real SMTP server for the SMTPClient and notifier tests, built on aiosmtpd (pip install aiosmtpd).

Listens on 127.0.0.1 (port 0 picks a free one), optionally offers STARTTLS with a given certificate and
optionally requires AUTH. Each accepted message is written to --dir as NNNN.json, decoded by Python's own
email package (an independent MIME implementation) so tests can compare subject and body exactly:

    {"mail_from", "rcpt_tos", "subject", "body", "headers": {name: value}, "raw", "tls", "auth_user"}

When listening, the port is written to --ready-file (atomically), so a test can wait for it without
blocking on a pipe. Runs until killed.
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def write_atomically(path, text):
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


class Recorder:
    """Writes each message that reaches DATA to the output directory."""

    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = message.get_content()
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(message["subject"]),
            "body": body.replace("\r\n", "\n"),
            "headers": {name: str(value) for name, value in message.items()},
            "raw": raw.decode("utf-8", "replace"),
            "tls": session.ssl is not None,
            "auth_user": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
        }
        path = os.path.join(self.directory, "%04d.json" % self.count)
        write_atomically(path, json.dumps(record, ensure_ascii=False))
        return "250 2.0.0 Message accepted"


def authenticator_for(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        accepted = auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=accepted, handled=False, auth_data=auth_data)
    return authenticate


def main():
    # A child of the Swift test runner inherits its blocked signals; unblock them so SIGTERM ends the peer.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True, help="where received messages are written")
    parser.add_argument("--ready-file", required=True, help="receives the bound port once listening")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert", help="PEM certificate: offer STARTTLS")
    parser.add_argument("--key", help="PEM private key for --cert")
    parser.add_argument("--auth", help="user:password that AUTH must present (AUTH is then required)")
    parser.add_argument("--mechanisms", default="PLAIN LOGIN", help="AUTH mechanisms to offer")
    arguments = parser.parse_args()

    tls_context = None
    if arguments.cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(arguments.cert, arguments.key)
    options = {"decode_data": False, "hostname": "peer.test", "tls_context": tls_context}
    if arguments.auth:
        user, password = arguments.auth.split(":", 1)
        offered = set(arguments.mechanisms.upper().split())
        options.update(
            authenticator=authenticator_for(user, password),
            auth_required=True,
            # Over plain TCP only when no certificate is given (tests of AUTH to a loopback host).
            auth_require_tls=tls_context is not None,
            auth_exclude_mechanism=[name for name in ("PLAIN", "LOGIN") if name not in offered],
        )
    recorder = Recorder(arguments.dir)

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(recorder, **options), "127.0.0.1", arguments.port)
        port = server.sockets[0].getsockname()[1]
        write_atomically(arguments.ready_file, str(port))
        await server.serve_forever()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
