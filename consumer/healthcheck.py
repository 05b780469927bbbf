"""`python -m consumer.healthcheck [--ready]`: exit 0 if this container's scorer answers
(`stream_runtime.healthcheck`)."""

from __future__ import annotations

import sys

from consumer.settings import ScorerSettings
from stream_runtime.healthcheck import service_check

main = service_check(ScorerSettings, "SCORER_HTTP_PORT", "consumer.healthcheck")

if __name__ == "__main__":
    sys.exit(main())
