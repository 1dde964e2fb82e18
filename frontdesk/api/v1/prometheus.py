"""`GET /metrics`: the process's Prometheus metrics, without authentication.

The metrics are process-wide aggregates (turn latencies, call counts) with no clinic, caller or
key in their labels, so scraping needs no key; deployments keep /metrics off the public ingress
as they do any scrape endpoint. Per-clinic figures are under /v1/clinics/{clinic_id}/metrics.
"""

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def prometheus_metrics() -> Response:
    """Prometheus text exposition of this process's metrics."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
