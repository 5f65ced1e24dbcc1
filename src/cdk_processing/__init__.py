"""cdk-processing: Amazon SageMaker Processing Jobs as AWS CDK constructs, run and awaited during ``cdk deploy``."""

from ._validation import ProcessingJobValidationError
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

# The library's one error class, for every job kind.
JobValidationError = ProcessingJobValidationError

__all__ = [
    "AthenaOutputCompression",
    "Checkpoints",
    "AthenaOutputFormat",
    "Code",
    "Completion",
    "ContainerImage",
    "ContainerImageConfig",
    "DataDistribution",
    "Distribution",
    "ExperimentConfig",
    "Framework",
    "IJob",
    "IProcessingJob",
    "ITrainingJob",
    "InputMode",
    "InstanceGroup",
    "InstanceType",
    "JobTask",
    "JobValidationError",
    "JobWorkflow",
    "MetricDefinition",
    "MetricThreshold",
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
]
