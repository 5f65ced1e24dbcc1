"""The emulator's training jobs, through boto3 over HTTP: what SageMaker answers and moto alone does not (a job in
progress until it ends, secondary statuses and their transitions, StopTrainingJob, its errors, lists and tags)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cfn import FakeClock
from emulator import ACCOUNT, REGION, Outcome, SageMakerEmulator

OUTPUT = "s3://models-bucket/churn"
CAPACITY = "Insufficient capacity error from EC2 while launching instances, retrying!"


@pytest.fixture
def clock(emulator: SageMakerEmulator) -> Iterator[FakeClock]:
    """The emulator, reset, on a fake clock (conftest's ``clock`` without the packaged handler)."""
    fake = FakeClock()
    emulator.reset()
    emulator.clock = fake
    yield fake
    emulator.reset()


@pytest.fixture
def sagemaker(emulator: SageMakerEmulator) -> Any:
    env = emulator.environment()
    return boto3.client(
        "sagemaker",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
        config=Config(retries={"total_max_attempts": 1}),  # each call one request: the faults are seen as they are
    )


def request(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
            "TrainingInputMode": "File",
        },
        "RoleArn": "arn:aws:iam::123456789012:role/training",
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/train/"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": OUTPUT},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "Tags": [{"Key": "team", "Value": "churn"}],
        **extra,
    }


def at(clock: FakeClock) -> datetime:
    return datetime.fromtimestamp(clock(), timezone.utc)


def describe(sagemaker: Any, name: str) -> dict[str, Any]:
    description = sagemaker.describe_training_job(TrainingJobName=name)
    description.pop("ResponseMetadata")
    return dict(description)


def transitions(description: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(t["Status"], t.get("StatusMessage")) for t in description["SecondaryStatusTransitions"]]


def error_of(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


def test_a_new_job_is_in_progress_starting_with_the_request_as_sent(
    sagemaker: Any, emulator: SageMakerEmulator, clock: FakeClock
) -> None:
    arn = sagemaker.create_training_job(**request("train-a"))["TrainingJobArn"]
    d = describe(sagemaker, "train-a")
    assert arn == d["TrainingJobArn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/train-a"
    assert (d["TrainingJobName"], d["TrainingJobStatus"], d["SecondaryStatus"]) == ("train-a", "InProgress", "Starting")
    assert transitions(d) == [("Starting", "Starting the training job")]
    assert d["SecondaryStatusTransitions"][0]["StartTime"] == at(clock)
    assert "EndTime" not in d["SecondaryStatusTransitions"][0]
    assert d["CreationTime"] == d["LastModifiedTime"] == at(clock)
    # Not on its instances yet, nothing written, nothing billed; the request as sent (moto adds metric definitions).
    for absent in ("TrainingStartTime", "TrainingEndTime", "ModelArtifacts", "FailureReason", "BillableTimeInSeconds"):
        assert absent not in d, absent
    assert "FinalMetricDataList" not in d
    assert d["AlgorithmSpecification"] == request("train-a")["AlgorithmSpecification"]
    assert d["OutputDataConfig"] == {"S3OutputPath": OUTPUT}
    assert emulator.status("train-a") == "InProgress" and emulator.running() == ["train-a"]
    assert emulator.calls["CreateTrainingJob"] == 1 and emulator.calls["DescribeTrainingJob"] == 1


def test_every_member_of_a_create_request_is_taken_and_a_name_in_use_is_refused(
    sagemaker: Any, clock: FakeClock
) -> None:
    everything = request(
        "train-full",
        HyperParameters={"epochs": "3"},
        Environment={"MODE": "full"},
        RetryStrategy={"MaximumRetryAttempts": 2},
        CheckpointConfig={"S3Uri": "s3://models-bucket/checkpoints/", "LocalPath": "/opt/ml/checkpoints"},
        VpcConfig={"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
        EnableNetworkIsolation=True,
        EnableInterContainerTrafficEncryption=True,
        EnableManagedSpotTraining=True,
        ExperimentConfig={"ExperimentName": "churn"},
        ProfilerConfig={"DisableProfiler": True},
        RemoteDebugConfig={"EnableRemoteDebug": False},
        InfraCheckConfig={"EnableInfraCheck": False},
        TensorBoardOutputConfig={"S3OutputPath": "s3://models-bucket/tb/"},
        DebugHookConfig={"S3OutputPath": "s3://models-bucket/debug/"},
        StoppingCondition={"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
    )
    sagemaker.create_training_job(**everything)
    d = describe(sagemaker, "train-full")
    assert d["TrainingJobStatus"] == "InProgress"
    assert d["HyperParameters"] == {"epochs": "3"}
    assert d["CheckpointConfig"] == everything["CheckpointConfig"]
    assert d["StoppingCondition"] == everything["StoppingCondition"]
    assert d["EnableManagedSpotTraining"] is True

    code, message = error_of(sagemaker.create_training_job, **request("train-full"))
    assert code == "ResourceInUse" and "already exists" in message
    assert describe(sagemaker, "train-full")["HyperParameters"] == {"epochs": "3"}  # the first job, untouched


def test_progress_moves_the_secondary_status_and_starts_the_job_on_its_instances(
    sagemaker: Any, emulator: SageMakerEmulator, clock: FakeClock
) -> None:
    sagemaker.create_training_job(**request("train-p"))
    created = at(clock)
    clock.advance(30)
    emulator.progress("train-p", "Starting", CAPACITY)  # the same status: its message changes, no new entry
    d = describe(sagemaker, "train-p")
    assert transitions(d) == [("Starting", CAPACITY)]
    assert "TrainingStartTime" not in d and d["LastModifiedTime"] == at(clock)

    clock.advance(90)
    emulator.progress("train-p", "Downloading")
    clock.advance(60)
    emulator.progress("train-p", "Training")
    d = describe(sagemaker, "train-p")
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("InProgress", "Training")
    assert emulator.secondary_status("train-p") == "Training"
    assert transitions(d) == [
        ("Starting", CAPACITY),
        ("Downloading", "Downloading input data"),
        ("Training", "Training image download completed. Training in progress."),
    ]
    starting, downloading, training = d["SecondaryStatusTransitions"]
    assert (starting["StartTime"], starting["EndTime"]) == (created, downloading["StartTime"])
    assert downloading["EndTime"] == training["StartTime"] == at(clock)
    assert "EndTime" not in training
    assert d["TrainingStartTime"] == downloading["StartTime"]  # it left Starting: on its instances


def test_a_planned_completion_has_its_artifacts_times_and_billable_seconds(
    sagemaker: Any, emulator: SageMakerEmulator, clock: FakeClock
) -> None:
    emulator.plan(Outcome("Completed", after_describes=2, progress=(("Uploading", None),)), name_contains="train-c")
    sagemaker.create_training_job(**request("train-c"))
    clock.advance(60)
    emulator.progress("train-c", "Training")
    started = at(clock)
    clock.advance(240)
    assert describe(sagemaker, "train-c")["TrainingJobStatus"] == "InProgress"
    d = describe(sagemaker, "train-c")
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Completed", "Completed")
    assert transitions(d)[-2:] == [
        ("Uploading", "Uploading generated training model"),
        ("Completed", "Training job completed"),
    ]
    last = d["SecondaryStatusTransitions"][-1]
    assert last["StartTime"] == last["EndTime"] == at(clock)
    assert d["ModelArtifacts"] == {"S3ModelArtifacts": f"{OUTPUT}/train-c/output/model.tar.gz"}
    assert (d["TrainingStartTime"], d["TrainingEndTime"]) == (started, at(clock))
    assert d["BillableTimeInSeconds"] == d["TrainingTimeInSeconds"] == 240
    assert "FailureReason" not in d
    assert emulator.running() == []


def test_a_failure_has_its_reason_and_the_last_secondary_status_message_before_it(
    sagemaker: Any, emulator: SageMakerEmulator, clock: FakeClock
) -> None:
    reason = (
        "CapacityError: Unable to provision requested ML compute capacity. Please retry using a different ML "
        "instance type."
    )
    emulator.plan(
        Outcome("Failed", runs_for=600, failure_reason=reason, progress=(("Starting", CAPACITY),)),
        name_contains="train-f",
    )
    sagemaker.create_training_job(**request("train-f"))
    clock.advance(599)
    assert describe(sagemaker, "train-f")["TrainingJobStatus"] == "InProgress"
    clock.advance(1)
    d = describe(sagemaker, "train-f")
    assert (d["TrainingJobStatus"], d["SecondaryStatus"], d["FailureReason"]) == ("Failed", "Failed", reason)
    # SageMaker closes the transitions with the end's own entry: the capacity message is the one before it.
    assert transitions(d) == [("Starting", CAPACITY), ("Failed", "Training job failed")]
    assert d["TrainingEndTime"] == at(clock)
    # It never started on instances: no start time, nothing billed, no model.
    for absent in ("TrainingStartTime", "BillableTimeInSeconds", "ModelArtifacts"):
        assert absent not in d, absent


def test_finish_sets_a_secondary_status_and_message_of_its_own(
    sagemaker: Any, emulator: SageMakerEmulator, clock: FakeClock
) -> None:
    for name in ("train-x", "train-y"):
        sagemaker.create_training_job(**request(name))
        emulator.progress(name, "Training")
    clock.advance(3600)
    emulator.finish("train-x", "Stopped", secondary_status="MaxRuntimeExceeded")
    emulator.finish(
        "train-y", "Failed", "AlgorithmError: ExecuteUserScriptError", status_message="Training job failed: exit 1"
    )
    x, y = describe(sagemaker, "train-x"), describe(sagemaker, "train-y")
    assert (x["TrainingJobStatus"], x["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")
    assert transitions(x)[-1] == ("MaxRuntimeExceeded", "Training job runtime exceeded MaxRuntimeInSeconds provided")
    assert x["BillableTimeInSeconds"] == 3600 and "ModelArtifacts" in x
    assert (y["TrainingJobStatus"], y["SecondaryStatus"]) == ("Failed", "Failed")
    assert y["FailureReason"] == "AlgorithmError: ExecuteUserScriptError"
    assert transitions(y)[-1] == ("Failed", "Training job failed: exit 1")


def test_stop_is_stopping_for_stop_takes_then_stopped(
    sagemaker: Any, emulator: SageMakerEmulator, clock: FakeClock
) -> None:
    emulator.stop_takes = 120
    sagemaker.create_training_job(**request("train-s"))
    emulator.progress("train-s", "Training")
    clock.advance(100)
    sagemaker.stop_training_job(TrainingJobName="train-s")
    d = describe(sagemaker, "train-s")
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopping", "Stopping")
    assert transitions(d)[-1] == ("Stopping", "Stopping the training job")
    code, message = error_of(sagemaker.stop_training_job, TrainingJobName="train-s")
    assert (code, message) == (
        "ValidationException",
        "The request was rejected because the training job is in status Stopping.",
    )

    clock.advance(119)
    assert describe(sagemaker, "train-s")["TrainingJobStatus"] == "Stopping"
    clock.advance(1)
    d = describe(sagemaker, "train-s")
    assert (d["TrainingJobStatus"], d["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert [status for status, _ in transitions(d)] == ["Starting", "Training", "Stopping", "Stopped"]
    assert d["TrainingEndTime"] == at(clock) and d["BillableTimeInSeconds"] == 220
    assert d["ModelArtifacts"]["S3ModelArtifacts"] == f"{OUTPUT}/train-s/output/model.tar.gz"  # saved on SIGTERM
    assert emulator.calls["StopTrainingJob"] == 2


def test_stop_of_an_ended_or_missing_job_is_refused(
    sagemaker: Any, emulator: SageMakerEmulator, clock: FakeClock
) -> None:
    sagemaker.create_training_job(**request("train-done"))
    emulator.finish("train-done", "Completed")
    assert error_of(sagemaker.stop_training_job, TrainingJobName="train-done") == (
        "ValidationException",
        "The request was rejected because the training job is in status Completed.",
    )
    assert emulator.status("train-done") == "Completed"
    # SageMaker's words for a missing training job (not moto's "Could not find training job ...").
    missing = ("ValidationException", "Requested resource not found.")
    assert error_of(sagemaker.stop_training_job, TrainingJobName="train-none") == missing
    assert error_of(sagemaker.describe_training_job, TrainingJobName="train-none") == missing


def test_list_honours_name_contains_and_status_equals_with_secondary_statuses(
    sagemaker: Any, emulator: SageMakerEmulator, clock: FakeClock
) -> None:
    for name in ("churn-1", "churn-2", "churn-3", "other-1"):
        sagemaker.create_training_job(**request(name))
    emulator.finish("churn-2", "Completed")
    sagemaker.stop_training_job(TrainingJobName="churn-3")
    sagemaker.create_processing_job(
        ProcessingJobName="churn-prep",
        AppSpecification={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1"},
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
        },
        RoleArn="arn:aws:iam::123456789012:role/prep",
    )

    def listed(**kwargs: Any) -> dict[str, tuple[str, str]]:
        summaries = sagemaker.list_training_jobs(**kwargs)["TrainingJobSummaries"]
        return {s["TrainingJobName"]: (s["TrainingJobStatus"], s["SecondaryStatus"]) for s in summaries}

    assert listed(NameContains="churn") == {
        "churn-1": ("InProgress", "Starting"),
        "churn-2": ("Completed", "Completed"),
        "churn-3": ("Stopping", "Stopping"),
    }
    assert listed(NameContains="churn", StatusEquals="InProgress") == {"churn-1": ("InProgress", "Starting")}
    assert listed(StatusEquals="InProgress") == {
        "churn-1": ("InProgress", "Starting"),
        "other-1": ("InProgress", "Starting"),
    }
    clock.advance(emulator.stop_takes)
    assert listed(StatusEquals="Stopped") == {"churn-3": ("Stopped", "Stopped")}  # a list sees a stop end, too
    processing = sagemaker.list_processing_jobs(NameContains="churn")["ProcessingJobSummaries"]
    assert [s["ProcessingJobName"] for s in processing] == ["churn-prep"]


def test_visible_after_hides_a_new_job_from_describe_list_and_tags(
    sagemaker: Any, emulator: SageMakerEmulator, clock: FakeClock
) -> None:
    emulator.visible_after = 5
    arn = sagemaker.create_training_job(**request("train-v"))["TrainingJobArn"]
    missing = ("ValidationException", "Requested resource not found.")
    assert error_of(sagemaker.describe_training_job, TrainingJobName="train-v") == missing
    assert error_of(sagemaker.list_tags, ResourceArn=arn) == missing
    assert sagemaker.list_training_jobs(NameContains="train-v")["TrainingJobSummaries"] == []
    clock.advance(5)
    assert describe(sagemaker, "train-v")["TrainingJobStatus"] == "InProgress"
    assert [s["TrainingJobName"] for s in sagemaker.list_training_jobs()["TrainingJobSummaries"]] == ["train-v"]
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "churn"}]


def test_tags_of_a_training_job_are_listed_added_and_deleted(
    sagemaker: Any, emulator: SageMakerEmulator, clock: FakeClock
) -> None:
    arn = sagemaker.create_training_job(**request("train-t"))["TrainingJobArn"]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "cdk-processing:request-id", "Value": "r-1"}])
    assert {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=arn)["Tags"]} == {
        "team": "churn",
        "cdk-processing:request-id": "r-1",
    }
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert emulator.tags("train-t") == {"cdk-processing:request-id": "r-1"}
    assert emulator.calls["ListTags"] == 1 and emulator.calls["AddTags"] == 1 and emulator.calls["DeleteTags"] == 1


def test_an_injected_fault_and_a_lost_answer_apply_to_training_operations(
    sagemaker: Any, emulator: SageMakerEmulator, clock: FakeClock
) -> None:
    emulator.fail_next("DescribeTrainingJob", "ThrottlingException", "Rate exceeded")
    emulator.lose_answers("CreateTrainingJob")
    assert error_of(sagemaker.create_training_job, **request("train-l"))[0] == "InternalFailure"
    assert emulator.status("train-l") == "InProgress"  # created all the same
    assert error_of(sagemaker.create_training_job, **request("train-l"))[0] == "ResourceInUse"
    assert error_of(sagemaker.describe_training_job, TrainingJobName="train-l")[0] == "ThrottlingException"
    assert describe(sagemaker, "train-l")["TrainingJobStatus"] == "InProgress"


def with_pool(name: str, seconds: int = 600, **resources: Any) -> dict[str, Any]:
    config = {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30, **resources}
    return request(name, ResourceConfig={**config, "KeepAlivePeriodInSeconds": seconds})


def test_a_job_that_completed_with_a_keep_alive_holds_an_available_pool(sagemaker, emulator, clock) -> None:
    sagemaker.create_training_job(**with_pool("pooled"))
    sagemaker.create_training_job(**request("unpooled"))
    assert "WarmPoolStatus" not in describe(sagemaker, "pooled")
    emulator.finish("pooled", "Completed")
    emulator.finish("unpooled", "Completed")
    assert describe(sagemaker, "pooled")["WarmPoolStatus"] == {"Status": "Available"}
    assert "WarmPoolStatus" not in describe(sagemaker, "unpooled")


def test_update_changes_a_pool_s_stay_and_a_stay_of_zero_ends_it(sagemaker, emulator, clock) -> None:
    sagemaker.create_training_job(**with_pool("pooled"))
    with pytest.raises(ClientError, match="can only be updated if training job status is Completed"):
        sagemaker.update_training_job(TrainingJobName="pooled", ResourceConfig={"KeepAlivePeriodInSeconds": 60})
    emulator.finish("pooled", "Completed")
    sagemaker.update_training_job(TrainingJobName="pooled", ResourceConfig={"KeepAlivePeriodInSeconds": 1800})
    assert describe(sagemaker, "pooled")["ResourceConfig"]["KeepAlivePeriodInSeconds"] == 1800
    sagemaker.update_training_job(TrainingJobName="pooled", ResourceConfig={"KeepAlivePeriodInSeconds": 0})
    assert describe(sagemaker, "pooled")["WarmPoolStatus"] == {"Status": "Terminated"}
    with pytest.raises(ClientError, match="terminated or reused"):
        sagemaker.update_training_job(TrainingJobName="pooled", ResourceConfig={"KeepAlivePeriodInSeconds": 60})
    with pytest.raises(ClientError, match="Requested resource not found"):
        sagemaker.update_training_job(TrainingJobName="missing", ResourceConfig={"KeepAlivePeriodInSeconds": 0})
    assert emulator.calls["UpdateTrainingJob"] == 5


def test_a_matching_job_takes_over_an_available_pool(sagemaker, emulator, clock) -> None:
    sagemaker.create_training_job(**with_pool("first"))
    emulator.finish("first", "Completed")
    sagemaker.create_training_job(**with_pool("other-size", VolumeSizeInGB=50))  # no match: a cold start
    assert "WarmPoolStatus" not in describe(sagemaker, "other-size")
    sagemaker.create_training_job(**with_pool("second", 1200))  # the same but its stay: a match
    assert describe(sagemaker, "first")["WarmPoolStatus"] == {"Status": "Reused", "ReusedByJob": "second"}
    assert describe(sagemaker, "second")["WarmPoolStatus"] == {"Status": "InUse"}
    emulator.finish("second", "Failed", "AlgorithmError")
    assert describe(sagemaker, "second")["WarmPoolStatus"] == {"Status": "Terminated"}


def test_an_outcome_sets_final_metrics_and_billed_seconds(sagemaker, emulator, clock) -> None:
    emulator.plan(Outcome(runs_for=1000, final_metrics={"validation:auc": 0.8125}, billed_share=0.4))
    sagemaker.create_training_job(**request("spot"))
    emulator.progress("spot", "Training")
    clock.advance(1000)
    found = describe(sagemaker, "spot")
    assert [(m["MetricName"], m["Value"]) for m in found["FinalMetricDataList"]] == [("validation:auc", 0.8125)]
    assert (found["TrainingTimeInSeconds"], found["BillableTimeInSeconds"]) == (1000, 400)
