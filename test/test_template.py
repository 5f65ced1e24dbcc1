"""The synthesized template: each prop group, the roles' exact statements, the singleton provider, tags."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match

from cfn import VOLUME_KEY_ACTIONS, grants, job_resources, library_managed_policy_arns, resolve, role_grants

POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")

PROCESSING_JOB = "Custom::SageMakerProcessingJob"


def _job(template: dict[str, Any], construct_path: str) -> dict[str, Any]:
    for resource in job_resources(template).values():
        if resource["Metadata"]["aws:cdk:path"].startswith(construct_path + "/Resource"):
            return resource
    raise AssertionError(f"no processing job at {construct_path}")


def _request(template: dict[str, Any], construct_path: str) -> dict[str, Any]:
    return resolve(_job(template, construct_path)["Properties"]["Request"], template)


# -- the request ----------------------------------------------------------------------------------------------------


def test_minimal_job_renders_the_documented_defaults(synthesized) -> None:
    request = _request(synthesized.templates["minimal"], "Minimal/Prep")
    assert request["AppSpecification"] == {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1.0"}
    assert request["ProcessingResources"] == {
        "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
    }
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 2700}
    assert request["NetworkConfig"] == {
        "EnableInterContainerTrafficEncryption": False,
        "EnableNetworkIsolation": False,
    }
    assert request["ProcessingInputs"][0]["S3Input"] == {
        "S3Uri": f"s3://{request['ProcessingInputs'][0]['S3Input']['S3Uri'][5:].split('/')[0]}/raw/",
        "LocalPath": "/opt/ml/processing/input/raw",
        "S3DataType": "S3Prefix",
        "S3InputMode": "File",
        "S3DataDistributionType": "FullyReplicated",
        "S3CompressionType": "None",
    }
    assert request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["LocalPath"] == "/opt/ml/processing/output/train"
    assert request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3UploadMode"] == "EndOfJob"
    for absent in ("Environment", "ExperimentConfig", "ProcessingJobName", "Tags"):
        assert absent not in request


def test_full_job_renders_every_field_of_the_api(synthesized) -> None:
    request = _request(synthesized.templates["full"], "Full/Features")
    assert request["ProcessingJobName"] == "features-nightly"
    assert request["AppSpecification"]["ContainerEntrypoint"] == ["python3", "/opt/program/features.py"]
    assert request["AppSpecification"]["ContainerArguments"] == ["--mode", "full"]
    assert request["AppSpecification"]["ImageUri"].endswith(":v2")
    assert ".dkr.ecr." in request["AppSpecification"]["ImageUri"]
    assert request["Environment"] == {"LOG_LEVEL": "DEBUG", "_PRIVATE": "1"}
    cluster = request["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceCount"] == 2 and cluster["InstanceType"] == "ml.m5.2xlarge"
    assert cluster["VolumeSizeInGB"] == 100 and cluster["VolumeKmsKeyId"].startswith("arn:aws:kms:")
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 2400}
    assert request["ExperimentConfig"] == {
        "ExperimentName": "features",
        "TrialName": "nightly",
        "TrialComponentDisplayName": "build",
        "RunName": "run-1",
    }
    network = request["NetworkConfig"]
    assert network["EnableNetworkIsolation"] is True
    assert network["EnableInterContainerTrafficEncryption"] is True  # default for more than one instance
    assert len(network["VpcConfig"]["Subnets"]) == 2
    assert all(s.startswith("subnet-") for s in network["VpcConfig"]["Subnets"])
    assert len(network["VpcConfig"]["SecurityGroupIds"]) == 1
    inputs = {i["InputName"]: i for i in request["ProcessingInputs"]}
    assert list(inputs) == ["raw", "manifest", "athena", "redshift", "app"]
    assert inputs["manifest"]["S3Input"] == {
        "S3Uri": "s3://shared-datasets-bucket/manifests/train.manifest",
        "LocalPath": "/opt/ml/processing/input/manifest",
        "S3DataType": "ManifestFile",
        "S3InputMode": "Pipe",
        "S3DataDistributionType": "ShardedByS3Key",
        "S3CompressionType": "Gzip",
    }
    athena = inputs["athena"]["DatasetDefinition"]
    assert athena["AthenaDatasetDefinition"]["WorkGroup"] == "analytics"
    assert athena["AthenaDatasetDefinition"]["OutputFormat"] == "PARQUET"
    assert athena["AthenaDatasetDefinition"]["OutputCompression"] == "SNAPPY"
    assert athena["LocalPath"] == "/opt/ml/processing/input/athena"
    redshift = inputs["redshift"]["DatasetDefinition"]["RedshiftDatasetDefinition"]
    assert redshift["ClusterId"] == "warehouse" and redshift["ClusterRoleArn"].startswith("arn:aws:iam::")
    assert inputs["app"]["AppManaged"] is True and inputs["app"]["S3Input"]["LocalPath"] == "/opt/ml/processing/app"
    outputs = {o["OutputName"]: o for o in request["ProcessingOutputConfig"]["Outputs"]}
    assert outputs["stream"]["S3Output"]["S3UploadMode"] == "Continuous"
    assert outputs["store"] == {
        "OutputName": "store",
        "FeatureStoreOutput": {"FeatureGroupName": "customer-features"},
        "AppManaged": True,
    }
    assert request["ProcessingOutputConfig"]["KmsKeyId"].startswith("arn:aws:kms:")


def assert_output_uri(template: dict[str, Any], value: Any, producer: str, location: Any) -> None:
    """``output_uri`` resolves to the request's location, and through the producer's ARN (the empty text before
    "arn:") makes a consumer run after the producer."""
    assert resolve(value, template) == resolve(location, template)
    assert {"Fn::GetAtt": [producer, "ProcessingJobArn"]} in json_values(value)


def json_values(value: Any) -> list[Any]:
    """Every object and list nested in a template value."""
    found = [value]
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        found += json_values(child)
    return found


def test_chained_job_reads_the_producers_output_location_and_runs_after_the_producer(synthesized) -> None:
    template = synthesized.templates["pipeline"]
    raw = _job(template, "Pipeline/Evaluate")["Properties"]["Request"]["ProcessingInputs"][0]["S3Input"]["S3Uri"]
    producer = next(
        k for k, r in job_resources(template).items() if r["Metadata"]["aws:cdk:path"].startswith("Pipeline/Prep/")
    )
    outputs = template["Resources"][producer]["Properties"]["Request"]["ProcessingOutputConfig"]["Outputs"]
    location = next(o["S3Output"]["S3Uri"] for o in outputs if o["OutputName"] == "train")
    assert_output_uri(template, raw, producer, location)


def test_job_attributes_are_getatt_tokens(synthesized) -> None:
    stack = synthesized.stacks["minimal"]
    job = synthesized.jobs["minimal"]
    logical_id = next(iter(job_resources(synthesized.templates["minimal"])))
    for attribute, name in [
        ("processing_job_name", "ProcessingJobName"),
        ("processing_job_arn", "ProcessingJobArn"),
        ("processing_job_status", "ProcessingJobStatus"),
        ("exit_message", "ExitMessage"),
        ("failure_reason", "FailureReason"),
        ("creation_time", "CreationTime"),
        ("processing_start_time", "ProcessingStartTime"),
        ("processing_end_time", "ProcessingEndTime"),
    ]:
        assert stack.resolve(getattr(job, attribute)) == {"Fn::GetAtt": [logical_id, name]}
    outputs = synthesized.templates["minimal"]["Resources"][logical_id]["Properties"]["Request"]
    location = outputs["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert_output_uri(synthesized.templates["minimal"], stack.resolve(job.output_uri("train")), logical_id, location)


def test_the_job_waits_for_its_role_policy_and_the_handler_policy(synthesized) -> None:
    template = synthesized.templates["minimal"]
    depends_on = _job(template, "Minimal/Prep")["DependsOn"]
    assert any(d.startswith("PrepRoleManagedPolicy") for d in depends_on)
    assert any(d.startswith("CdkProcessingJobProviderHandlerRoleManagedPolicy") for d in depends_on)


def test_the_custom_resource_allows_cloudformations_full_hour(synthesized) -> None:
    assert _job(synthesized.templates["minimal"], "Minimal/Prep")["Properties"]["ServiceTimeout"] == "3600"


# -- tags ------------------------------------------------------------------------------------------------------------


def test_stack_tags_and_tags_of_the_job_reach_the_request_and_filtered_tags_do_not(synthesized) -> None:
    request = _request(synthesized.templates["full"], "Full/Features")
    assert request["Tags"] == [{"Key": "owner", "Value": "ml-platform"}, {"Key": "team", "Value": "forecasting"}]


# -- the job role ----------------------------------------------------------------------------------------------------


def test_created_role_has_exactly_the_statements_its_job_needs(synthesized) -> None:
    template = synthesized.templates["minimal"]
    roles = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith("PrepRole")]
    assert len(roles) == 1
    role = template["Resources"][roles[0]]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
    ]
    assert library_managed_policy_arns(template, roles[0]) == []  # only the library's own policies, by reference
    assert role["Path"].startswith("/cdk-processing/minimal-")
    bucket_arn = next(
        resolve({"Fn::GetAtt": [k, "Arn"]}, template)
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::S3::Bucket"
    )
    prefix = _job(template, "Minimal/Prep")["Properties"]["JobNamePrefix"]
    logs = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/ProcessingJobs"
    expected = grants(
        [
            {
                "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                "Resource": "arn:aws:ecr:us-east-1:123456789012:repository/prep",
            },
            # GetAuthorizationToken supports no resource-level permissions.
            {"Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {"Action": ["logs:CreateLogGroup", "logs:DescribeLogStreams"], "Resource": logs + ":*"},
            {
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{logs}:log-stream:{prefix}-*",
            },
            {
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/ProcessingJobs"}},
            },
            {"Action": "s3:GetObject", "Resource": bucket_arn + "/raw/*"},
            {
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": ["raw/", "raw/*"]}},
            },
            {
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                "Resource": bucket_arn + "/train/*",
            },
            {
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": ["train/", "train/*"]}},
            },
            {"Action": "s3:GetBucketLocation", "Resource": bucket_arn},
        ]
    )
    assert role_grants(template, "PrepRole") == expected


def test_vpc_job_role_gets_network_interface_permissions_and_a_job_without_vpc_does_not(synthesized) -> None:
    pipeline = role_grants(synthesized.templates["pipeline"], "PrepRole")
    minimal = role_grants(synthesized.templates["minimal"], "PrepRole")
    resources = [json.loads(r) for a, r, _ in pipeline if a == "ec2:CreateNetworkInterface"]
    assert sum(r.split(":")[-1].startswith("subnet/") for r in resources) == 2
    assert sum(r.split(":")[-1].startswith("security-group/") for r in resources) == 1
    assert sum(r.split(":")[-1] == "network-interface/*" for r in resources) == 1
    assert len(resources) == 4
    assert not [a for a, _, _ in minimal if a.startswith("ec2:")]


def test_kms_keys_are_granted_to_the_role_and_volume_grants_to_the_handler(synthesized) -> None:
    template = synthesized.templates["full"]
    key_arn = resolve({"Fn::GetAtt": ["Key961B73FD", "Arn"]}, template)
    actions = {a for a, r, _ in role_grants(template, "FeaturesRole") if json.loads(r) == key_arn}
    # The output key is also the volume key.
    assert actions == VOLUME_KEY_ACTIONS
    handler = role_grants(template, "CdkProcessingJobProviderHandlerRole")
    condition = json.dumps({"Bool": {"kms:GrantIsForAWSResource": True}}, sort_keys=True)
    assert ("kms:CreateGrant", json.dumps(key_arn), condition) in handler


def test_passed_in_role_is_used_as_is_and_granted_the_same(synthesized) -> None:
    template = synthesized.templates["pipeline"]
    request = _request(template, "Pipeline/Evaluate")
    assert request["RoleArn"] == "arn:aws:iam::123456789012:role/ml-eval"
    assert not [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role" and "Evaluate" in k]
    policies = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy" and r["Properties"]["Roles"] == ["ml-eval"]
    ]
    assert len(policies) == 1
    actions = str(policies[0]["Properties"]["PolicyDocument"])
    assert "s3:GetObject" in actions and "s3:PutObject" in actions and "logs:PutLogEvents" in actions
    # What jobs of roles the library made get from the stack's shared policy, a role passed in gets here.
    assert "logs:CreateLogGroup" in actions and "cloudwatch:PutMetricData" in actions
    assert not [k for k, r in template["Resources"].items() if "ml-eval" in json.dumps(r) and "JobPolicy" in k]


def test_chained_input_reads_exactly_the_producers_prefix(synthesized) -> None:
    template = synthesized.templates["pipeline"]
    # The job's role is passed in: the library's statements are in a policy of their own under the job.
    evaluate = grants(
        [
            s
            for k, r in template["Resources"].items()
            if k.startswith("EvaluateRolePolicy")
            for s in resolve(r["Properties"]["PolicyDocument"]["Statement"], template)
        ]
    )
    reads = [json.loads(r) for a, r, _ in evaluate if a == "s3:GetObject"]
    assert len(reads) == 1
    assert reads[0].endswith("/prepared/train/*")
    lists = sorted(c for a, _, c in evaluate if a == "s3:ListBucket")
    prefixes = [c.split(" ", 2)[2] for c in lists]
    assert sorted(prefixes) == ["prepared/train/", "prepared/train/*", "reports/", "reports/*"]


def test_security_group_allows_traffic_between_the_instances_of_a_multi_instance_job(synthesized) -> None:
    template = synthesized.templates["pipeline"]
    ingress = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::EC2::SecurityGroupIngress"]
    assert len(ingress) == 1
    assert ingress[0]["GroupId"] == ingress[0]["SourceSecurityGroupId"]
    assert _request(template, "Pipeline/Prep")["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True


def test_connections_expose_the_jobs_security_groups(synthesized) -> None:
    job = synthesized.jobs["prep"]
    assert len(job.connections.security_groups) == 1


# -- the provider ----------------------------------------------------------------------------------------------------


def test_one_provider_per_stack_serves_every_job(synthesized) -> None:
    template = synthesized.template("pipeline")
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    template.resource_count_is(PROCESSING_JOB, 2)
    template.resource_properties_count_is("AWS::Lambda::Function", {"Handler": "index.on_event"}, 1)
    template.resource_properties_count_is("AWS::Lambda::Function", {"Handler": "index.is_complete"}, 1)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "index.is_complete",
            "Runtime": Match.string_like_regexp("python3"),
            "Environment": {"Variables": {"WAIT_BUDGET_SECONDS": "3000"}},
        },
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 30})


def test_handler_role_acts_only_on_this_stacks_jobs_and_passes_only_job_roles_to_sagemaker(synthesized) -> None:
    template = synthesized.templates["pipeline"]
    handler = role_grants(template, "CdkProcessingJobProviderHandlerRole")
    by_resource: dict[str, list[str]] = {}
    for action, resource, _ in sorted(handler):
        if action.startswith("sagemaker:"):
            by_resource.setdefault(json.loads(resource), []).append(action)
    assert by_resource == {
        "*": ["sagemaker:ListProcessingJobs"],
        "arn:aws:sagemaker:us-east-1:123456789012:processing-job/pipeline-37e1-*": [
            "sagemaker:AddTags",
            "sagemaker:CreateProcessingJob",
            "sagemaker:DeleteTags",
            "sagemaker:DescribeProcessingJob",
            "sagemaker:ListTags",
            "sagemaker:StopProcessingJob",
        ],
    }
    pass_role = {(json.loads(r), c) for a, r, c in handler if a == "iam:PassRole"}
    condition = json.dumps({"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}, sort_keys=True)
    assert pass_role == {
        ("arn:aws:iam::123456789012:role/cdk-processing/pipeline-37e1/*", condition),
        ("arn:aws:iam::123456789012:role/ml-eval", condition),
    }
    # Every generated job name starts with the prefix the handler may act on.
    for resource in job_resources(template).values():
        assert resource["Properties"]["JobNamePrefix"].startswith("pipeline-37e1-")


def test_a_fixed_job_name_is_allowed_by_exactly_that_name(synthesized) -> None:
    handler = role_grants(synthesized.templates["full"], "CdkProcessingJobProviderHandlerRole")
    resources = {json.loads(r) for a, r, _ in handler if a == "sagemaker:CreateProcessingJob"}
    assert "arn:aws:sagemaker:us-east-1:123456789012:processing-job/features-nightly" in resources


def test_no_role_of_the_library_carries_an_aws_managed_policy(synthesized) -> None:
    for stack in ("minimal", "full", "pipeline"):
        template = synthesized.templates[stack]
        roles = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::Role"]
        assert len(roles) >= 5
        assert {k: library_managed_policy_arns(template, k) for k in roles} == {k: [] for k in roles}
