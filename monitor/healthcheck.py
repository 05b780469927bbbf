"""`python -m monitor.healthcheck [--ready]`: exit 0 if this container's monitor answers (see
`stream_runtime.healthcheck`), on the port `MONITOR_HTTP_PORT` gives the monitor."""

from __future__ import annotations

import os
import sys

from monitor.settings import MonitorSettings
from stream_runtime import healthcheck


def main(argv: list[str] | None = None) -> int:
    port = int(os.environ.get("MONITOR_HTTP_PORT", MonitorSettings.model_fields["http_port"].default))
    return healthcheck.main(sys.argv[1:] if argv is None else argv, port, "monitor.healthcheck")


if __name__ == "__main__":
    sys.exit(main())
