"""Calling one generated schemathesis case against a running service and holding
the answer to the OpenAPI document (the platform's and the adapter's contract tests)."""

from __future__ import annotations

from typing import Any

import pytest
from schemathesis import GenerationMode, checks
from schemathesis.core.parameters import ParameterLocation

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.ignored_auth,
]
BROKER_STATUSES = {502, 503, 504}
"""Kiwoom's failures, relayed as documented errors: not a service's own 5xx, but not
expected either (the simulator answers every call)."""


def call_and_check(case: Any, base_url: str, headers: dict[str, str]) -> None:
    """``case`` with ``headers`` (the caller's credentials) unless its own headers are
    the invalid input it stands for; fails on a broker failure or a broken rule."""
    header_info = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    if header_info is not None and header_info.mode is GenerationMode.NEGATIVE:
        headers = {}
    response = case.call(base_url=base_url, headers=headers)
    if response.status_code in BROKER_STATUSES:
        pytest.fail(f"{case.method} {case.path}: the broker failed: {response.text[:300]}")
    case.validate_response(response, checks=CHECKS)
