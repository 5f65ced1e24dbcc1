"""The long wait's signal: a job's terminal state change (EventBridge) signals the WaitCondition of its run.

Runs in its own function (``index.on_state_change``). The job's kind comes from the event's detail (the name
field it carries, ``kinds.of_event_detail``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import budgets
import calls
import ended
import kinds
import logic
from calls import log
from jobs import Jobs


def on_state_change(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """Signal the WaitCondition whose handle the rule's input names, for a job that ended.

    The rule's input is ``{"detail": <the event's detail>, "handle": <the WaitCondition handle's URL>}``, and
    ``"gate"``, the job's quality gate, where it has one: a job that completed and misses it signals FAILURE. Only the
    job tagged with this handle's digest signals it (an earlier run's job never does); the signal's UniqueId is the
    job name, so a duplicated event, or this function run again by Lambda after an error, signals once. Errors
    without an answer are retried for minutes; past that the function fails and Lambda runs it again.
    """
    with calls.budget(budgets.SIGNAL_BUDGET_SECONDS):
        detail = event[kinds.SIGNAL_DETAIL]
        handle = event[kinds.SIGNAL_HANDLE]
        kind = kinds.of_event_detail(detail)
        jobs = Jobs(kind)
        name, status = jobs.name(detail), jobs.status(detail)
        if status in kind.running:
            return {"signalled": False}
        arn = detail.get(kind.arn_field) or jobs.arn(jobs.describe(name) or {kind.arn_field: ""})
        if jobs.tags(arn).get(kinds.HANDLE_TAG) != logic.handle_digest(handle):
            log("not_this_run", job=name, status=status)
            return {"signalled": False}
        gate = event.get(kinds.SIGNAL_GATE)
        if kind.final_metrics and status not in kind.failed:
            # The event may not carry the final metrics (for the gate and the condition's data): the description does.
            detail = jobs.describe(name) or detail
        body = ended.wait_signal(kind, detail, calls.region(), gate)
        status_code = calls.retrying("signal", lambda: _put(handle, body), _transient_http)
        log("signalled", job=name, status=body["Status"], http=status_code)
        return {"signalled": True}


def _put(url: str, body: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=budgets.ATTEMPT_SECONDS) as response:  # noqa: S310 - pre-signed
        return int(response.status)


def _transient_http(error: BaseException) -> bool:
    if isinstance(error, urllib.error.HTTPError):
        return error.code >= 500 or error.code == 429
    return isinstance(error, (urllib.error.URLError, ConnectionError, TimeoutError))
