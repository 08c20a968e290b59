"""The transfer queue, and acting on transfers and workloads: pause, resume, cancel,
reprioritise. Each action calls the same service the API calls, as the signed-in person,
after the role check (``console_action``); a refused state change answers 409."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from ops.console.access import can_act, console_action, console_page, page_scopes
from ops.console.selectors import transfers as transfer_reads
from ops.console.views.common import answer, page, refused
from ops.edge.exceptions import DomainError
from scheduling.exceptions import InvalidRequest, NotFound
from scheduling.live import transfer_payload
from scheduling.selectors import transfers as transfer_selectors
from scheduling.services import transfers as transfer_services

TRANSFER_ACTIONS = ("pause", "resume", "cancel", "reprioritise")


@console_page
def transfers(request: HttpRequest) -> HttpResponse:
    queue = transfer_reads.transfer_queue(
        now=timezone.now(), spacecraft_slug=request.GET.get("node") or None
    )
    return page(
        request,
        "console/transfers.html",
        {"queue": queue, "can_act": can_act(page_scopes(request)), "node": request.GET.get("node")},
        section="transfers",
    )


def _priority(request: HttpRequest) -> dict[str, Any]:
    """``priority`` (1..10) and/or ``deadline`` (UTC, ``YYYY-MM-DDTHH:MM``; ``clear``)."""
    out: dict[str, Any] = {}
    raw = request.POST.get("priority", "").strip()
    if raw:
        try:
            out["priority"] = int(raw)
        except ValueError:
            raise InvalidRequest(
                "priority must be a whole number", fields={"priority": "1 to 10"}
            ) from None
    deadline = request.POST.get("deadline", "").strip()
    if deadline == "clear":
        out["deadline"] = None
    elif deadline:
        try:
            parsed = datetime.fromisoformat(deadline)
        except ValueError:
            raise InvalidRequest(
                "deadline must be a UTC time", fields={"deadline": "YYYY-MM-DDTHH:MM (UTC)"}
            ) from None
        out["deadline"] = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return out


def _answer(
    request: HttpRequest, text: str, body: dict[str, Any], status: int = 200
) -> HttpResponse:
    return answer(request, text, body, fallback="/transfers/", status=status)


def _refused(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return refused(request, exc, fallback="/transfers/")


@console_action
def transfer_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in TRANSFER_ACTIONS:
        raise Http404(f"no action {action}")
    actor = request.user.get_username()
    reason = request.POST.get("reason", "")[:2000]
    try:
        transfer = transfer_selectors.transfer_get(transfer_id=pk)
        if action == "pause":
            transfer = transfer_services.transfer_pause(
                transfer=transfer, actor=actor, reason=reason
            )
        elif action == "resume":
            transfer = transfer_services.transfer_resume(
                transfer=transfer, actor=actor, reason=reason
            )
        elif action == "cancel":
            transfer = transfer_services.transfer_cancel(
                transfer=transfer, actor=actor, reason=reason
            )
        else:
            transfer = transfer_services.transfer_reprioritise(
                transfer=transfer, actor=actor, **_priority(request)
            )
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    except DomainError as exc:
        return _refused(request, exc)
    done = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}.get(
        action, "reprioritised"
    )
    return _answer(request, f"transfer {pk} {done}", {"transfer": transfer_payload(transfer)})


WorkloadAction = Callable[..., Any]
WORKLOAD_ACTIONS: dict[str, WorkloadAction] = {
    "pause": transfer_services.workload_pause,
    "resume": transfer_services.workload_resume,
    "cancel": transfer_services.workload_cancel,
    "reprioritise": transfer_services.workload_reprioritise,
}


@console_action
def workload_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    service = WORKLOAD_ACTIONS.get(action)
    if service is None:
        raise Http404(f"no action {action}")
    actor = request.user.get_username()
    try:
        workload = transfer_selectors.workload_get(workload_id=pk)
        if action == "reprioritise":
            workload = service(workload=workload, actor=actor, **_priority(request))
        else:
            workload = service(
                workload=workload, actor=actor, reason=request.POST.get("reason", "")[:2000]
            )
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    except DomainError as exc:
        return _refused(request, exc)
    return _answer(
        request,
        f"workload {pk}: {action} done",
        {"workload": {"id": workload.pk, "state": workload.state, "paused": workload.paused}},
    )
