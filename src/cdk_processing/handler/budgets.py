"""The handler's budgets: the time each invocation may take, and the bytes each part of a response may fill.

Standard library only; the construct reads the time budgets to size the functions' timeouts.
"""

from __future__ import annotations

# CloudFormation rejects a custom resource response body over 4096 bytes. The Provider framework writes the body
# (JSON, UTF-8) with the stack id (up to about 230 bytes), the logical id (up to 255), the request id, the physical
# id and, on a failure, an "Error: " prefix, the handler's log group and a Node stack of about 350 bytes around our
# message, and the Data of onEvent. Our parts stay within these budgets, counted as the bytes they take in that JSON.
REASON_BUDGET_BYTES = 2300
DATA_BUDGET_BYTES = 2700
# What onEvent returns as Data (it is in every later response, failures included) stays within this.
EVENT_DATA_BUDGET_BYTES = 200

# Time. One attempt of a call takes at most CONNECT + READ seconds; each entry point works within a budget (no
# attempt starts and no backoff ends after it), so an invocation ends within its budget and one attempt, and the
# Lambda function's timeout is twice that (``lambda_timeout_seconds``): a timeout never cuts a flow short.
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 15
ATTEMPT_SECONDS = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 20.0
# onEvent: the create is retried for ROLE_PROPAGATION_SECONDS while SageMaker cannot assume a role IAM is
# still propagating, and any call for as long as the budget lasts while it gets no answer.
ON_EVENT_BUDGET_SECONDS = 120
ROLE_PROPAGATION_SECONDS = 90
# isComplete: a poll without an answer within its budget is no news, and the next poll comes 30 s later.
IS_COMPLETE_BUDGET_SECONDS = 20
# The long wait's signal: minutes of errors are ridden out in the function (and Lambda retries it twice more).
SIGNAL_BUDGET_SECONDS = 420
# A job may not be visible to Describe and List for a while after its create returned (eventual
# consistency): not finding it within this time after its creation means "not visible yet".
VISIBILITY_SECONDS = 120


def lambda_timeout_seconds(budget_seconds: int) -> int:
    """The timeout of a function whose invocations work within ``budget_seconds``: twice the longest one."""
    return 2 * (budget_seconds + ATTEMPT_SECONDS)


# A Delete that cannot name the job (CloudFormation made its physical id up, or sent none) looks for this
# resource's jobs for as long as a Create still in flight could start one, and that job could stay invisible.
SWEEP_SECONDS = lambda_timeout_seconds(ON_EVENT_BUDGET_SECONDS) + VISIBILITY_SECONDS


def fit_reason(text: str) -> str:
    """A failure reason, cut to its budget."""
    return truncate(text, REASON_BUDGET_BYTES)


_SHORT_ESCAPES = frozenset('"\\\b\f\n\r\t')


def _char_size(char: str) -> int:
    """The bytes a character takes in JSON as JavaScript's JSON.stringify writes it, encoded as UTF-8."""
    point = ord(char)
    if char in _SHORT_ESCAPES:
        return 2
    if point < 0x20 or 0xD800 <= point <= 0xDFFF:  # \u00XX, and a lone surrogate as \uXXXX
        return 6
    if point < 0x80:
        return 1
    if point < 0x800:
        return 2
    return 3 if point < 0x10000 else 4


def json_size(text: str) -> int:
    """The bytes ``text`` takes inside a JSON string in the framework's response body."""
    return sum(_char_size(c) for c in text)


def truncate(text: str, budget: int) -> str:
    """``text``, cut to take at most ``budget`` bytes in the response body (whole characters, a marker at the end)."""
    if json_size(text) <= budget:
        return text
    marker = "...[truncated]"
    room = max(0, budget - len(marker))
    used = 0
    for index, char in enumerate(text):
        used += _char_size(char)
        if used > room:
            return text[:index] + marker
    return text + marker
