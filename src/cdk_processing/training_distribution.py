"""Distributed training: how a framework container (PyTorch, TensorFlow, Hugging Face: the SageMaker training toolkit
they run) launches the training script on the job's instances and GPUs. The launcher is chosen by hyperparameters,
named and JSON-encoded as the SageMaker Python SDK's ``distribution`` argument renders them (``estimator.py``
``_distribution_configuration``, ``pytorch/estimator.py``), and checked as the SDK checks them (``fw_utils.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from . import _model
from ._validation import check_bool, check_integer, check_model_string, check_range, check_type, fail, is_unresolved
from .assets import Code
from .code import Launch, job_entrypoint
from .image import ContainerImage, Framework, framework_of
from .instance_type import InstanceType
from .training_cluster import TrainingCluster
from .training_inputs import CHANNEL_ROOT

# The hyperparameters the training toolkit reads (sagemaker-training-toolkit ``params.py``; the SDK's names).
TORCH_DISTRIBUTED = "sagemaker_torch_distributed_enabled"
MPI = "sagemaker_mpi_enabled"
MPI_PROCESSES_PER_HOST = "sagemaker_mpi_num_of_processes_per_host"
MPI_OPTIONS = "sagemaker_mpi_custom_mpi_options"
DATA_PARALLEL = "sagemaker_distributed_dataparallel_enabled"
DATA_PARALLEL_OPTIONS = "sagemaker_distributed_dataparallel_custom_mpi_options"
MODEL_PARALLEL = "mp_parameters"
INSTANCE_TYPE = "sagemaker_instance_type"
INSTANCE_GROUPS = "sagemaker_distribution_instance_groups"
PROGRAM = "sagemaker_program"
SUBMIT_DIRECTORY = "sagemaker_submit_directory"

# The SDK refuses SMDDP and SMP on ml.p5.48xlarge unless torch_distributed launches them (estimator.py).
_TORCHRUN_ONLY_SMDISTRIBUTED = "ml.p5.48xlarge"


class Distribution:
    """How a framework image's training toolkit launches the script on the job's instances (``distribution``):

    - ``Distribution.torchrun()``: ``torchrun`` on every instance (PyTorch 1.13.1 and later, GPU or Trainium);
    - ``Distribution.mpi(processes_per_host=8)``: ``mpirun`` (Horovod and other MPI programs);
    - ``Distribution.smdistributed(data_parallel=True)``: SageMaker's data parallelism library (SMDDP), or
      ``smdistributed(model_parallel={"tensor_parallel_degree": 8})``: its model parallelism library v2 (SMP).

    The toolkit is the image's own entrypoint: the job's ``code`` (a single script) is handed to it
    (``sagemaker_program``) rather than run with ``command``, and the script's options go in ``hyperparameters``
    (the toolkit passes each as ``--name value``).
    """

    def __init__(
        self,
        description: str,
        settings: dict[str, Any],
        *,
        torchrun: bool = False,
        smdistributed: bool = False,
        groups: bool = False,
        instance_group: str | None = None,
    ) -> None:
        self.description = description
        self._settings = settings
        self._torchrun = torchrun
        self._smdistributed = smdistributed
        self._groups = groups
        check_type("distribution.instance_group", instance_group, str, "must be the name of an instance group")
        check_model_string("distribution.instance_group", instance_group, "InstanceGroupName")
        if instance_group is not None and not groups:
            raise fail(
                "distribution.instance_group",
                instance_group,
                f"{description} runs on every instance: only Distribution.mpi and smdistributed(data_parallel=True) "
                "train on one instance group (the SageMaker Python SDK's rule)",
            )
        self.instance_group = instance_group

    def __repr__(self) -> str:
        return self.description

    @staticmethod
    def torchrun() -> Distribution:
        """``torchrun`` on every instance of the job (``sagemaker_torch_distributed_enabled``): PyTorch's own
        distributed training (DDP, FSDP), on GPU and Trainium instances."""
        return Distribution("Distribution.torchrun()", {TORCH_DISTRIBUTED: True}, torchrun=True)

    @staticmethod
    def mpi(
        *,
        processes_per_host: int | None = None,
        custom_mpi_options: str | None = None,
        instance_group: str | None = None,
    ) -> Distribution:
        """``mpirun`` across the instances (``sagemaker_mpi_enabled``): Horovod and other MPI programs.

        :param processes_per_host: processes on each instance (usually its GPUs). Default: the toolkit's, one.
        :param custom_mpi_options: more options for ``mpirun``, such as ``"--verbose"``. Default: none.
        :param instance_group: in a job with ``instance_groups``, the group that trains. Default: the job's only
            group (a job with several groups must name one).
        """
        check_integer("distribution.processes_per_host", processes_per_host)
        check_range("distribution.processes_per_host", processes_per_host, 1, 2**31 - 1)
        check_type("distribution.custom_mpi_options", custom_mpi_options, str, "must be mpirun options as a string")
        settings: dict[str, Any] = {MPI: True}
        if processes_per_host:
            settings[MPI_PROCESSES_PER_HOST] = processes_per_host
        settings[MPI_OPTIONS] = custom_mpi_options or ""
        return Distribution("Distribution.mpi()", settings, groups=True, instance_group=instance_group)

    @staticmethod
    def smdistributed(
        *,
        data_parallel: bool = False,
        model_parallel: Mapping[str, Any] | None = None,
        custom_mpi_options: str | None = None,
        torchrun: bool = False,
        instance_group: str | None = None,
    ) -> Distribution:
        """SageMaker's distributed training libraries, one of them:

        - ``data_parallel=True``: SMDDP (``sagemaker_distributed_dataparallel_enabled``), launched with ``mpirun``,
          or with ``torchrun`` given ``torchrun=True`` (as on ml.p5.48xlarge, where the SDK requires it);
        - ``model_parallel={...}``: SMP v2 with these parameters (``mp_parameters``), which ``torchrun`` launches.

        :param data_parallel: use SMDDP. Default: false.
        :param model_parallel: SMP v2's parameters, such as ``{"tensor_parallel_degree": 8, "hybrid_shard_degree":
            1}``. Default: no model parallelism.
        :param custom_mpi_options: with ``data_parallel``: more options for ``mpirun``. Default: none.
        :param torchrun: with ``data_parallel``: launch with ``torchrun``. Default: ``mpirun``.
        :param instance_group: with ``data_parallel``, in a job with ``instance_groups``: the group that trains.
            Default: the job's only group (a job with several groups must name one).
        """
        check_bool("distribution.data_parallel", data_parallel)
        check_bool("distribution.torchrun", torchrun)
        check_type("distribution.custom_mpi_options", custom_mpi_options, str, "must be mpirun options as a string")
        if data_parallel == (model_parallel is not None):
            raise fail(
                "distribution",
                "smdistributed(data_parallel=True, model_parallel=...)" if data_parallel else "smdistributed()",
                "takes one library: data_parallel=True (SMDDP) or model_parallel={...} (SMP v2), as the SageMaker "
                "Python SDK allows one smdistributed strategy",
            )
        if model_parallel is not None:
            return _model_parallel(model_parallel, custom_mpi_options, instance_group)
        settings: dict[str, Any] = {
            DATA_PARALLEL: True,
            INSTANCE_TYPE: None,
            DATA_PARALLEL_OPTIONS: custom_mpi_options or "",
        }
        if torchrun:
            settings[TORCH_DISTRIBUTED] = True
        described = "Distribution.smdistributed(data_parallel=True" + (", torchrun=True)" if torchrun else ")")
        return Distribution(
            described, settings, torchrun=torchrun, smdistributed=True, groups=True, instance_group=instance_group
        )

    def bind(
        self,
        image: ContainerImage,
        cluster: TrainingCluster,
        code: Code | None,
        command: list[str] | None,
        entrypoint: list[str] | None,
        arguments: list[str] | None,
        code_channel: str,
        add_code: Callable[[Code], str],
    ) -> dict[str, str]:
        """The hyperparameters that launch the job's training as this distribution says, checked against the job's
        instances and image; the job's ``code`` becomes the channel the toolkit runs its script from."""
        for prop, value, why in (
            ("entrypoint", entrypoint, "replaces the framework image's training toolkit, which launches"),
            ("arguments", arguments, "replace the toolkit's 'train' command, which launches"),
            ("command", command, "runs code without the framework image's training toolkit, which launches"),
        ):
            if value is not None:
                raise fail(
                    prop,
                    value,
                    f"{why} the distribution ({self.description}): drop it; the script's options go in hyperparameters "
                    "(the toolkit passes each to the script as --name value)",
                )
        types = self._instance_types(cluster)
        for instance_type in types:
            self._check_type(instance_type, framework_of(image))
        settings = dict(self._settings)
        if INSTANCE_TYPE in settings or self._torchrun:
            if cluster.groups:  # the toolkit reads each instance's own type (current_instance_type)
                settings.pop(INSTANCE_TYPE, None)
            else:
                settings[INSTANCE_TYPE] = cluster.instance_type.name
        if self._groups and (cluster.groups or self.instance_group is not None):
            settings = {INSTANCE_GROUPS: [self._group(cluster)], **settings}
        if code is not None:
            if code.entry_point is not None:
                raise fail(
                    "code",
                    code.path,
                    f"is a folder, which reaches the container as a zip that the training toolkit launching the "
                    f"distribution ({self.description}) does not unpack: give a single script, or bake the folder "
                    "into the image",
                )
            if self._torchrun and not is_unresolved(code.path) and not code.path.endswith(".py"):
                raise fail("code", code.path, "must be a Python script (*.py) for torchrun (the SageMaker Python SDK)")
            settings[PROGRAM] = add_code(code)
            settings[SUBMIT_DIRECTORY] = code_channel
        rendered = {key: json.dumps(value) for key, value in settings.items()}
        for key, text in rendered.items():
            check_model_string(f"distribution {key}", text, "HyperParameterValue")
        return rendered

    def _group(self, cluster: TrainingCluster) -> str:
        if self.instance_group is None:
            if len(cluster.groups) > 1:
                raise fail(
                    "distribution.instance_group",
                    None,
                    f"{self.description} trains on one of the job's {len(cluster.groups)} instance groups: name it, "
                    f"one of {[g.name for g in cluster.groups]}",
                )
            return cluster.groups[0].name
        if cluster.group(self.instance_group) is None:
            raise fail(
                "distribution.instance_group",
                self.instance_group,
                f"is not an instance group of the job: one of {[g.name for g in cluster.groups]}"
                if cluster.groups
                else "names an instance group, but the job has no instance_groups",
            )
        return self.instance_group

    def _instance_types(self, cluster: TrainingCluster) -> list[InstanceType]:
        """The instance types the launcher runs on: the training group's, or every instance's."""
        if not cluster.groups:
            return [cluster.instance_type]
        if self._groups:
            group = cluster.group(self._group(cluster))
            assert group is not None
            return [group.instance_type]
        if not self._torchrun or self._smdistributed:
            raise fail(
                "distribution",
                self,
                "cannot train on instance_groups (the SageMaker Python SDK allows a heterogeneous cluster with "
                "Distribution.mpi, smdistributed(data_parallel=True) and torchrun)",
            )
        return cluster.instance_types

    def _check_type(self, instance_type: InstanceType, framework: Framework | None) -> None:
        name = instance_type.name
        if is_unresolved(name):
            return
        family = name.split(".")[1]
        if family.startswith("trn") and (not self._torchrun or self._smdistributed):
            raise fail(
                "distribution",
                self,
                f"is not supported on Trainium ({name}): Distribution.torchrun() is (the SageMaker Python SDK)",
            )
        if name == _TORCHRUN_ONLY_SMDISTRIBUTED and self._smdistributed and not self._torchrun:
            raise fail(
                "distribution",
                self,
                f"is launched with mpirun, which SMDDP and SMP do not support on {name}: give torchrun=True "
                "(the SageMaker Python SDK)",
            )
        if (
            self._torchrun
            and framework is Framework.PYTORCH
            and not (instance_type.has_gpu or family.startswith("trn"))
        ):
            raise fail(
                "distribution",
                self,
                f"runs the framework image's torchrun on GPU (ml.p*, ml.g*) or Trainium (ml.trn*) instances only, not "
                f"{name} (the SageMaker Python SDK)",
            )


def _model_parallel(
    parameters: Mapping[str, Any], custom_mpi_options: str | None, instance_group: str | None
) -> Distribution:
    if not isinstance(parameters, Mapping) or not parameters:
        raise fail(
            "distribution.model_parallel",
            parameters,
            "must be SMP v2's parameters, such as {'tensor_parallel_degree': 8, 'hybrid_shard_degree': 1} (the "
            "toolkit enables SMP only with parameters)",
        )
    try:
        json.dumps(dict(parameters))
    except (TypeError, ValueError) as error:
        raise fail("distribution.model_parallel", parameters, f"must be JSON values only ({error})") from None
    if custom_mpi_options is not None:
        raise fail("distribution.custom_mpi_options", custom_mpi_options, "go with data_parallel (mpirun) only")
    settings = {
        MODEL_PARALLEL: dict(parameters),
        DATA_PARALLEL: False,
        INSTANCE_TYPE: None,
        TORCH_DISTRIBUTED: True,
    }
    return Distribution(
        "Distribution.smdistributed(model_parallel=...)",
        settings,
        torchrun=True,
        smdistributed=True,
        instance_group=instance_group,
    )


def with_distribution(user: dict[str, str] | None, launch: dict[str, str] | None, description: str) -> Any:
    """The request's ``HyperParameters``: the user's and the distribution's, which no user hyperparameter may set."""
    if not launch:
        return user
    if user is not None and not isinstance(user, Mapping):
        raise fail(
            "hyperparameters",
            "a token",
            f"cannot be merged with the hyperparameters of the distribution ({description}): give a dict",
        )
    for key, value in (user or {}).items():
        if key in launch:
            raise fail(
                f"hyperparameters[{key}]",
                value,
                f"is set by the distribution ({description}) to {launch[key]}: drop it from hyperparameters",
            )
    merged = {**(user or {}), **launch}
    high = _model.bounds("HyperParameters")[1]
    if len(merged) > high:
        raise fail(
            "hyperparameters",
            f"{len(user or {})} entries",
            f"with the distribution's {len(launch)}, SageMaker takes at most {high}",
        )
    return merged


def job_launch(
    distribution: Distribution | None,
    image: ContainerImage,
    cluster: TrainingCluster,
    code: Code | None,
    command: list[str] | None,
    entrypoint: list[str] | None,
    arguments: list[str] | None,
    network_isolation: bool,
    add_code: Callable[[Code], str],
) -> tuple[Launch | None, dict[str, str] | None]:
    """The container's entrypoint and the hyperparameters that launch the training: without a distribution, the
    library's entrypoint for ``code`` or ``entrypoint`` (``job_entrypoint``); with one, the image's own (None: the
    library does not wrap it, and local data folders are copied as for any image's own entrypoint) and the
    distribution's hyperparameters."""
    code_channel = CHANNEL_ROOT + "code"
    if distribution is None:
        launch = job_entrypoint(
            code, command, entrypoint, network_isolation, code_channel, add_code, "TrainingContainerEntrypoint"
        )
        return launch, None
    check_type(
        "distribution",
        distribution,
        Distribution,
        "must be Distribution.torchrun(), Distribution.mpi(...) or Distribution.smdistributed(...)",
    )
    return None, distribution.bind(image, cluster, code, command, entrypoint, arguments, code_channel, add_code)
