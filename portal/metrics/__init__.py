"""What the portal tells Prometheus, at ``/metrics`` (``portal.metrics.endpoint``).

Three sources, each chosen for where the number is true:

- **This web process** (``http``): latency and status per view. Under gunicorn every worker
  process keeps its own; with ``PROMETHEUS_MULTIPROC_DIR`` set (the image sets it), one scrape
  sums them all.
- **The cluster, kept in Redis** (``shared``): what workers do (runs, failures and retries per
  task, run time, time waited in the queue) and the requests' state changes. Worker processes
  have no port to scrape and die at will (a SIGKILL, a scale-down); counters kept in Redis
  survive them and are the same whichever web process is asked.
- **The database and the broker, read at scrape time** (``collectors``): queue depth, open
  requests per state and kind, decisions past their target, each region's probes, outbox and
  audit sealing lag, the background's heartbeat, the readiness checks. Cached for a few
  seconds, so several scrapers cost the database one set of small queries.
"""

import os

# prometheus_client writes each process's values under this directory from the moment the first
# metric is defined; an emptyDir starts without it.
if _multiproc_dir := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(_multiproc_dir, exist_ok=True)
