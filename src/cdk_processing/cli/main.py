"""``cdk-processing``: the library's jobs of a deployed stack, from the command line.

``jobs`` lists them, ``describe`` shows one with its log link, ``logs`` prints (and follows) its CloudWatch Logs,
``stop`` stops one. Exit status: 0 done, 1 an error (no such stack or job, AWS refused), 2 a usage error.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from .aws import Aws, CliError, Job
from .kinds import LIBRARY_TAG_PREFIX, RUNNING, Kind, logs_url
from .output import block, how_long, shorten, table, to_json, when

Sleep = Callable[[float], None]


def _at(data: Any, path: str) -> Any:
    """The value at a dotted ``path`` of a describe answer; a segment ending in ``[]`` maps over a list."""
    value = data
    for segment in path.split("."):
        if segment.endswith("[]"):
            items = value.get(segment[:-2]) if isinstance(value, dict) else None
            rest = path.split(segment + ".", 1)[1] if segment + "." in path else ""
            return [item for item in (_at(i, rest) if rest else i for i in items or []) if item is not None]
        value = value.get(segment) if isinstance(value, dict) else None
    return value


def _text(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, list):
        return shlex.join(str(v) for v in value)
    return str(value)


def _summary(job: Job) -> dict[str, Any]:
    kind = job.kind
    duration = job.duration()
    return {
        "Name": job.name,
        "Kind": kind.name,
        "Arn": job.arn,
        "Stack": job.stack,
        "Resource": job.resource,
        "Current": job.current,
        "Status": job.status,
        "CreationTime": job.field(kind.created_field),
        "StartTime": job.field(kind.started_field),
        "EndTime": job.field(kind.ended_field),
        "DurationSeconds": duration.total_seconds() if duration is not None else None,
        "FailureReason": job.field(kind.failure_field),
    }


def _created(job: Job) -> float:
    created = job.field(job.kind.created_field)
    return created.timestamp() if isinstance(created, datetime) else float("inf")


# -- commands ---------------------------------------------------------------------------------------------------


def _jobs(aws: Aws, args: argparse.Namespace, sleep: Sleep) -> int:
    jobs: list[Job] = []
    for stack in [args.stack] if args.stack else aws.stack_names():
        try:
            jobs.extend(aws.stack_jobs(stack, earlier=args.all))
        except CliError:
            if args.stack:
                raise  # a stack of the region's list that went away meanwhile is skipped
    jobs.sort(key=_created)
    if args.json:
        print(to_json([_summary(job) for job in jobs]))
        return 0
    if not jobs:
        where = f"stack {args.stack}" if args.stack else f"the stacks of {aws.region}"
        print(f"no cdk-processing jobs in {where}", file=sys.stderr)
        return 0
    headers = ["NAME", "KIND", "STACK", "RESOURCE", "STATUS", "CREATED", "ENDED", "DURATION", "RUN", "FAILURE REASON"]
    rows = []
    for job in jobs:
        kind = job.kind
        rows.append(
            [
                job.name,
                kind.name,
                job.stack or "-",
                job.resource or "-",
                job.status,
                when(job.field(kind.created_field)),
                when(job.field(kind.ended_field)),
                how_long(job.duration()),
                "current" if job.current else "earlier",
                shorten(str(job.field(kind.failure_field) or "-"), 80),
            ]
        )
    shown = [
        i for i, h in enumerate(headers) if not (h == "STACK" and args.stack) and not (h == "RUN" and not args.all)
    ]
    print(table([headers[i] for i in shown], [[row[i] for i in shown] for row in rows]))
    return 0


def _describe(aws: Aws, args: argparse.Namespace, sleep: Sleep) -> int:
    job = aws.find(args.job, args.stack)
    kind: Kind = job.kind
    job.tags = aws.tags(job.arn) if job.arn else {}
    url = logs_url(kind.job, job.name, aws.region)
    if args.json:
        document = dict(job.description or {})
        document.update(
            Kind=kind.name,
            Stack=job.stack,
            Resource=job.resource,
            Tags=job.tags,
            LogGroup=kind.log_group,
            LogStreamPrefix=job.name + "/",
            LogsUrl=url,
        )
        print(to_json(document))
        return 0
    pairs: list[tuple[str, str | list[str]]] = [("Name", job.name), ("Kind", kind.name), ("ARN", _text(job.arn))]
    if job.stack:
        pairs += [("Stack", job.stack), ("Resource", _text(job.resource))]
    pairs += [
        ("Status", job.status),
        ("Failure reason", _text(job.field(kind.failure_field))),
        ("Created", when(job.field(kind.created_field))),
        ("Started", when(job.field(kind.started_field))),
        ("Ended", when(job.field(kind.ended_field))),
        ("Duration", how_long(job.duration())),
    ]
    for label, path in kind.details:
        value = _at(job.description, path)
        pairs.append((label, [_text(v) for v in value] if path_maps(path) else _text(value)))
    pairs += [
        ("Tags", [f"{k}={v}" for k, v in sorted(job.tags.items())]),
        ("Log group", kind.log_group),
        ("Log streams", f"{job.name}/*"),
        ("Logs", url),
    ]
    print(block(pairs))
    return 0


def path_maps(path: str) -> bool:
    """Whether a details path maps over a list (its value is one line per item)."""
    return "[]" in path


def _logs(aws: Aws, args: argparse.Namespace, sleep: Sleep) -> int:
    """Print the job's log events; with ``--follow``, poll until the job has ended, then print the rest."""
    job = aws.find(args.job, args.stack)
    count = _at(job.description, job.kind.instance_count_path)
    several = isinstance(count, int) and count > 1
    start, seen, printed = 0, set[str](), 0
    while True:
        ended = job.status not in RUNNING  # read before the events: after an end, this read gets them all
        for event in aws.log_events(job, start):
            event_id = str(event.get("eventId", ""))
            if event_id in seen:
                continue
            if int(event["timestamp"]) > start:
                start, seen = int(event["timestamp"]), set()
            seen.add(event_id)
            message = str(event.get("message", "")).rstrip("\n")
            stream = str(event.get("logStreamName", "")).removeprefix(job.name + "/")
            print(f"[{stream.rpartition('-')[0] or stream}] {message}" if several else message, flush=True)
            printed += 1
        if not args.follow or ended:
            break
        sleep(args.interval)
        job = aws.describe(job.kind, job.name)
    if args.follow:
        print(f"job {job.name} ended: {job.status}", file=sys.stderr)
    elif not printed:
        print(f"no log events yet for job {job.name} ({job.kind.log_group}, streams {job.name}/*)", file=sys.stderr)
    return 0


def _stop(aws: Aws, args: argparse.Namespace, sleep: Sleep) -> int:
    job = aws.find(args.job, args.stack)
    tags = aws.tags(job.arn) if job.arn else {}
    if not args.force and not any(key.startswith(LIBRARY_TAG_PREFIX) for key in tags):
        raise CliError(
            f"job {job.name} has no {LIBRARY_TAG_PREFIX}* tags: cdk-processing did not start it; "
            "--force stops it anyway"
        )
    before = job.status
    if before != "InProgress":
        result = {"Name": job.name, "PreviousStatus": before, "Status": before, "Stopped": False}
        print(to_json(result) if args.json else f"job {job.name} is {before}: nothing to stop")
        return 0
    aws.stop(job)
    after = aws.describe(job.kind, job.name).status
    result = {"Name": job.name, "PreviousStatus": before, "Status": after, "Stopped": True}
    print(to_json(result) if args.json else f"stopping job {job.name} (was {before}, now {after})")
    return 0


# -- the command line -------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--region", help="the AWS Region (default: AWS_REGION, or the profile's)")
    common.add_argument("--profile", help="a named profile of your AWS config")
    common.add_argument("--endpoint-url", help="send the AWS calls here (default: AWS_ENDPOINT_URL, or AWS's)")
    with_json = argparse.ArgumentParser(add_help=False)
    with_json.add_argument("--json", action="store_true", help="JSON for scripts instead of text")
    one_job = argparse.ArgumentParser(add_help=False)
    one_job.add_argument("job", metavar="JOB", help="a job name or ARN, or with --stack a job's logical id")
    one_job.add_argument("--stack", help="the stack whose job resource JOB names")

    parser = argparse.ArgumentParser(
        prog="cdk-processing",
        description="The cdk-processing jobs of deployed stacks: list, describe, read logs, stop.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    jobs = commands.add_parser(
        "jobs", parents=[common, with_json], help="list the jobs of a stack (or of every stack of the Region)"
    )
    jobs.add_argument("--stack", help="a stack name or id (default: every stack of the Region)")
    jobs.add_argument("--all", action="store_true", help="also earlier runs, replaced by updates")
    jobs.set_defaults(run=_jobs)
    describe = commands.add_parser("describe", parents=[common, with_json, one_job], help="show one job")
    describe.set_defaults(run=_describe)
    logs = commands.add_parser("logs", parents=[common, one_job], help="print a job's CloudWatch Logs")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing until the job has ended")
    logs.add_argument("--interval", type=float, default=5.0, help="seconds between polls with --follow (5)")
    logs.set_defaults(run=_logs)
    stop = commands.add_parser("stop", parents=[common, with_json, one_job], help="stop a running job")
    stop.add_argument("--force", action="store_true", help="also a job without the library's tags")
    stop.set_defaults(run=_stop)
    return parser


def main(argv: Sequence[str] | None = None, *, sleep: Sleep = time.sleep) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return its exit status.

    ``sleep`` waits between the polls of ``logs --follow``.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2)
        return e.code if isinstance(e.code, int) else 2
    if args.command is None:
        parser.print_usage(sys.stderr)
        return 2
    try:
        return int(args.run(Aws(args.region, args.profile, args.endpoint_url), args, sleep))
    except CliError as e:
        print(f"cdk-processing: error: {e}", file=sys.stderr)
    except ClientError as e:
        error = e.response.get("Error", {})
        print(f"cdk-processing: error: {error.get('Code')}: {error.get('Message')}", file=sys.stderr)
    except BotoCoreError as e:  # no credentials, no connection
        print(f"cdk-processing: error: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
