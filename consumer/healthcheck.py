"""`python -m consumer.healthcheck`: exit 0 if this container's scorer answers `/healthz`, else 1.

Used by the image's HEALTHCHECK and the ECS container health check; it reads the same `SCORER_HTTP_PORT`
as the scorer, so the two cannot disagree, and needs no curl in the image.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("SCORER_HTTP_PORT", "8080")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
