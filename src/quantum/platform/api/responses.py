"""The error answers each kind of route documents in OpenAPI, so the schema names
every status a client can meet (all with :class:`quantum.http_errors.ErrorBody`)."""

from __future__ import annotations

from typing import Any, Final

from quantum.http_errors import BODY_ERRORS, error_responses

Responses = dict[int | str, dict[str, Any]]

SIGNED_IN: Final[Responses] = error_responses(401, 422, 500)
"""Every route behind a bearer token (422 replaces FastAPI's own validation shape)."""
OPEN: Final[Responses] = error_responses(422, 500)
"""Routes without a token (sign-in)."""
WITH_BODY: Final[Responses] = BODY_ERRORS
"""Routes that take a JSON body."""
ADMIN_ONLY: Final[Responses] = error_responses(403)
CALLS_KIWOOM: Final[Responses] = error_responses(403, 404, 409, 429, 502, 503, 504)
"""Routes that call Kiwoom for the caller's account: no account 404, credentials not
stored 409, a disabled account 403, and Kiwoom's own failures."""
REFUSED: Final[Responses] = error_responses(401)
"""Sign-in routes: a wrong password, or a refresh token that is not valid (any more)."""
RATE_LIMITED: Final[Responses] = error_responses(429)
NOT_FOUND: Final[Responses] = error_responses(404)
CONFLICT: Final[Responses] = error_responses(409)
