"""An HTTP redirector in front of a hub, as a process of its own:

    python -m tests.transports.redirector TARGET [--status 307] [--loop]

Prints its base URL (http://127.0.0.1:PORT) as the first stdout line, then one JSON
line per request it answers: method, path, the Authorization and Cookie headers,
and every header as received.
Every request, WebSocket upgrades included, is answered with a redirect: a path
/hop/N/REST goes to /hop/N-1/REST on the redirector itself (same origin), and
/hop/0/REST to TARGET/REST, the query kept. With --loop, /hop/N/REST always goes
to itself.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_STDOUT = threading.Lock()


class Redirector(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    target = ""
    status = 307
    loop = False

    def _redirect(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        record = {
            "method": self.command,
            "path": self.path,
            "authorization": self.headers.get("Authorization"),
            "cookie": self.headers.get("Cookie"),
            "headers": [[name.lower(), value] for name, value in self.headers.items()],
        }
        # One write per record under a lock: the server answers on threads, and
        # print() writes the text and its newline apart (two records met on a line).
        with _STDOUT:
            sys.stdout.write(json.dumps(record) + "\n")
            sys.stdout.flush()
        _, first, hops, rest = [*self.path.split("/", 3), "", "", ""][:4]
        if first != "hop" or not hops.isdigit():
            location = f"{self.target}{self.path}"
        elif self.loop:
            location = f"{self._own_base()}{self.path}"
        elif int(hops) > 0:
            location = f"{self._own_base()}/hop/{int(hops) - 1}/{rest}"
        else:
            location = f"{self.target}/{rest}"
        self.send_response(self.status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _own_base(self) -> str:
        # Absolute: the official client's Node event source cannot take a relative one.
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    do_GET = do_POST = do_DELETE = do_HEAD = _redirect

    def log_message(self, format: str, *args: object) -> None:
        pass  # stdout carries the records; nothing on stderr


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("target")
    parser.add_argument("--status", type=int, default=307)
    parser.add_argument("--loop", action="store_true")
    options = parser.parse_args()
    Redirector.target = options.target.rstrip("/")
    Redirector.status = options.status
    Redirector.loop = options.loop
    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirector)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
