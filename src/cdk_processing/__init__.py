"""cdk-processing: Amazon SageMaker Processing Jobs as AWS CDK constructs, run and awaited during ``cdk deploy``.

The public names are imported on first use (PEP 562): ``import cdk_processing.cli`` (the ``cdk-processing``
command) loads neither aws-cdk-lib nor its Node.js runtime (jsii); ``from cdk_processing import ProcessingJob``
imports the module that defines it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names for type checkers and IDEs, imported eagerly there
    from ._validation import ProcessingJobValidationError
    from ._validation import ProcessingJobValidationError as JobValidationError
    from .assets import Code
    from .completion import Completion
    from .datasets import AthenaOutputCompression, AthenaOutputFormat, RedshiftOutputCompression, RedshiftOutputFormat
    from .image import ContainerImage, ContainerImageConfig, Framework
    from .inputs import ProcessingInput
    from .instance_type import InstanceType
    from .job_base import IJob, IProcessingJob, ITrainingJob, ProcessingJobBase, TrainingJobBase
    from .outputs import ProcessingOutput, S3UploadMode
    from .processing_job import ExperimentConfig, ProcessingJob
    from .provider import ProcessingJobProvider
    from .quality_gate import MetricThreshold
    from .s3_data import DataDistribution, InputMode, S3Compression, S3DataType
    from .training_attributes import Checkpoints, MetricDefinition
    from .training_cluster import InstanceGroup
    from .training_distribution import Distribution
    from .training_inputs import RecordWrapper, TrainingInput
    from .training_job import TrainingJob
    from .workflow import JobTask, JobWorkflow

# Each public name: (the module that defines it, its name there). JobValidationError is the library's one error
# class, for every job kind, under its general name.
_WHERE: dict[str, tuple[str, str]] = {
    "AthenaOutputCompression": (".datasets", "AthenaOutputCompression"),
    "AthenaOutputFormat": (".datasets", "AthenaOutputFormat"),
    "Checkpoints": (".training_attributes", "Checkpoints"),
    "Code": (".assets", "Code"),
    "Completion": (".completion", "Completion"),
    "ContainerImage": (".image", "ContainerImage"),
    "ContainerImageConfig": (".image", "ContainerImageConfig"),
    "DataDistribution": (".s3_data", "DataDistribution"),
    "ExperimentConfig": (".processing_job", "ExperimentConfig"),
    "Framework": (".image", "Framework"),
    "IJob": (".job_base", "IJob"),
    "IProcessingJob": (".job_base", "IProcessingJob"),
    "ITrainingJob": (".job_base", "ITrainingJob"),
    "InputMode": (".s3_data", "InputMode"),
    "InstanceType": (".instance_type", "InstanceType"),
    "JobValidationError": ("._validation", "ProcessingJobValidationError"),
    "MetricDefinition": (".training_attributes", "MetricDefinition"),
    "ProcessingInput": (".inputs", "ProcessingInput"),
    "ProcessingJob": (".processing_job", "ProcessingJob"),
    "ProcessingJobBase": (".job_base", "ProcessingJobBase"),
    "ProcessingJobProvider": (".provider", "ProcessingJobProvider"),
    "ProcessingJobValidationError": ("._validation", "ProcessingJobValidationError"),
    "ProcessingOutput": (".outputs", "ProcessingOutput"),
    "RecordWrapper": (".training_inputs", "RecordWrapper"),
    "RedshiftOutputCompression": (".datasets", "RedshiftOutputCompression"),
    "RedshiftOutputFormat": (".datasets", "RedshiftOutputFormat"),
    "S3Compression": (".s3_data", "S3Compression"),
    "S3DataType": (".s3_data", "S3DataType"),
    "S3UploadMode": (".outputs", "S3UploadMode"),
    "TrainingInput": (".training_inputs", "TrainingInput"),
    "TrainingJob": (".training_job", "TrainingJob"),
    "TrainingJobBase": (".job_base", "TrainingJobBase"),
    "Distribution": (".training_distribution", "Distribution"),
    "InstanceGroup": (".training_cluster", "InstanceGroup"),
    "JobTask": (".workflow", "JobTask"),
    "JobWorkflow": (".workflow", "JobWorkflow"),
    "MetricThreshold": (".quality_gate", "MetricThreshold"),
}

__all__ = [
    "AthenaOutputCompression",
    "Checkpoints",
    "AthenaOutputFormat",
    "Code",
    "Completion",
    "ContainerImage",
    "ContainerImageConfig",
    "DataDistribution",
    "ExperimentConfig",
    "Framework",
    "IJob",
    "IProcessingJob",
    "ITrainingJob",
    "InputMode",
    "InstanceType",
    "JobValidationError",
    "MetricDefinition",
    "ProcessingInput",
    "ProcessingJob",
    "ProcessingJobBase",
    "ProcessingJobProvider",
    "ProcessingJobValidationError",
    "ProcessingOutput",
    "RecordWrapper",
    "RedshiftOutputCompression",
    "RedshiftOutputFormat",
    "S3Compression",
    "S3DataType",
    "S3UploadMode",
    "TrainingInput",
    "TrainingJob",
    "TrainingJobBase",
    "Distribution",
    "InstanceGroup",
    "JobTask",
    "JobWorkflow",
    "MetricThreshold",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use and kept in the package's namespace."""
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where[0], __name__), where[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
