"""A command node in plain Python (standard library only).

GET /reserve calls $INVENTORY_URL/stock and answers with what it got. The
incoming traceparent (and tracestate) header is forwarded by hand, unless
--drop is given or DROP_TRACEPARENT=1: then the call carries none, as a
service that loses the trace context would. GET /healthz answers ok.

    python3 forward.py --port 8080 [--drop]
"""

import argparse
import http.server
import os
import sys
import urllib.error
import urllib.request

FORWARDED = ("traceparent", "tracestate")


class Handler(http.server.BaseHTTPRequestHandler):
    drop = False

    def do_GET(self):
        if self.path == "/healthz":
            self.answer(200, b"ok\n")
        elif self.path.split("?")[0] == "/reserve":
            self.reserve()
        else:
            self.answer(404, b"not found\n")

    def reserve(self):
        base = os.environ.get("INVENTORY_URL", "")
        if not base:
            self.answer(500, b"INVENTORY_URL is not set\n")
            return
        req = urllib.request.Request(base.rstrip("/") + "/stock")
        if not self.drop:
            for name in FORWARDED:
                value = self.headers.get(name)
                if value:
                    req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                self.answer(resp.status, resp.read())
        except urllib.error.HTTPError as e:
            self.answer(e.code, e.read())
        except OSError as e:
            self.answer(502, ("inventory: %s\n" % e).encode())

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("forward: " + (fmt % args) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--drop", action="store_true", help="do not forward traceparent")
    args = p.parse_args()
    Handler.drop = args.drop or os.environ.get("DROP_TRACEPARENT") == "1"
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print("forward listening on 127.0.0.1:%d (drop traceparent: %s)" % (args.port, Handler.drop), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
