"""Code, local data, default outputs, asset images, events, metrics and imports, on the synthesized template."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match

from cdk_processing import (
    Code,
    Completion,
    ContainerImage,
    ProcessingInput,
    ProcessingJob,
    ProcessingJobValidationError,
    ProcessingOutput,
)
from cfn import job_resources, resolve

IMAGE = ContainerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/sklearn:1.2")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("files")
    (root / "script.py").write_text("print('hello')\n")
    folder = root / "project"
    folder.mkdir()
    (folder / "main.py").write_text("import helper\n")
    (folder / "helper.py").write_text("X = 1\n")
    (folder / "requirements.txt").write_text("pandas==2.2.3\n")
    plain = root / "plain"
    plain.mkdir()
    (plain / "run.py").write_text("print(1)\n")
    (root / "data.csv").write_text("a,b\n1,2\n")
    docker = root / "image"
    docker.mkdir()
    (docker / "Dockerfile").write_text("FROM python:3.12-slim\n")
    return {"script": root / "script.py", "folder": folder, "plain": plain, "data": root / "data.csv", "docker": docker}


ASSEMBLY: dict[str, str] = {}


def _synth(build: Any) -> tuple[cdk.Stack, dict[str, Any], Any]:
    app = cdk.App(context={"aws:cdk:enable-path-metadata": True})
    stack = cdk.Stack(app, "Ergo")
    built = build(stack)
    assembly = app.synth()
    ASSEMBLY["directory"] = assembly.directory
    return stack, dict(assembly.get_stack_by_name("Ergo").template), built


def _request(template: dict[str, Any], path: str) -> dict[str, Any]:
    for resource in job_resources(template).values():
        if resource["Metadata"]["aws:cdk:path"].startswith(path + "/"):
            return dict(resolve(resource["Properties"]["Request"], template))
    raise AssertionError(path)


@pytest.fixture(scope="module")
def ergo(files: dict[str, Path]) -> tuple[cdk.Stack, dict[str, Any], dict[str, ProcessingJob]]:
    def build(stack: cdk.Stack) -> dict[str, ProcessingJob]:
        script = ProcessingJob(
            stack,
            "Script",
            image=IMAGE,
            code=Code.from_asset(str(files["script"])),
            arguments=["--n", "3"],
            outputs=[ProcessingOutput.to_bucket("result")],
        )
        folder = ProcessingJob(
            stack,
            "Folder",
            image=IMAGE,
            command=["python3", "-u"],
            code=Code.from_asset(str(files["folder"]), entry_point="main.py"),
            inputs=[ProcessingInput.from_asset("lookup", str(files["data"]))],
            outputs=[ProcessingOutput.to_bucket("result")],
        )
        plain = ProcessingJob(
            stack,
            "Plain",
            image=ContainerImage.from_asset(str(files["docker"])),
            code=Code.from_asset(str(files["plain"]), entry_point="run.py"),
            inputs=[ProcessingInput.from_output("upstream", script, "result")],
        )
        script.on_state_change("Failures", target=targets.SnsTopic(sns.Topic(stack, "Alerts")), statuses=["Failed"])
        imported = ProcessingJob.from_processing_job_name(stack, "Nightly", "Nightly-Features")
        imported.on_state_change("NightlyEvents")
        return {"script": script, "folder": folder, "plain": plain, "imported": imported}

    synthesized = _synth(build)
    ASSEMBLY["ergo"] = ASSEMBLY["directory"]
    return synthesized


def test_a_single_script_is_an_asset_run_with_the_command_then_the_arguments(ergo) -> None:
    _, template, _ = ergo
    request = _request(template, "Ergo/Script")
    code = request["ProcessingInputs"][0]
    assert code["InputName"] == "code" and code["S3Input"]["LocalPath"] == "/opt/ml/processing/input/code"
    key = code["S3Input"]["S3Uri"].rsplit("/", 1)[1]
    assert key.endswith(".py")
    assert request["AppSpecification"]["ContainerEntrypoint"] == ["python3", f"/opt/ml/processing/input/code/{key}"]
    assert request["AppSpecification"]["ContainerArguments"] == ["--n", "3"]


def test_a_folder_travels_as_its_asset_zip_unpacked_by_the_job_with_its_requirements_installed_first(
    ergo,
) -> None:
    _, template, _ = ergo
    request = _request(template, "Ergo/Folder")
    inputs = {i["InputName"]: i["S3Input"] for i in request["ProcessingInputs"]}
    # s3://<bootstrap bucket>/<hash>.zip: the CDK asset itself, the code's and the local data's alike
    zips = {name: "/" + resolve(i["S3Uri"], template).rsplit("/", 1)[1] for name, i in inputs.items()}
    assert all(re.fullmatch(r"/[0-9a-f]{64}\.zip", z) for z in zips.values()), zips
    assert request["AppSpecification"]["ContainerEntrypoint"] == [
        "/bin/sh",
        "-c",
        'for a;do shift;[ "$a" = -- ]&&break;d=${a%/*};'
        '{ python3 -m zipfile -e "$a" "$d"||unzip -qo "$a" -d "$d";}&&rm "$a"||exit;done;'
        'python3 -m pip install -q -r /opt/ml/processing/input/code/requirements.txt&&exec "$@"',
        "sh",
        "/opt/ml/processing/input/code" + zips["code"],  # each zip where SageMaker downloads it: its input's path
        "/opt/ml/processing/input/lookup" + zips["lookup"],
        "--",
        "python3",
        "-u",
        "/opt/ml/processing/input/code/main.py",
    ]
    assert inputs["lookup"]["LocalPath"] == "/opt/ml/processing/input/lookup"
    assert all(len(item) <= 256 for item in request["AppSpecification"]["ContainerEntrypoint"])  # SageMaker's limit
    # No copy function: a job with code adds no fixed resources.
    copies = [r for r in template["Resources"].values() if r["Type"] == "Custom::CDKBucketDeployment"]
    assert copies == []


def test_the_example_app_with_code_folders_has_no_bucket_deployment(example_template) -> None:
    types = {r["Type"] for r in example_template["Resources"].values()}
    assert "Custom::CDKBucketDeployment" not in types and "AWS::Lambda::LayerVersion" not in types


def test_code_changes_change_the_request_and_unchanged_code_does_not(files: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "main.py").write_text("print(1)\n")

    def request() -> dict[str, Any]:
        def build(stack: cdk.Stack) -> None:
            ProcessingJob(stack, "Job", image=IMAGE, code=Code.from_asset(str(folder), entry_point="main.py"))

        _, template, _ = _synth(build)
        return _request(template, "Ergo/Job")

    first, same = request(), request()
    (folder / "main.py").write_text("print(2)\n")
    changed = request()
    assert first == same
    assert first["ProcessingInputs"] != changed["ProcessingInputs"]


def test_a_path_may_be_a_pathlib_path_wherever_a_path_is_taken(tmp_path: Path) -> None:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "main.py").write_text("print(1)\n")
    (folder / "Dockerfile").write_text("FROM python:3.12\n")

    def request(as_path: bool) -> dict[str, Any]:
        def path(p: Path) -> Any:
            return p if as_path else str(p)

        def build(stack: cdk.Stack) -> None:
            ProcessingJob(
                stack,
                "Job",
                image=ContainerImage.from_asset(path(folder)),
                code=Code.from_asset(path(folder), entry_point="main.py"),
                inputs=[ProcessingInput.from_asset("lookup", path(folder / "main.py"))],
            )

        _, template, _ = _synth(build)
        return _request(template, "Ergo/Job")

    by_path = request(as_path=True)
    assert [i["InputName"] for i in by_path["ProcessingInputs"]] == ["code", "lookup"]
    assert by_path == request(as_path=False)  # the same assets and the same request as with strings


def test_local_data_keeps_its_file_name_and_is_an_input_the_role_may_read(ergo) -> None:
    _, template, _ = ergo
    lookup = _request(template, "Ergo/Folder")["ProcessingInputs"][1]
    assert lookup["InputName"] == "lookup"
    key = resolve(lookup["S3Input"]["S3Uri"], template).rsplit("/", 1)[1]
    # The zip the CLI makes of the file alone, under its own name (the job's entrypoint unpacks it at LocalPath).
    assembly = Path(ASSEMBLY["ergo"])
    assets = json.loads((assembly / "Ergo.assets.json").read_text())["files"]
    [staged] = [a for a in assets.values() if key in [d["objectKey"] for d in a["destinations"].values()]]
    assert staged["source"]["packaging"] == "zip"
    assert sorted(p.name for p in (assembly / staged["source"]["path"]).iterdir()) == ["data.csv"]
    policy = json.dumps([r for k, r in template["Resources"].items() if k.startswith("FolderRoleManagedPolicy")])
    assert f"/{key}" in policy and "s3:GetObject" in policy


def test_outputs_given_no_destination_share_one_bucket_at_a_prefix_per_job_and_output(ergo) -> None:
    stack, template, jobs = ergo
    buckets = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::S3::Bucket"}
    outputs = [k for k in buckets if k.startswith("CdkProcessingBucket")]
    logs = [k for k in buckets if k.startswith("CdkProcessingAccessLogs")]
    assert len(buckets) == 2 and len(outputs) == 1 and len(logs) == 1
    assert all(r["DeletionPolicy"] == "Retain" for r in buckets.values())
    # Encrypted with the account's S3 key (no grant needed), server access logs to the library's logs bucket.
    properties = buckets[outputs[0]]["Properties"]
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"BucketKeyEnabled": True, "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}
    ]
    assert properties["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs[0]}
    script = _request(template, "Ergo/Script")["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    folder = _request(template, "Ergo/Folder")["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert script.endswith(f"/cdk-processing/{jobs['script']._name_prefix}/outputs/result/")
    assert folder.endswith(f"/cdk-processing/{jobs['folder']._name_prefix}/outputs/result/")
    uri = stack.resolve(jobs["script"].output_uri("result"))
    assert resolve(uri, template) == resolve(script, template)  # the location the job writes to ...
    assert "ProcessingJobArn" in json.dumps(uri)  # ... once the job completed


def test_an_asset_image_is_built_by_the_toolchain_and_pulled_with_a_grant(ergo) -> None:
    _, template, _ = ergo
    image = _request(template, "Ergo/Plain")["AppSpecification"]["ImageUri"]
    assert "cdk-hnb659fds-container-assets" in image
    policy = json.dumps([r for k, r in template["Resources"].items() if k.startswith("PlainRoleManagedPolicy")])
    assert "ecr:BatchGetImage" in policy and "cdk-hnb659fds-container-assets" in policy


def test_state_change_rule_matches_every_run_of_the_job_by_its_name_prefix(ergo) -> None:
    _, template, jobs = ergo
    rules = {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == "AWS::Events::Rule"}
    script = next(p for k, p in rules.items() if k.startswith("ScriptFailures"))
    assert script["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Processing Job State Change"],
        "detail": {
            "ProcessingJobName": [{"prefix": jobs["script"]._name_prefix + "-"}],
            "ProcessingJobStatus": ["Failed"],
        },
    }
    assert script["Targets"][0]["Arn"] == {"Ref": next(k for k in template["Resources"] if k.startswith("Alerts"))}
    nightly = next(p for k, p in rules.items() if k.startswith("NightlyNightlyEvents"))
    assert nightly["EventPattern"]["detail"] == {"ProcessingJobName": ["Nightly-Features"]}


def test_metrics_are_in_the_processing_jobs_namespace_per_host(ergo) -> None:
    stack, template, jobs = ergo
    metric = jobs["script"].metric_cpu_utilization(host="algo-2")
    assert metric.namespace == "/aws/sagemaker/ProcessingJobs" and metric.metric_name == "CPUUtilization"
    paths = {k: r["Metadata"]["aws:cdk:path"] for k, r in job_resources(template).items()}
    job = next(k for k, path in paths.items() if path.startswith("Ergo/Script/"))
    name = {"Fn::GetAtt": [job, "ProcessingJobName"]}
    assert stack.resolve(metric.dimensions["Host"]) == {"Fn::Join": ["", [name, "/algo-2"]]}
    assert jobs["script"].metric_memory_utilization().metric_name == "MemoryUtilization"
    assert jobs["script"].metric_disk_utilization().metric_name == "DiskUtilization"


def test_an_imported_job_has_its_arn(ergo) -> None:
    stack, _, jobs = ergo
    arn = resolve(stack.resolve(jobs["imported"].processing_job_arn), {"Resources": {}})
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:processing-job/nightly-features"


def test_fails_requirements_to_install_in_a_network_isolated_job(files: dict[str, Path]) -> None:
    # pip cannot reach a package index without network access: an error at synth (it was a warning), with an opt-out.
    app = cdk.App()
    stack = cdk.Stack(app, "Isolated")
    with pytest.raises(ProcessingJobValidationError) as raised:
        ProcessingJob(
            stack,
            "Job",
            image=IMAGE,
            enable_network_isolation=True,
            code=Code.from_asset(str(files["folder"]), entry_point="main.py"),
        )
    message = str(raised.value)
    assert message.startswith("Isolated/Job: code is ")
    assert "requirements.txt" in message and "install_requirements=False" in message


def test_requirements_not_installed_in_a_network_isolated_job_when_opted_out(files: dict[str, Path]) -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Isolated")
    ProcessingJob(
        stack,
        "Job",
        image=IMAGE,
        enable_network_isolation=True,
        code=Code.from_asset(str(files["folder"]), entry_point="main.py", install_requirements=False),
    )
    [request] = [
        r["Properties"]["Request"] for r in job_resources(app.synth().get_stack_by_name("Isolated").template).values()
    ]
    entrypoint = request["AppSpecification"]["ContainerEntrypoint"]
    assert entrypoint[-1] == "/opt/ml/processing/input/code/main.py" and "zipfile -e" in entrypoint[2]
    assert "pip" not in json.dumps(entrypoint)  # unpacked, not installed: the packages are in the image


@pytest.mark.parametrize(
    "build,fragment",
    [
        (lambda f: Code.from_asset(str(f["folder"])), "code.entry_point is None: must name the file to run"),
        (lambda f: Code.from_asset(str(f["folder"]), entry_point="nope.py"), "code.entry_point is 'nope.py'"),
        (lambda f: Code.from_asset(str(f["script"]), entry_point="other.py"), "must be left out for a single file"),
        (lambda f: Code.from_asset("/no/such/path"), "code is '/no/such/path': must be an existing file or folder"),
        (lambda f: ContainerImage.from_asset(str(f["folder"])), "must be a Dockerfile"),
        (
            lambda f: ProcessingJob(
                cdk.Stack(cdk.App(), "S"), "J", image=IMAGE, code=Code.from_asset(str(f["script"])), entrypoint=["x"]
            ),
            "entrypoint is ['x']: cannot be combined with code",
        ),
        (lambda f: ProcessingJob(cdk.Stack(cdk.App(), "S"), "J", image=IMAGE, command=["python3"]), "command is"),
        (lambda f: ProcessingOutput.to_bucket("o", key_prefix="x/"), "outputs[o].bucket is None"),
        (lambda f: ProcessingJob.from_processing_job_name(cdk.Stack(cdk.App(), "S"), "I", "bad_name"), "bad_name"),
    ],
)
def test_fails_at_synth_with_a_clear_message(files: dict[str, Path], build: Any, fragment: str) -> None:
    with pytest.raises(ProcessingJobValidationError) as raised:
        build(files)
    assert fragment in str(raised.value)


def test_the_state_change_rule_is_in_place_before_the_job_starts(ergo) -> None:
    _, template, _ = ergo
    rule = next(k for k in template["Resources"] if k.startswith("ScriptFailures"))
    job = next(
        k for k, r in job_resources(template).items() if r["Metadata"]["aws:cdk:path"].startswith("Ergo/Script/")
    )
    assert rule in template["Resources"][job]["DependsOn"]


def test_a_chained_job_names_its_upstream_run_and_may_decrypt_its_output(files: dict[str, Path]) -> None:
    from aws_cdk import aws_kms as kms

    def build(stack: cdk.Stack) -> None:
        key = kms.Key(stack, "Key")
        first = ProcessingJob(
            stack, "First", image=IMAGE, output_encryption_key=key, outputs=[ProcessingOutput.to_bucket("o")]
        )
        ProcessingJob(stack, "Second", image=IMAGE, inputs=[ProcessingInput.from_output("i", first, "o")])
        # The same, the input added once the job is made: its first upstream run.
        third = ProcessingJob(stack, "Third", image=IMAGE)
        third.add_input(ProcessingInput.from_output("i", first, "o"))

    _, template, _ = _synth(build)
    jobs = {r["Metadata"]["aws:cdk:path"].split("/")[1]: (k, r) for k, r in job_resources(template).items()}
    first_id, _ = jobs["First"]
    # When the upstream job runs again (a new name), the property changes and so this job runs again too.
    assert jobs["Second"][1]["Properties"]["Upstream"] == [{"Fn::GetAtt": [first_id, "ProcessingJobName"]}]
    assert jobs["Third"][1]["Properties"]["Upstream"] == [{"Fn::GetAtt": [first_id, "ProcessingJobName"]}]
    assert "Upstream" not in jobs["First"][1]["Properties"]
    policy = json.dumps([r for k, r in template["Resources"].items() if k.startswith("SecondRoleManagedPolicy")])
    assert "kms:Decrypt" in policy


def test_an_excluded_requirements_file_is_not_installed(files: dict[str, Path]) -> None:
    code = Code.from_asset(str(files["folder"]), entry_point="main.py", exclude=["requirements.txt"])
    assert code.has_requirements is False
    with pytest.raises(ProcessingJobValidationError, match="is left out by exclude"):
        Code.from_asset(str(files["folder"]), entry_point="main.py", exclude=["*.py"])


def test_a_command_leaves_room_for_the_pip_wrapper_within_100_entrypoint_items(files: dict[str, Path]) -> None:
    # The wrapper's five items, the folder's zip and the script: 93 left for the command.
    with pytest.raises(ProcessingJobValidationError, match="command is '94 items': must hold 1 to 93 items"):
        ProcessingJob(
            cdk.Stack(cdk.App(), "S"),
            "J",
            image=IMAGE,
            command=["python3"] * 94,
            code=Code.from_asset(str(files["folder"]), entry_point="main.py"),
        )


def test_framework_images_resolve_per_region_or_through_a_mapping() -> None:
    from cdk_processing import Framework
    from cdk_processing.image import framework_images

    app = cdk.App()
    agnostic = cdk.Stack(app, "Agnostic")
    ProcessingJob(agnostic, "J", image=ContainerImage.from_framework(Framework.SKLEARN, "1.2-1"))
    pinned = cdk.Stack(app, "Pinned", env=cdk.Environment(account="111111111111", region="eu-west-1"))
    ProcessingJob(pinned, "J", image=ContainerImage.from_framework(Framework.PYTORCH, "2.6.0", gpu=True))
    assembly = app.synth()
    facts = framework_images()["frameworks"]

    template = assembly.get_stack_by_name("Agnostic").template
    [mapping] = template["Mappings"].values()
    assert mapping == {r: {"account": a} for r, a in facts["sklearn"]["versions"]["1.2-1"]["registries"].items()}
    [job] = job_resources(template).values()
    uri = resolve(job["Properties"]["Request"]["AppSpecification"]["ImageUri"], {**template, "Resources": {}})
    assert (
        uri == f"{mapping['us-east-1']['account']}.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )

    template = assembly.get_stack_by_name("Pinned").template
    [job] = job_resources(template).values()
    account = facts["pytorch"]["versions"]["2.6.0"]["registries"]["eu-west-1"]
    uri = resolve(job["Properties"]["Request"]["AppSpecification"]["ImageUri"], {"Resources": {}})
    assert uri == f"{account}.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training:2.6.0-gpu-py312"
    policy = json.dumps([r for k, r in template["Resources"].items() if k.startswith("JRoleManagedPolicy")])
    assert f"ecr:eu-west-1:{account}:repository/pytorch-training" in policy
    assert "sagemaker" in framework_images()["source"]  # where the account facts come from


@pytest.mark.parametrize(
    "build,fragment",
    [
        (lambda F: ContainerImage.from_framework(F.SKLEARN, "9.9"), "sklearn version is '9.9': must be one of ["),
        (lambda F: ContainerImage.from_framework(F.SKLEARN, "1.2-1", gpu=True), "only PyTorch has GPU"),
        (lambda F: ContainerImage.from_framework(F.PYTORCH, "2.6.0", py_version="py27"), "must be one of ['py312']"),
        (
            lambda F: ProcessingJob(
                cdk.Stack(cdk.App(), "Mars", env=cdk.Environment(region="mars-north-1")),
                "J",
                image=ContainerImage.from_framework(F.XGBOOST, "1.7-1"),
            ),
            "image is 'xgboost 1.7-1 in mars-north-1': has no image in that region; known regions: ['af-south-1'",
        ),
    ],
)
def test_unknown_framework_versions_and_regions_fail_at_synth(build: Any, fragment: str) -> None:
    from cdk_processing import Framework

    with pytest.raises(ProcessingJobValidationError) as raised:
        build(Framework)
    assert fragment in str(raised.value)


def test_the_default_buckets_access_logs_bring_no_warning(ergo) -> None:
    """aws-cdk-lib warns when it adds no delivery permission to a referenced logs bucket; the library's own bucket
    policy is that permission, and the warning is acknowledged where it arises."""
    stack, _, _ = ergo
    warnings = Annotations.from_stack(stack).find_warning("*", Match.any_value())
    assert [w.entry.data for w in warnings if "logging permissions" in str(w.entry.data)] == []


def test_an_imported_job_by_arn_knows_its_name_and_a_bad_arn_fails_naming_the_construct() -> None:
    stack = cdk.Stack(cdk.App(), "Imports")
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:processing-job/nightly-features"
    job = ProcessingJob.from_processing_job_arn(stack, "Nightly", arn)
    assert (job.processing_job_name, job.processing_job_arn) == ("nightly-features", arn)
    assert job.on_state_change("Events").node.path == "Imports/Nightly/Events"
    with pytest.raises(
        ProcessingJobValidationError, match=r"Imports/Bad: processing_job_arn is 'arn:aws:iam::1:role/r'"
    ):
        ProcessingJob.from_processing_job_arn(stack, "Bad", "arn:aws:iam::1:role/r")


def test_metrics_take_cloudwatchs_metric_options_and_retain_keeps_a_running_job_on_delete() -> None:
    from aws_cdk import aws_cloudwatch as cloudwatch

    stack = cdk.Stack(cdk.App(), "Options")
    job = ProcessingJob(stack, "Job", image=IMAGE)
    metric = job.metric("GPUUtilization", statistic="Maximum", label="gpu", unit=cloudwatch.Unit.PERCENT, host="algo-2")
    assert (metric.statistic, metric.label, metric.unit) == ("Maximum", "gpu", cloudwatch.Unit.PERCENT)
    assert metric.dimensions["Host"] == job.processing_job_name + "/algo-2"
    job.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
    [resource] = job_resources(cdk.assertions.Template.from_stack(stack).to_json()).values()
    assert resource["DeletionPolicy"] == "Retain"  # CloudFormation sends no delete: the job is left alone
    assert "The job's name" in (type(job).processing_job_name.__doc__ or "")  # help() shows the attributes


def test_a_request_override_changes_the_request_moves_the_long_wait_and_checks_its_path() -> None:
    def synth(override: bool) -> dict[str, Any]:
        app = cdk.App()
        stack = cdk.Stack(app, "Hatch")
        for id, completion in (("Wait", Completion.wait()), ("Long", Completion.wait_long())):
            job = ProcessingJob(stack, id, image=IMAGE, completion=completion, max_runtime=cdk.Duration.minutes(30))
            if override:
                job.add_request_override("ProcessingResources.ClusterConfig.VolumeSizeInGB", 500)
        return dict(app.synth().get_stack_by_name("Hatch").template)

    plain, overridden = synth(False), synth(True)
    for template in (plain, overridden):
        assert len(job_resources(template)) == 2
    sizes = [
        r["Properties"]["Request"]["ProcessingResources"]["ClusterConfig"]["VolumeSizeInGB"]
        for r in job_resources(overridden).values()
    ]
    assert sizes == [500, 500]  # the request changed: the handler's digest of it too, so the job runs again

    def waits(template: dict[str, Any]) -> set[str]:
        return {k for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudFormation::WaitCondition"}

    assert waits(plain) and waits(plain) != waits(overridden)  # a new WaitCondition: the long wait waits again
    stack = cdk.Stack(cdk.App(), "Typo")
    job = ProcessingJob(stack, "Job", image=IMAGE)
    with pytest.raises(
        ProcessingJobValidationError, match=r"Typo/Job: add_request_override path is 'ProcessingResource"
    ):
        job.add_request_override("ProcessingResource.ClusterConfig.VolumeSizeInGB", 1)
    with pytest.raises(ProcessingJobValidationError, match="'Foo' is not a member of ProcessingClusterConfig"):
        job.add_request_override("ProcessingResources.ClusterConfig.Foo", 1)
