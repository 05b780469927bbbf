"""`python -m consumer.healthcheck [--ready]`: exit 0 if this container's scorer answers (see
`stream_runtime.healthcheck`), on the port `SCORER_HTTP_PORT` gives the scorer."""

from __future__ import annotations

import os
import sys

from consumer.settings import ScorerSettings
from stream_runtime import healthcheck


def main(argv: list[str] | None = None) -> int:
    port = int(os.environ.get("SCORER_HTTP_PORT", ScorerSettings.model_fields["http_port"].default))
    return healthcheck.main(sys.argv[1:] if argv is None else argv, port, "consumer.healthcheck")


if __name__ == "__main__":
    sys.exit(main())
