"""SageMaker calls of the handler, each bounded by the time its Lambda invocation may take.

Every invocation works within a budget (``budgets.*_BUDGET_SECONDS``): a call whose answer does not come
(throttling, HTTP 5xx, a connection reset or timeout) is tried again with backoff while the budget lasts, then
``Unanswered`` is raised for the caller to decide what no answer means (for a create: the job may exist; for a
poll: no news). The client itself does not retry, so that every wait is on this module's ``clock``/``sleep`` (the
lifecycle tests replace them with a fake clock), and one attempt takes at most ``budgets.ATTEMPT_SECONDS``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import boto3
import budgets
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

T = TypeVar("T")

clock = time.time
sleep = time.sleep

# botocore's own lists of error codes that mean "try again" (botocore/retries/standard.py).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
TRANSIENT_CODES = frozenset(
    {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "InternalError", "InternalFailure"}
)

_client: Any = None
_deadline: list[float] = []


class Unanswered(Exception):
    """No answer from the service within the invocation's budget; ``last`` is the last error seen."""

    def __init__(self, operation: str, last: BaseException) -> None:
        super().__init__(f"{operation}: no answer ({last!r})")
        self.operation = operation
        self.last = last


def client() -> Any:
    """The SageMaker client, created once per Lambda container: bounded timeouts, no retries of its own."""
    global _client
    if _client is None:
        _client = boto3.client(
            "sagemaker",
            config=Config(
                retries={"mode": "standard", "total_max_attempts": 1},
                connect_timeout=budgets.CONNECT_TIMEOUT_SECONDS,
                read_timeout=budgets.READ_TIMEOUT_SECONDS,
                user_agent_extra="cdk-processing",
            ),
        )
    return _client


@contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Within this block, no attempt starts and no backoff ends after ``seconds`` from now."""
    _deadline.append(clock() + seconds)
    try:
        yield
    finally:
        _deadline.pop()


def remaining() -> float:
    return (_deadline[-1] if _deadline else float("inf")) - clock()


def pause(seconds: float) -> bool:
    """Sleep ``seconds`` if that ends within the budget; whether it did."""
    if seconds >= remaining():
        return False
    sleep(seconds)
    return True


def transient(error: BaseException) -> bool:
    """Whether an error means "no answer" (try again) rather than a refusal."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        code = code_of(error)
        return code in THROTTLING_CODES or code in TRANSIENT_CODES or int(status) >= 500
    return isinstance(error, (BotoConnectionError, HTTPClientError))


def retrying(operation: str, attempt: Callable[[], T], is_transient: Callable[[BaseException], bool] = transient) -> T:
    """``attempt()`` until it answers, with exponential backoff (full jitter) while the budget lasts."""
    tries = 0
    while True:
        if remaining() <= 0:
            raise Unanswered(operation, TimeoutError("the invocation's budget was spent"))
        try:
            return attempt()
        except Exception as error:
            if not is_transient(error):
                raise
            tries += 1
            delay = min(budgets.BACKOFF_CAP_SECONDS, budgets.BACKOFF_BASE_SECONDS * 2**tries) * random.uniform(0.5, 1.0)
            log("retrying", operation=operation, error=repr(error), retry_in=round(delay, 1))
            if not pause(delay):
                raise Unanswered(operation, error) from error


def call(operation: str, **params: Any) -> dict[str, Any]:
    """One SageMaker operation (a client method name), retried while it gets no answer."""
    method = getattr(client(), operation)
    return dict(retrying(operation, lambda: method(**params)))


def attempt(operation: str, **params: Any) -> dict[str, Any]:
    """One attempt of an operation: ``Unanswered`` at once when it gets no answer (the caller retries)."""
    try:
        return dict(getattr(client(), operation)(**params))
    except Exception as error:
        if transient(error):
            raise Unanswered(operation, error) from error
        raise


def pages(operation: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
    """The items of a paginated List operation."""
    token = None
    while True:
        page = call(operation, **params, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


def code_of(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return type(error).__name__


def message_of(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Message", str(error)))
    return str(error)


def region() -> str:
    return str(client().meta.region_name)


def log(action: str, **fields: Any) -> None:
    """One JSON line per decision, so the Lambda's log group tells the story of a deploy."""
    print(json.dumps({"action": action, **fields}, default=str))
