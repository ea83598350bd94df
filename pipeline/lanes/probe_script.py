"""Health probe run INSIDE a probe container (stdlib only, any Python 3.8+).

Usage: python3 probe.py URL DEADLINE_SECONDS [EXPECTED_STATUS]

Polls URL until it answers EXPECTED_STATUS (any HTTP answer when omitted) or the
deadline passes, then prints one JSON object on stdout: the last status and body
seen, the seconds until that answer, the number of attempts and the last error.
It never exits non-zero for an unhealthy service: judging is the lane's job.
"""

import json
import sys
import time
import urllib.error
import urllib.request


def main() -> None:
    url, deadline = sys.argv[1], float(sys.argv[2])
    expected = int(sys.argv[3]) if len(sys.argv) > 3 else None
    start = time.monotonic()
    result = {"url": url, "status": None, "body": None, "seconds": None, "attempts": 0, "error": None}
    while True:
        result["attempts"] += 1
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                status, body = response.status, response.read(65536)
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read(65536)
        except Exception as exc:  # noqa: BLE001 - connection refused, DNS, timeout: keep polling
            status, body = None, None
            result["error"] = f"{type(exc).__name__}: {exc}"
        if status is not None:
            result.update(status=status, body=body.decode("utf-8", "replace"), error=None)
            result["seconds"] = round(time.monotonic() - start, 3)
            if expected is None or status == expected:
                break
        if time.monotonic() - start >= deadline:
            break
        time.sleep(0.25)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
