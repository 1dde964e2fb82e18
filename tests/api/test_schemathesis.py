"""schemathesis against the app's own OpenAPI schema: generated requests to every operation get
no 5xx and answers that match the schema (status codes, content types, bodies).

Requests carry clinic A's key and name clinic A, so they reach the handlers rather than stopping
at the access check. Temporal is out of reach here, so the campaign routes that need it answer
their documented 503; every other 5xx fails. Examples per operation are bounded to keep CI fast.
"""

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine
from sqlmodel import Session, select

from frontdesk.domain.models import AuditEntry
from tests.api.conftest import Tenants, bearer

EXAMPLES_PER_OPERATION = 12
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
# The admin API and the Prometheus endpoint; the webhooks (Twilio signatures) and the health
# probes (503 by design while Temporal is away) have their own tests.
OURS = ("/v1/", "/metrics")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_generated_requests_get_no_5xx_and_match_the_schema(
    app: FastAPI, tenants: Tenants, engine: Engine
) -> None:
    app.state.rate_limiter.burst = 100_000  # many requests with one key, on purpose
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    tested = [op for op in operations if op.path.startswith(OURS)]
    assert len(tested) >= 40

    for operation in tested:

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            if case.path_parameters and "clinic_id" in case.path_parameters:
                case.path_parameters["clinic_id"] = str(tenants.a.clinic_id)
            response = case.call(headers=bearer(tenants.key_a))
            temporal_needed = response.status_code == 503 and "/campaigns" in case.operation.path
            assert response.status_code < 500 or temporal_needed, f"{case.operation.label}: {response.text}"
            case.validate_response(response, checks=CHECKS, headers=bearer(tenants.key_a))

        check()

    with Session(engine) as session:  # generated requests got past validation and changed things
        assert len(session.exec(select(AuditEntry)).all()) > 10
