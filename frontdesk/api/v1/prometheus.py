"""`GET /metrics`: the process's Prometheus metrics, without authentication.

The metrics are process-wide aggregates (turn latencies, call counts) with no clinic, caller or
key in their labels, so scraping needs no key; deployments keep /metrics off the public ingress
as they do any scrape endpoint. Per-clinic figures are under /v1/clinics/{clinic_id}/metrics.

Several media processes on one port (`frontdesk realtime --processes N`) share their metrics
through prometheus_client's multiprocess mode: each writes its values under
PROMETHEUS_MULTIPROC_DIR, and whichever process a scrape reaches answers with the sum of all.
"""

import os

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def prometheus_metrics() -> Response:
    """Prometheus text exposition of this process's metrics (of every process sharing its
    multiprocess folder, when there is one)."""
    registry = REGISTRY
    if os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
