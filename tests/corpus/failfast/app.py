"""A service whose startup policy is chosen by APP_MODE, for the fail-fast probe's tests.

strict: a missing required variable is an error naming it (exit 2);
quiet: the same, without naming it; lenient: starts and answers healthy anyway.
"""

import http.server
import json
import os
import sys

REQUIRED = ("DATABASE_URL", "SECRET_KEY")
mode = os.environ.get("APP_MODE", "strict")
missing = [name for name in REQUIRED if not os.environ.get(name)]
if missing and mode != "lenient":
    print(f"config error: {missing[0]} is required" if mode == "strict" else "config error",
          file=sys.stderr, flush=True)
    sys.exit(2)


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "healthy"}).encode()
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Health).serve_forever()
