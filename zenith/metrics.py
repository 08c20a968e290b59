"""Prometheus metrics: request counts and latencies here; other apps add their own.

Exposed at ``/metrics`` in the Prometheus text format. Each process keeps its own
registry; scrape every web process (as Prometheus does with one target per pod).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

REQUESTS = Counter(
    "zenith_http_requests_total", "HTTP requests served", ["method", "route", "status"]
)
LATENCY = Histogram(
    "zenith_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def _route(request: HttpRequest) -> str:
    # The URL pattern, not the path: keeps label cardinality bounded.
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    route = (match.route or match.view_name or "unknown").replace("^", "").replace("$", "")
    return "/" + route


class RequestMetricsMiddleware:
    async_capable = True
    sync_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def _observe(self, request: HttpRequest, status: int, started: float) -> None:
        route = _route(request)
        method = request.method or "GET"
        REQUESTS.labels(method, route, str(status)).inc()
        LATENCY.labels(method, route).observe(time.perf_counter() - started)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        started = time.perf_counter()
        response = self.get_response(request)
        self._observe(request, response.status_code, started)
        return response

    async def __acall__(self, request: HttpRequest) -> Any:
        started = time.perf_counter()
        result = self.get_response(request)
        response = await result if isinstance(result, Awaitable) else result
        self._observe(request, response.status_code, started)
        return response


def render() -> HttpResponse:
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
