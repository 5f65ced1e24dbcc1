"""A processing job's inputs and outputs: at most ten of each, with names and container paths of their own, bound
to the job (which grants its role what each needs), rendered as the request's ``ProcessingInputs`` and
``ProcessingOutputConfig``."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ._core.context import JobScope
from ._s3 import S3Location
from ._validation import ProcessingJobValidationError, check_local_paths_unique, check_type, check_unique, fail
from .inputs import ProcessingInput
from .outputs import ProcessingOutput

MAX_INPUTS = 10  # ProcessingInputs' max in botocore's model (test_bad_input checks it)
MAX_OUTPUTS = 10  # ProcessingOutputs' max


class ProcessingChannels:
    """The inputs and outputs of ``job``; ``upstream`` collects the runs of the jobs whose outputs it reads."""

    def __init__(self, job: Construct, upstream: list[str], output_key: kms.IKey | None) -> None:
        self._job = job
        self._upstream = upstream
        self._output_key = output_key
        self.inputs: list[ProcessingInput] = []
        self.outputs: list[ProcessingOutput] = []
        self._input_members: list[dict[str, Any]] = []
        self._output_members: list[dict[str, Any]] = []

    def add_input(self, processing_input: ProcessingInput, job: JobScope, grantee: iam.IGrantable) -> None:
        check_type(
            "inputs[]",
            processing_input,
            ProcessingInput,
            "must be a ProcessingInput, such as ProcessingInput.from_bucket(name, bucket, key_prefix)",
        )
        self._admit("inputs", [i.name for i in self.inputs], processing_input.local_path, processing_input.name)
        self.inputs.append(processing_input)
        self._input_members.append(processing_input.bind(self._job, grantee))
        processing_input.admitted(job, self._upstream)

    def add_output(self, processing_output: ProcessingOutput, grantee: iam.IGrantable) -> None:
        check_type(
            "outputs[]",
            processing_output,
            ProcessingOutput,
            "must be a ProcessingOutput, such as ProcessingOutput.to_bucket(name, bucket, key_prefix)",
        )
        self._admit("outputs", [o.name for o in self.outputs], processing_output.local_path, processing_output.name)
        self.outputs.append(processing_output)
        self._output_members.append(processing_output.bind(self._job, grantee))

    def s3_uri(self, output_name: str) -> str:
        """The request's URI of an S3 output."""
        for output in self.outputs:
            if output.name == output_name and output.is_s3:
                assert output.s3_uri is not None
                return output.s3_uri
        raise self._no_s3_output(output_name)

    def location(self, output_name: str) -> S3Location:
        """Where an S3 output is written: its bucket and key prefix."""
        for output in self.outputs:
            if output.name == output_name and output.s3_location is not None:
                return output.s3_location
        raise self._no_s3_output(output_name)

    def render_inputs(self) -> list[dict[str, Any]] | None:
        return self._input_members or None

    def render_output_config(self) -> dict[str, Any] | None:
        if not self._output_members and self._output_key is None:
            return None
        config: dict[str, Any] = {"Outputs": self._output_members}
        if self._output_key is not None:
            config["KmsKeyId"] = self._output_key.key_arn
        return config

    def _no_s3_output(self, output_name: str) -> ProcessingJobValidationError:
        names = [o.name for o in self.outputs if o.is_s3]
        return fail("output_name", output_name, f"must name one of this job's S3 outputs: {names}")

    def _admit(self, kind: str, names: list[str], local_path: str | None, name: str) -> None:
        """One more input or output: within SageMaker's 10, under a name and a local path of its own."""
        limit = MAX_INPUTS if kind == "inputs" else MAX_OUTPUTS
        if len(names) >= limit:
            raise fail(kind, f"{len(names) + 1} items", f"a job takes at most {limit} {kind}")
        check_unique(f"{kind}[].name", [*names, name])
        paths = [i.local_path for i in self.inputs] + [o.local_path for o in self.outputs]
        check_local_paths_unique("local_path", [p for p in [*paths, local_path] if p is not None])
