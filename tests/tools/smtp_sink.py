"""A real SMTP server for the Rust tests (see `src/smtp.rs`), built on aiosmtpd.

    python smtp_sink.py DIR [--port N] [--mode accept|slow|tempfail|permfail|drop]

Listens on 127.0.0.1 (port 0 picks a free one) and prints `PORT <n>` as its first line on
stdout once it accepts connections. Each accepted message is saved in DIR as `<n>.eml` (the
DATA bytes exactly as received, after dot-unstuffing, CRLF line ends kept) beside `<n>.json`
(`{"mail_from": ..., "rcpt_to": [...]}`), numbered from 000001 in arrival order. Both are written
under a temporary name and renamed, the .json first, so a reader that sees `<n>.eml` sees a whole
message and its envelope.

What it answers is read from the file DIR/mode on every MAIL and every end of DATA (so a test can
switch it while the server runs; write it atomically), or from --mode while that file is absent:

- accept: 250, and the message is saved;
- slow: as accept, but the answer to the end of DATA comes SLOW_SECONDS late (a slow relay);
- hold: the answer to the end of DATA waits for as long as the mode stays `hold` (a relay that
  stalls mid-send), then is given as the new mode says; each message held writes DIR/held-<n>
  as it starts waiting, so a test knows the sender is stuck;
- tempfail: 451 to MAIL (and to DATA, if the switch came mid-transaction); nothing is saved;
- permfail: 550 likewise;
- drop: the client's message is read to its final dot, then the connection is cut (TCP abort)
  with no answer; nothing is saved.

Exits when its stdin reaches end of file, so it dies with the process that started it.
"""
import argparse
import asyncio
import json
import os
import sys
import threading

from aiosmtpd.smtp import SMTP

MODES = ("accept", "slow", "tempfail", "permfail", "drop", "hold")
# How late the slow mode answers: twice the lease of the test that uses it (3 s), well within
# the service's send timeout (60 s).
SLOW_SECONDS = 6
REFUSALS = {
    "tempfail": "451 4.3.0 Test sink: try again later",
    "permfail": "550 5.7.1 Test sink: refused",
}


class Sink:
    def __init__(self, directory, default_mode):
        self.directory = directory
        self.default_mode = default_mode
        self.mode_file = os.path.join(directory, "mode")
        self.count = 0
        self.held = 0

    def mode(self):
        try:
            with open(self.mode_file, "r", encoding="ascii") as f:
                mode = f.read().strip()
        except FileNotFoundError:
            return self.default_mode
        if mode not in MODES:
            print(f"smtp_sink: unknown mode {mode!r} in {self.mode_file}; answering 451", file=sys.stderr, flush=True)
            return "tempfail"
        return mode

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        refusal = REFUSALS.get(self.mode())
        if refusal is not None:
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        mode = self.mode()
        if mode == "hold":
            self.held += 1
            write_atomically(os.path.join(self.directory, f"held-{self.held:06d}"), b"")
            while mode == "hold":
                await asyncio.sleep(0.05)
                mode = self.mode()
        if mode == "drop":
            server.transport.abort()
            # connection_lost() cancels this coroutine; nothing more is said.
            await asyncio.sleep(3600)
        refusal = REFUSALS.get(mode)
        if refusal is not None:
            return refusal
        if mode == "slow":
            await asyncio.sleep(SLOW_SECONDS)
        self.count += 1
        stem = os.path.join(self.directory, f"{self.count:06d}")
        envelope_json = json.dumps({"mail_from": envelope.mail_from, "rcpt_to": list(envelope.rcpt_tos)}).encode()
        write_atomically(stem + ".json", envelope_json)
        write_atomically(stem + ".eml", envelope.original_content)
        return f"250 OK saved as {self.count:06d}"


def write_atomically(path, data):
    temporary = path + ".part"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.replace(temporary, path)


def exit_when_stdin_closes():
    try:
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mode", choices=MODES, default="accept")
    args = parser.parse_args()
    os.makedirs(args.directory, exist_ok=True)
    sink = Sink(args.directory, args.mode)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        # A fixed hostname: the default asks the resolver for our FQDN on every connection.
        return SMTP(sink, hostname="convene-test-sink", ident="Convene test SMTP sink", loop=loop)

    server = loop.run_until_complete(loop.create_server(factory, host="127.0.0.1", port=args.port))
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
