"""`python -m monitor.healthcheck [--ready]`: exit 0 if this container's monitor answers
(`stream_runtime.healthcheck`)."""

from __future__ import annotations

import sys

from monitor.settings import MonitorSettings
from stream_runtime.healthcheck import service_check

main = service_check(MonitorSettings, "MONITOR_HTTP_PORT", "monitor.healthcheck")

if __name__ == "__main__":
    sys.exit(main())
