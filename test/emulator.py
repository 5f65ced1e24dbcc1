"""SageMaker for the handler tests: moto in server mode, over real HTTP, with a thin layer over its backend.

moto creates a job already Completed, overwrites a job created twice under one name, stops a processing job in any
state and has no StopTrainingJob at all. The layer below makes its backend behave as SageMaker does for what the
handler relies on, for each kind of ``EMULATED``:

- a new job is ``InProgress`` (created at the emulator's clock) until the test ends it with ``finish()``;
- ``Create<Kind>Job`` with a name in use fails with ``ResourceInUse``;
- ``Stop<Kind>Job`` on a job that is not in progress fails with ``ValidationException``; a stopped job is
  ``Stopping`` for ``stop_takes`` seconds on the clock, then ``Stopped`` (moto's server gets the action where it
  lacks it: StopTrainingJob); a missing job is not found, in SageMaker's words for the kind;
- a training job has secondary statuses: ``Starting`` when created, then what ``progress()`` says, ``Stopping`` and
  ``Stopped`` when stopped, and its end's (``Completed``, ``Failed``, ``MaxRuntimeExceeded``...) when finished, each
  a ``SecondaryStatusTransitions`` entry; it has a ``TrainingStartTime`` once it leaves ``Starting``, its
  ``ModelArtifacts`` once it completed or stopped, and ``BillableTimeInSeconds`` once it ended;
- every backend call is counted by operation, so a test can say which calls a scenario made;
- ``plan()`` says how jobs end (status, texts, after how many Describe calls or how long on the clock), and
  ``fail_next()`` makes the next calls of an operation fail with a given error code (throttling, limits);
- ``visible_after`` makes a new job invisible to Describe, ListTags and List for that long (eventual consistency).

In front of the server, a fault layer acts on the HTTP exchange itself, on the emulator's clock:
- ``outage(kind, start, end, operation)``: every request (of ``operation``) in that window gets HTTP 503
  (``"unavailable"``), a connection reset with no response (``"reset"``), or hangs for ``hang_seconds`` of the
  clock and is then reset (``"hang"``, a read timeout);
- ``lose_answers(operation, times)``: the request is carried out (the job is created) and its answer replaced by
  an HTTP 500, as when a response is lost after the write.

boto3 is never touched: the handler's own client talks HTTP to the server.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import socket
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from botocore import xform_name
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import ServiceException
from moto.core.responses import EmptyResult
from moto.sagemaker import models
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.responses import SageMakerResponse
from moto.server import ThreadedMotoServer

from cdk_processing.handler import kinds

REGION = "us-east-1"
ACCOUNT = DEFAULT_ACCOUNT_ID
_Backend = models.SageMakerModelBackend


@dataclass(frozen=True)
class EmulatedKind:
    """How moto keeps one job kind: the backend's dict of jobs and the attributes of a job; the operations are the
    kind's (``kinds.JobKind``), as moto's backend names its methods. What SageMaker does differently for the kind is
    data here: its not-found message, its secondary statuses, when a job starts and when it has its artifacts."""

    kind: kinds.JobKind
    jobs: str  # the backend's attribute holding the jobs by name
    name_argument: str  # the backend methods' keyword for a job's name
    status: str
    start_time: str
    end_time: str
    fake: Any  # moto's job class (its ARN formatter)
    not_found: str  # SageMaker's message for a missing job ("{arn}": its ARN)
    # Where the kind has secondary statuses: the attributes of the secondary status and of its transitions, and the
    # StatusMessage SageMaker writes on entering each (the first: a new job's).
    secondary: str | None = None
    transitions: str | None = None
    messages: dict[str, str] = field(default_factory=dict)
    # The secondary status a job leaves when it starts on its instances (its start time is set then); None: a job
    # starts when created.
    start_after: str | None = None
    # Attributes SageMaker sets only once a job completed or stopped (moto sets them at creation): held till then.
    outputs: tuple[str, ...] = ()
    durations: tuple[str, ...] = ()  # attributes of the seconds from its start to its end, set when it ends
    # Where the kind has warm pools: the attribute of the pool's status, and the request's member (attribute, key)
    # of the seconds a completed job keeps its instances.
    pool: str | None = None
    keep_alive: tuple[str, str] | None = None
    # The request's members (attributes) a new job must match to take over an Available pool of an ended one.
    pool_match: tuple[str, ...] = ()


EMULATED = (
    EmulatedKind(
        kinds.PROCESSING,
        jobs="processing_jobs",
        name_argument="processing_job_name",
        status="processing_job_status",
        start_time="processing_start_time",
        end_time="processing_end_time",
        fake=models.FakeProcessingJob,
        not_found="Could not find processing job '{arn}'.",
    ),
    EmulatedKind(
        kinds.TRAINING,
        jobs="training_jobs",
        name_argument="training_job_name",
        status="training_job_status",
        start_time="training_start_time",
        end_time="training_end_time",
        fake=models.FakeTrainingJob,
        # DescribeTrainingJob's answer for a missing job (moto says "Could not find training job ...").
        not_found="Requested resource not found.",
        secondary="secondary_status",
        transitions="secondary_status_transitions",
        messages={
            "Starting": "Starting the training job",
            "Pending": "Waiting for compute capacity",
            "Downloading": "Downloading input data",
            "Training": "Training image download completed. Training in progress.",
            "Uploading": "Uploading generated training model",
            "Stopping": "Stopping the training job",
            "Stopped": "Training job stopped",
            "MaxRuntimeExceeded": "Training job runtime exceeded MaxRuntimeInSeconds provided",
            "MaxWaitTimeExceeded": "Training job exceeded MaxWaitTimeInSeconds provided",
            "Completed": "Training job completed",
            "Failed": "Training job failed",
        },
        start_after="Starting",
        outputs=("model_artifacts", "final_metric_data_list"),
        durations=("training_time_in_seconds", "billable_time_in_seconds"),
        pool="warm_pool_status",
        keep_alive=("resource_config", "KeepAlivePeriodInSeconds"),
        pool_match=("role_arn", "resource_config", "vpc_config"),
    ),
)
BY_NAME = {row.kind.noun: row for row in EMULATED}


class InjectedError(ServiceException):
    """An error the service answers with, as moto serialises it (the error code and message, HTTP 400)."""


@dataclass(frozen=True)
class Outcome:
    """How a job ends: ``status`` on its ``after_describes``-th Describe, or ``runs_for`` seconds after creation.

    For a kind with secondary statuses, the job first goes through ``progress`` (``(status, message)`` pairs, as
    ``SageMakerEmulator.progress``), then ends in ``secondary_status`` (else ``status``) with ``status_message``
    (else SageMaker's for it)."""

    status: str = "Completed"
    after_describes: int | None = None
    runs_for: float | None = None
    failure_reason: str | None = None
    exit_message: str | None = None
    progress: tuple[tuple[str, str | None], ...] = ()
    secondary_status: str | None = None
    status_message: str | None = None
    final_metrics: dict[str, float] | None = None  # the job's final metric values (else moto's)
    billed_share: float = 1.0  # the share of the run billed (managed spot bills less)


@dataclass(frozen=True)
class Outage:
    kind: str  # "unavailable", "reset" or "hang"
    start: float
    end: float
    operation: str | None = None


class _FaultLayer:
    """WSGI middleware in front of moto's server: the HTTP faults of ``outage`` and ``lose_answers``."""

    def __init__(self, app: Any, emulator: SageMakerEmulator) -> None:
        self.app = app
        self.emulator = emulator

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        operation = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
        emulator = self.emulator
        if operation and emulator._lost.get(operation, 0) > 0:
            emulator._lost[operation] -= 1
            emulator.faulted[operation] += 1
            for _ in self.app(environ, lambda *args, **kwargs: lambda data: None):
                pass  # carried out; the answer never reaches the client
            return _error(start_response, 500, "InternalFailure", "We encountered an internal error")
        outage = next(
            (o for o in emulator._outages if o.start <= emulator.clock() < o.end and o.operation in (None, operation)),
            None,
        )
        if outage is None:
            return self.app(environ, start_response)
        emulator.faulted[operation] += 1
        if outage.kind == "unavailable":
            return _error(start_response, 503, "ServiceUnavailable", "Service Unavailable")
        if outage.kind == "hang":
            emulator.clock.advance(emulator.hang_seconds)  # type: ignore[attr-defined]
        connection = environ["werkzeug.socket"]
        connection.shutdown(socket.SHUT_RDWR)
        raise ConnectionResetError("reset by the emulator's fault layer")


def _error(start_response: Any, status: int, code: str, message: str) -> list[bytes]:
    body = json.dumps({"__type": code, "message": message}).encode()
    reason = {500: "Internal Server Error", 503: "Service Unavailable"}[status]
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))],
    )
    return [body]


class SageMakerEmulator:
    def __init__(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        wsgi = self._server._server
        assert wsgi is not None
        wsgi.app = _FaultLayer(wsgi.app, self)
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.calls: Counter[str] = Counter()
        self.clock: Callable[[], float] = lambda: datetime.now(timezone.utc).timestamp()
        self._originals: dict[str, Any] = {}  # moto's backend methods the layer replaced (None: it added one)
        self._actions: list[str] = []  # the actions the layer added to moto's server
        self._plans: list[tuple[str, Outcome]] = []
        self._describes: Counter[str] = Counter()
        self._faults: dict[str, list[tuple[str, str]]] = {}
        self._stop_requested: dict[str, float] = {}
        self._held: dict[str, dict[str, Any]] = {}  # the outputs moto set at creation, by job, till it ends
        self.stop_takes = 60.0
        self.visible_after = 0.0
        self.hang_seconds = 20.0
        self._outages: list[Outage] = []
        self._lost: Counter[str] = Counter()
        self.faulted: Counter[str] = Counter()
        self._patch()

    # -- environment ------------------------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        """What a Lambda's environment would hold, pointed at the emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def reset(self) -> None:
        request = urllib.request.Request(self.endpoint + "/moto-api/reset", method="POST")
        with urllib.request.urlopen(request) as response:
            assert response.status == 200
        self.calls.clear()
        self._plans.clear()
        self._describes.clear()
        self._faults.clear()
        self._stop_requested.clear()
        self._held.clear()
        self.stop_takes = 60.0
        self.visible_after = 0.0
        self.hang_seconds = 20.0
        self._outages.clear()
        self._lost.clear()
        self.faulted.clear()

    def outage(self, kind: str, start: float, end: float, operation: str | None = None) -> None:
        """From ``start`` to ``end`` on the clock, requests (of ``operation``, else all) fail as ``kind`` says."""
        assert kind in ("unavailable", "reset", "hang")
        self._outages.append(Outage(kind, start, end, operation))

    def lose_answers(self, operation: str, times: int = 1) -> None:
        """The next ``times`` requests of ``operation`` are carried out, and answered with HTTP 500."""
        self._lost[operation] += times

    def _hidden(self, job: Any) -> bool:
        return bool(job is not None and self.clock() < job.creation_time.timestamp() + self.visible_after)

    def plan(self, outcome: Outcome, name_contains: str = "") -> None:
        """Jobs whose name contains ``name_contains`` (all jobs by default) end as ``outcome``; later plans win."""
        self._plans.insert(0, (name_contains, outcome))

    def fail_next(self, operation: str, code: str, message: str, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` (e.g. ``DescribeProcessingJob``) fail with ``code``."""
        self._faults.setdefault(operation, []).extend([(code, message)] * times)

    def _all(self) -> dict[str, tuple[EmulatedKind, Any]]:
        """Every job, of every kind, by name, with its kind."""
        return {name: (row, job) for row in EMULATED for name, job in getattr(self.backend, row.jobs).items()}

    def _find(self, name: str) -> tuple[EmulatedKind, Any] | tuple[None, None]:
        """The kind and moto's record of the job ``name``, of any kind."""
        for row in EMULATED:
            job = getattr(self.backend, row.jobs).get(name)
            if job is not None:
                return row, job
        return None, None

    def _advance_stopping(self, name: str) -> None:
        row, job = self._find(name)
        if row is not None and getattr(job, row.status) == "Stopping":
            if self.clock() >= self._stop_requested[name] + self.stop_takes:
                self.finish(name, "Stopped")

    def _advance(self, name: str) -> None:
        self._advance_stopping(name)
        row, job = self._find(name)
        if row is None or getattr(job, row.status) != "InProgress":
            return
        self._describes[name] += 1
        outcome = next((o for part, o in self._plans if part in name), None)
        if outcome is None:
            return
        due_by_count = outcome.after_describes is not None and self._describes[name] >= outcome.after_describes
        due_by_time = outcome.runs_for is not None and self.clock() >= job.creation_time.timestamp() + outcome.runs_for
        if due_by_count or due_by_time:
            for status, message in outcome.progress:
                self.progress(name, status, message)
            self.finish(
                name,
                outcome.status,
                outcome.failure_reason,
                outcome.exit_message,
                secondary_status=outcome.secondary_status,
                status_message=outcome.status_message,
                final_metrics=outcome.final_metrics,
                billed_share=outcome.billed_share,
            )

    def stop(self) -> None:
        for name, original in self._originals.items():
            if original is None:
                delattr(_Backend, name)
            else:
                setattr(_Backend, name, original)
        for action in self._actions:
            delattr(SageMakerResponse, action)
        self._server.stop()

    # -- jobs ---------------------------------------------------------------------------------------------------

    @property
    def backend(self) -> Any:
        return models.sagemaker_backends[ACCOUNT][REGION]

    @property
    def jobs(self) -> dict[str, Any]:
        """Every job, of every kind, by name (moto's records)."""
        return {name: job for name, (_, job) in self._all().items()}

    def status(self, name: str) -> str:
        row, job = self._find(name)
        assert row is not None, name
        return str(getattr(job, row.status))

    def ended_at(self, name: str) -> datetime:
        """When the job ``name`` ended, as the emulator recorded it."""
        row, job = self._find(name)
        assert row is not None, name
        ended = getattr(job, row.end_time)
        assert isinstance(ended, datetime), (name, ended)
        return ended

    def set_status(self, name: str, status: str) -> None:
        row, job = self._find(name)
        assert row is not None, name
        setattr(job, row.status, status)

    def running(self) -> list[str]:
        return [name for name in self.jobs if self.status(name) == "InProgress"]

    def finish(
        self,
        name: str,
        status: str,
        failure_reason: str | None = None,
        exit_message: str | None = None,
        *,
        secondary_status: str | None = None,
        status_message: str | None = None,
        final_metrics: dict[str, float] | None = None,
        billed_share: float = 1.0,
    ) -> None:
        """End a job as SageMaker would: Completed, Failed or Stopped, with its texts.

        Where the kind has secondary statuses, the job's is ``secondary_status`` (``MaxRuntimeExceeded``, ...; else
        ``status``), its last transition's message ``status_message`` (else SageMaker's for it). Where it has final
        metrics, a completed job's are ``final_metrics`` (else moto's); where it has billed seconds, they are
        ``billed_share`` of its run. Where it has warm pools, a job that completed with a keep-alive keeps one,
        Available; any other end ends the pool it used."""
        row, job = self._find(name)
        assert row is not None, name
        now = datetime.fromtimestamp(self.clock(), timezone.utc)
        held = self._held.pop(name, {})
        if status in ("Completed", "Stopped"):
            for attribute, value in held.items():
                setattr(job, attribute, value)
        if row.start_after and status == "Completed" and getattr(job, row.start_time) is None:
            setattr(job, row.start_time, job.creation_time)  # it ran, if only for the emulator's instant
        self._transition(row, job, secondary_status or status, status_message, now, ended=True)
        setattr(job, row.status, status)
        setattr(job, row.end_time, now)
        job.last_modified_time = now
        job.failure_reason = failure_reason
        if row.kind.exit_message_field:
            job.exit_message = exit_message
        started = getattr(job, row.start_time)
        for attribute in row.durations:
            setattr(job, attribute, None if started is None else max(1, round((now - started).total_seconds())))
        if final_metrics is not None and status == "Completed":
            job.final_metric_data_list = [
                {"MetricName": k, "Value": v, "Timestamp": now} for k, v in final_metrics.items()
            ]
        if started is not None and row.durations and billed_share != 1.0:
            run = getattr(job, row.durations[0])
            setattr(job, row.durations[-1], max(1, round(run * billed_share)))
        if row.pool and (getattr(job, row.pool, None) or status == "Completed" and self.keep_alive(name) > 0):
            kept = status == "Completed" and self.keep_alive(name) > 0
            setattr(job, row.pool, {"Status": "Available" if kept else "Terminated"})

    def progress(self, name: str, status: str, message: str | None = None) -> None:
        """A running job's secondary status becomes ``status`` (``"Downloading"``, ``"Training"``...) with
        ``message`` (else SageMaker's for it); the same status again changes its message only (as SageMaker retries
        ``"Starting"`` with ``"Insufficient capacity error from EC2 while launching instances, retrying!"``)."""
        row, job = self._find(name)
        assert row is not None and row.secondary, f"{name}: no job with secondary statuses"
        assert getattr(job, row.status) in row.kind.running, (name, getattr(job, row.status))
        now = datetime.fromtimestamp(self.clock(), timezone.utc)
        leaves_start = getattr(job, row.secondary) == row.start_after and status != row.start_after
        if leaves_start and getattr(job, row.start_time) is None:
            setattr(job, row.start_time, now)  # on its instances now
        self._transition(row, job, status, message, now)

    def keep_alive(self, name: str) -> int:
        """The seconds the job ``name`` keeps its instances once it completed (0: no warm pool)."""
        row, job = self._find(name)
        assert row is not None and row.keep_alive, name
        attribute, key = row.keep_alive
        return int((getattr(job, attribute) or {}).get(key) or 0)

    def pool(self, name: str) -> dict[str, Any] | None:
        """The warm pool status of the job ``name`` (None: it never had one)."""
        row, job = self._find(name)
        assert row is not None and row.pool, name
        pool = getattr(job, row.pool, None)
        return dict(pool) if pool else None

    def _take_pool(self, row: EmulatedKind, name: str, job: Any) -> None:
        """A new job takes over the Available pool of an ended job it matches (role, instances, volume, network):
        that pool is Reused by it, and InUse for it."""
        for other_name, other in getattr(self.backend, row.jobs).items():
            pool = getattr(other, row.pool or "", None)
            if other_name == name or not pool or pool["Status"] != "Available":
                continue
            if all(_without_keep_alive(row, other, a) == _without_keep_alive(row, job, a) for a in row.pool_match):
                setattr(other, row.pool or "", {"Status": "Reused", "ReusedByJob": name})
                setattr(job, row.pool or "", {"Status": "InUse"})
                return

    def secondary_status(self, name: str) -> str:
        row, job = self._find(name)
        assert row is not None and row.secondary, name
        return str(getattr(job, row.secondary))

    def _transition(
        self, row: EmulatedKind, job: Any, status: str, message: str | None, now: datetime, ended: bool = False
    ) -> None:
        """The job enters the secondary status ``status`` at ``now`` (an entry of its transitions, the last one
        closed); the status it is in: its message only. Nothing for a kind with no secondary statuses."""
        if not (row.secondary and row.transitions):
            return
        transitions: list[dict[str, Any]] = getattr(job, row.transitions)
        last = transitions[-1] if transitions else None
        text = message or row.messages.get(status)
        if last is not None and last["Status"] == status and not ended:
            if text:
                last["StatusMessage"] = text
        else:
            if last is not None:
                last.setdefault("EndTime", now)
            entry: dict[str, Any] = {"Status": status, "StartTime": now}
            if ended:
                entry["EndTime"] = now
            if text:
                entry["StatusMessage"] = text
            transitions.append(entry)
        setattr(job, row.secondary, status)
        job.last_modified_time = now

    def tags(self, name: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.jobs[name].tags}

    # -- the layer over moto's backend ---------------------------------------------------------------------------

    def _patch(self) -> None:
        for row in EMULATED:
            self._patch_kind(row)
            self._add_stop_action(row)
            if row.kind.update and row.pool:
                self._add_update_action(row)
        for name in ("add_tags", "delete_tags"):
            self._replace(name, getattr(_Backend, name))
        self._replace("list_tags", self._list_tags)

    def _replace(self, method: str, inner: Callable[..., Any]) -> None:
        self._originals.setdefault(method, getattr(_Backend, method))
        setattr(_Backend, method, self._counted(method, inner))

    def _add_stop_action(self, row: EmulatedKind) -> None:
        """moto's server answers ``Stop<Kind>Job`` (it has no StopTrainingJob) with the backend's method."""
        method = xform_name(row.kind.stop)
        if hasattr(SageMakerResponse, method):
            return

        def action(response: Any) -> Any:
            getattr(response.sagemaker_backend, method)(response._get_param(row.kind.name_field))
            return EmptyResult()

        setattr(SageMakerResponse, method, action)
        self._actions.append(method)

    def _add_update_action(self, row: EmulatedKind) -> None:
        """``Update<Kind>Job`` of a warm pool's stay, with SageMaker's refusals: the job must have completed and hold
        its pool (Available, or InUse by it); a stay of 0 ends the pool."""
        method = xform_name(row.kind.update or "")
        assert not hasattr(SageMakerResponse, method), f"moto's server answers {method}: use its own"
        assert row.keep_alive is not None and row.pool is not None
        attribute, key = row.keep_alive
        member = "".join(part.capitalize() for part in attribute.split("_"))  # the request's ResourceConfig

        def update(backend: Any, name: str, changes: dict[str, Any]) -> Any:
            job = getattr(backend, row.jobs).get(name)
            if job is None:
                raise _not_found(row, name)
            pool = getattr(job, row.pool or "", None) or {}
            if getattr(job, row.status) != "Completed":
                raise ValidationError(f"warm pool can only be updated if {row.kind.noun} status is Completed")
            if pool.get("Status") not in ("Available", "InUse"):
                raise ValidationError("warm pool cannot be updated if has been terminated or reused")
            seconds = int(changes[member][key])
            setattr(job, attribute, {**(getattr(job, attribute) or {}), key: seconds})
            if seconds == 0:
                setattr(job, row.pool or "", {"Status": "Terminated"})
            return job

        counted = self._counted(method, update)
        self._originals[method] = None
        setattr(_Backend, method, counted)

        def action(response: Any) -> Any:
            params = json.loads(response.body)
            job = getattr(response.sagemaker_backend, method)(params[row.kind.name_field], params)
            return json.dumps({row.kind.arn_field: job.arn})

        setattr(SageMakerResponse, method, action)
        self._actions.append(method)

    def _list_tags(self, backend: Any, arn: str, **kwargs: Any) -> Any:
        name = arn.rpartition("/")[2]
        row, job = next(((r, j) for n, (r, j) in self._all().items() if n.lower() == name.lower()), (None, None))
        if row is not None and self._hidden(job):
            raise _not_found(row, name)
        return self._originals["list_tags"](backend, arn=arn, **kwargs)

    def _patch_kind(self, row: EmulatedKind) -> None:
        """The layer over moto's backend for one kind's create, describe, stop and list."""
        emulator, kind = self, row.kind
        create_method, describe_method = xform_name(kind.create), xform_name(kind.describe)
        stop_method, list_method = xform_name(kind.stop), xform_name(kind.list_jobs)
        for method in (create_method, describe_method, stop_method, list_method):
            self._originals[method] = getattr(_Backend, method, None)

        def jobs_of(backend: Any) -> dict[str, Any]:
            return dict(getattr(backend, row.jobs))

        def create(backend: Any, **kwargs: Any) -> Any:
            name = kwargs[row.name_argument]
            if name in jobs_of(backend):
                raise ResourceInUseException(
                    "Job name must be unique within an AWS account and region, and a job with this name already "
                    f"exists ({name})"
                )
            job = self._originals[create_method](backend, **copy.deepcopy(kwargs))
            for argument, value in kwargs.items():  # the job keeps the request as sent (moto adds to some parts)
                if value is not None and hasattr(job, argument):
                    setattr(job, argument, value)
            started = datetime.fromtimestamp(emulator.clock(), timezone.utc)
            setattr(job, row.status, "InProgress")
            setattr(job, row.end_time, None)
            job.creation_time = started
            setattr(job, row.start_time, None if row.start_after else started)
            job.last_modified_time = started
            job.failure_reason = None
            for attribute in row.durations:
                setattr(job, attribute, None)
            emulator._held[name] = {attribute: getattr(job, attribute) for attribute in row.outputs}
            for attribute in row.outputs:
                setattr(job, attribute, None)
            if row.secondary and row.transitions:
                setattr(job, row.transitions, [])
                emulator._transition(row, job, next(iter(row.messages)), None, started)
            if row.pool:
                setattr(job, row.pool, None)
                emulator._take_pool(row, name, job)
            return job

        def stop(backend: Any, name: str) -> None:
            job = jobs_of(backend).get(name)
            if job is None:
                raise _not_found(row, name)
            if getattr(job, row.status) != "InProgress":
                raise ValidationError(
                    f"The request was rejected because the {kind.noun} is in status {getattr(job, row.status)}."
                )
            now = emulator.clock()
            emulator._transition(row, job, "Stopping", None, datetime.fromtimestamp(now, timezone.utc))
            setattr(job, row.status, "Stopping")
            emulator._stop_requested[name] = now

        def describe(backend: Any, name: str) -> Any:
            job = jobs_of(backend).get(name)
            if job is None or emulator._hidden(job):
                raise _not_found(row, name)
            emulator._advance(name)
            return self._originals[describe_method](backend, name)

        def list_jobs(backend: Any, **kwargs: Any) -> Any:
            for name in jobs_of(backend):
                emulator._advance_stopping(name)
            result = self._originals[list_method](backend, **kwargs)
            jobs = jobs_of(backend)
            summaries = result[kind.summaries]
            summaries[:] = [s for s in summaries if not emulator._hidden(jobs[s[kind.name_field]])]
            if row.secondary:  # SageMaker's summaries have it; moto's not
                member = "".join(part.capitalize() for part in row.secondary.split("_"))
                for summary in summaries:
                    summary[member] = getattr(jobs[summary[kind.name_field]], row.secondary)
            return result

        for method, inner in (
            (create_method, create),
            (describe_method, describe),
            (stop_method, stop),
            (list_method, list_jobs),
        ):
            setattr(_Backend, method, self._counted(method, inner))

    def _counted(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        operation = "".join(part.capitalize() for part in name.split("_"))

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.calls[operation] += 1
            faults = self._faults.get(operation)
            if faults:
                raise InjectedError(*faults.pop(0))
            return fn(*args, **kwargs)

        return wrapper


def _without_keep_alive(row: EmulatedKind, job: Any, attribute: str) -> Any:
    """A job's request member, less its keep-alive: a pool matches whatever the stay."""
    value = getattr(job, attribute, None)
    if row.keep_alive and attribute == row.keep_alive[0] and isinstance(value, dict):
        return {k: v for k, v in value.items() if k != row.keep_alive[1]}
    return value


def _not_found(row: EmulatedKind, name: str) -> ValidationError:
    return ValidationError(message=row.not_found.format(arn=row.fake.arn_formatter(name, ACCOUNT, REGION)))


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
