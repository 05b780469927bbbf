"""`python -m consumer.healthcheck [--ready]`: exit 0 if this container's scorer answers, else 1.

Without `--ready` it asks `/healthz` (the loop is alive): the ECS container health check, since ECS replaces an
unhealthy task and a scorer waiting out a broker outage must not be replaced for it. With `--ready` it asks
`/readyz` (model loaded, partitions assigned, broker reachable): the image's HEALTHCHECK, so `docker ps` and
compose show healthy only once the scorer scores, and unhealthy when the broker is gone. It reads the same
`SCORER_HTTP_PORT` as the scorer, so the two cannot disagree, and needs no curl in the image.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--ready"]):
        print("usage: python -m consumer.healthcheck [--ready]", file=sys.stderr)
        return 2
    path = "/readyz" if args else "/healthz"
    port = os.environ.get("SCORER_HTTP_PORT", "8080")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {path}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
