"""The platform's routes refuse query parameters they do not declare: a misspelt
filter (``?stock_code=`` for ``?stockCode=``) would otherwise be dropped in silence
and answer with everything, unfiltered."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from quantum.platform.errors import Unprocessable

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

_unknown: ContextVar[tuple[str, ...]] = ContextVar("unknown_query_parameters", default=())
"""The request's undeclared query parameters, from the route's handler to its endpoint."""


def query_names(dependant: Dependant) -> frozenset[str]:
    """The query parameters a route and its dependencies read, by their names in
    the URL."""
    own = {param.alias for param in dependant.query_params}
    return frozenset(own.union(*(query_names(sub) for sub in dependant.dependencies)))


class DeclaredQueryRoute(APIRoute):
    """An ``APIRoute`` that answers 422 ``unknown_query_parameter`` for a query
    parameter neither it nor its dependencies declare. Refused where the endpoint
    would run, after the dependencies: signing in and roles still answer 401 and 403
    first. Looked at only when there is a query string (the order routes' hot path
    has none)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        known: set[str] = set()  # the dependant is built from the endpoint's signature

        @functools.wraps(endpoint)
        async def refusing(*args: Any, **values: Any) -> Any:
            unknown = _unknown.get()
            if unknown:
                raise Unprocessable(
                    f"unknown query parameter {unknown[0][:40]!r}",
                    code="unknown_query_parameter",
                    details={
                        "unknown": [name[:40] for name in unknown[:10]],
                        "known": sorted(known),
                    },
                )
            return await endpoint(*args, **values)

        self._known = known
        super().__init__(path, refusing, **kwargs)
        known.update(query_names(self.dependant))

    def get_route_handler(self) -> Handler:
        handler: Handler = super().get_route_handler()
        known = self._known

        async def checked(request: Request) -> Response:
            if not request.scope["query_string"]:
                return await handler(request)
            token = _unknown.set(tuple(sorted(set(request.query_params) - known)))
            try:
                return await handler(request)
            finally:
                _unknown.reset(token)

        return checked
