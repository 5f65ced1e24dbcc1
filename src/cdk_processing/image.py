"""The container image a processing job runs."""

from __future__ import annotations

import enum
import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Arn, ArnComponents, Aws, CfnMapping, Stack, Token
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from constructs import Construct

from . import _model
from ._memo import once, stack_of
from ._policy import allow
from ._validation import check_bool, check_interface, check_length, check_type, fail, is_unresolved
from .instance_type import InstanceType

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]
_ECR_URI = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr(-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>[a-z0-9._/-]+?)(:[\w.-]+|@sha256:[a-f0-9]{64})?"
)
_ECR_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):ecr:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):repository/(?P<repository>.+)"
)
# The image reference grammar of distribution/reference (reference.go), which Docker and ECR parse by:
#   reference := name [":" tag] ["@" digest];  name := [domain "/"] path-component ["/" path-component]*
#   domain-component := [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9], ["." domain-component]*, [":" port]
#   path-component := [a-z0-9]+ (separator [a-z0-9]+)*;  separator := [_.] | "__" | "-"+
#   tag := [\w][\w.-]{0,127};  digest := algorithm ":" [0-9a-fA-F]{32,}
# The first component is a domain when it has a "." or a ":" or is "localhost" (Docker's normalisation).
_DOMAIN_COMPONENT = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = re.compile(rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?")
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")


def check_image_reference(prop: str, uri: str) -> None:
    """``uri`` is an image reference Docker and SageMaker can pull: an ECR ARN or a name with capitals is not."""
    arn = _ECR_ARN.fullmatch(uri)
    if arn is not None:
        suffix = ".cn" if arn["partition"] == "aws-cn" else ""
        uri_form = f"{arn['account']}.dkr.ecr.{arn['region']}.amazonaws.com{suffix}/{arn['repository']}:<tag>"
        raise fail(
            prop,
            uri,
            f"is an ECR repository ARN, not an image URI: give {uri_form}, or "
            "ContainerImage.from_ecr_repository(ecr.Repository.from_repository_arn(scope, id, arn), tag)",
        )
    rest, _, digest = uri.partition("@")
    if digest and _DIGEST.fullmatch(digest) is None:
        raise fail(prop, uri, "has a digest that is not <algorithm>:<hex>, such as @sha256:<64 hex digits>")
    name, tag = rest, ""
    if ":" in rest.rsplit("/", 1)[-1]:
        name, tag = rest.rsplit(":", 1)
        if _TAG.fullmatch(tag) is None:
            raise fail(prop, uri, f"has the tag {tag!r}: a tag is up to 128 letters, digits, '_', '.' or '-'")
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        if _DOMAIN.fullmatch(parts[0]) is None:
            raise fail(prop, uri, f"has the registry {parts[0]!r}, which is not a host name")
        parts = parts[1:]
    for part in parts:
        if _PATH_COMPONENT.fullmatch(part) is None:
            lower = "/".join(parts).lower()
            hint = f" (did you mean {lower!r}?)" if _PATH_COMPONENT.fullmatch(part.lower()) else ""
            raise fail(
                prop,
                uri,
                f"has the repository {'/'.join(parts)!r}{hint}: repository names are lowercase letters and digits "
                "with '.', '_', '__' or '-' between them (Docker image reference grammar)",
            )


@dataclass(frozen=True)
class ContainerImageConfig:
    """What a bound image contributes to the request."""

    image_uri: str
    """The ``AppSpecification.ImageUri``."""


class Framework(enum.Enum):
    """The SageMaker framework images ``ContainerImage.from_framework`` knows."""

    SKLEARN = "sklearn"
    XGBOOST = "xgboost"
    PYTORCH = "pytorch"
    SPARK = "spark"


_FRAMEWORK_DATA = Path(__file__).parent / "data" / "framework_images.json"


def framework_images() -> dict[str, Any]:
    """The framework image facts, as the SDK release in ``source`` has them."""
    return dict(json.loads(_FRAMEWORK_DATA.read_text()))


class ContainerImage(ABC):
    """The Docker image a processing job runs.

    ``ContainerImage.from_registry(uri)`` takes any registry URI; an Amazon ECR URI also grants the job's role pull
    access to that repository. ``ContainerImage.from_ecr_repository(repo, tag_or_digest)`` takes a CDK repository.
    """

    @staticmethod
    def from_registry(image_uri: str) -> ContainerImage:
        """An image by URI, for example ``123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1.0``.

        When the URI names an Amazon ECR repository, the job's role is granted pull on exactly that repository.
        """
        return _RegistryImage(image_uri)

    @staticmethod
    def from_ecr_repository(repository: ecr.IRepository, tag_or_digest: str = "latest") -> ContainerImage:
        """An image in an ECR repository of this CDK app; the job's role is granted pull on the repository.

        :param tag_or_digest: an image tag, or a digest ``sha256:...``. Default: ``latest``.
        """
        return _EcrRepositoryImage(repository, tag_or_digest)

    @staticmethod
    def from_asset(
        directory: str | os.PathLike[str],
        *,
        file: str | None = None,
        build_args: Mapping[str, str] | None = None,
        platform: ecr_assets.Platform | None = None,
    ) -> ContainerImage:
        """An image built from a local Dockerfile by the CDK toolchain during ``cdk deploy`` and pushed to the CDK
        assets repository; synth needs no Docker. The job's role is granted pull on that repository.

        :param file: the Dockerfile's path in ``directory``. Default: ``Dockerfile``.
        :param platform: Default: linux/amd64, what SageMaker processing instances run.
        """
        return _AssetImage(directory, file, build_args, platform)

    @staticmethod
    def from_framework(
        framework: Framework,
        version: str,
        *,
        py_version: str | None = None,
        gpu: bool | None = None,
    ) -> ContainerImage:
        """A SageMaker framework image (scikit-learn, XGBoost, PyTorch, Spark processing) in the stack's region.

        The account that hosts the image in each region comes from the SageMaker Python SDK's image URI config
        (``data/framework_images.json`` names the SDK release). For a stack with a region, the URI is resolved at
        synth and an unknown region fails there; for an environment-agnostic stack it is a CloudFormation mapping
        over the known regions. An unknown version fails at synth with the known ones listed.

        :param version: e.g. ``"1.2-1"`` for scikit-learn, ``"1.7-1"`` for XGBoost, ``"2.6.0"`` for PyTorch, ``"3.5"``
            for Spark.
        :param py_version: PyTorch and Spark only. Default: PyTorch's newest for that version; Spark's default tag.
        :param gpu: PyTorch only: the GPU build. Default: a processing job runs the CPU build; a training job the
            build of its instance type (GPU on the ml.p and ml.g families).
        """
        return _FrameworkImage(framework, version, py_version, gpu)

    @abstractmethod
    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ContainerImageConfig:
        """Grant ``grantee`` what it needs to pull the image and return the image URI."""


class _RegistryImage(ContainerImage):
    def __init__(self, image_uri: str) -> None:
        check_type("image", image_uri, str, "must be an image URI, as a string, such as registry/repository:tag")
        if image_uri is None:
            raise fail("image", image_uri, "must be an image URI, such as registry/repository:tag")
        check_length("image", image_uri, 1, _model.bounds("ImageUri")[1])
        if not is_unresolved(image_uri) and any(c.isspace() for c in image_uri):
            raise fail("image", image_uri, "must be an image URI without spaces, such as registry/repository:tag")
        if not is_unresolved(image_uri):
            check_image_reference("image", image_uri)
        self._uri = image_uri

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ContainerImageConfig:
        match = None if is_unresolved(self._uri) else _ECR_URI.fullmatch(self._uri)
        if match is not None:
            _grant_pull(scope, grantee, match["account"], match["region"], match["repository"])
        return ContainerImageConfig(image_uri=self._uri)


def _grant_pull(scope: Construct, grantee: iam.IGrantable, account: str, region: str, repository: str) -> None:
    """Pull on exactly one ECR repository, named by account, region and name (any of them may be a token)."""
    stack = stack_of(scope)
    repository_arn = once(
        stack,
        f"ecr repository {account} {region} {repository}",
        lambda: Arn.format(
            ArnComponents(
                service="ecr", resource="repository", resource_name=repository, account=account, region=region
            ),
            stack,
        ),
    )
    grant_pull(grantee, repository_arn)


def grant_pull(grantee: iam.IGrantable, repository_arn: str) -> None:
    """Pull from one ECR repository: what ``IRepository.grant_pull`` grants, its wildcard explained."""
    allow(
        grantee,
        ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
        [repository_arn],
        common=True,
    )
    allow(
        grantee,
        ["ecr:GetAuthorizationToken"],
        ["*"],
        why="GetAuthorizationToken supports no resource-level permissions (Service Authorization Reference, "
        "Actions defined by Amazon ECR): the token alone reads nothing, pulls need the repository statement",
        shared="EcrLogin",
    )


class _EcrRepositoryImage(ContainerImage):
    def __init__(self, repository: ecr.IRepository, tag_or_digest: str) -> None:
        check_interface(
            "repository",
            repository,
            ("repository_arn", "repository_uri_for_tag_or_digest"),
            "must be an ecr.IRepository, such as ecr.Repository.from_repository_name(scope, id, 'prep'); for an "
            "image URI use ContainerImage.from_registry",
        )
        check_type("tag_or_digest", tag_or_digest, str, "must be an image tag or a digest, as a string")
        if not is_unresolved(tag_or_digest) and not re.fullmatch(
            r"[\w][\w.-]{0,127}|sha256:[a-f0-9]{64}", tag_or_digest
        ):
            raise fail(
                "tag_or_digest",
                tag_or_digest,
                "must be an image tag (letters, digits, '_', '.', '-', at most 128) or a digest sha256:<64 hex>",
            )
        self._repository = repository
        self._tag_or_digest = tag_or_digest

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ContainerImageConfig:
        grant_pull(grantee, self._repository.repository_arn)
        return ContainerImageConfig(image_uri=self._repository.repository_uri_for_tag_or_digest(self._tag_or_digest))


class _AssetImage(ContainerImage):
    def __init__(
        self,
        directory: str | os.PathLike[str],
        file: str | None,
        build_args: Mapping[str, str] | None,
        platform: ecr_assets.Platform | None,
    ) -> None:
        check_type(
            "image",
            directory,
            (str, os.PathLike),
            "must be the path of a folder with a Dockerfile (a str or a pathlib.Path)",
        )
        directory = os.fspath(directory)
        check_type("image.file", file, str, "must be the Dockerfile's path in the folder, as a string")
        if build_args is not None and (
            not isinstance(build_args, Mapping) or not all(isinstance(v, str) for v in build_args.values())
        ):
            raise fail("image.build_args", build_args, "must be a dict of strings, such as {'VERSION': '1.2'}")
        dockerfile = Path(directory) / (file or "Dockerfile")
        if not dockerfile.is_file():
            raise fail("image", str(dockerfile), "must be a Dockerfile in the asset's directory")
        self._directory = directory
        self._file = file
        self._build_args = dict(build_args or {})
        self._platform = platform or ecr_assets.Platform.LINUX_AMD64

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ContainerImageConfig:
        asset = ecr_assets.DockerImageAsset(
            scope,
            "ImageAsset",
            directory=self._directory,
            file=self._file,
            build_args=self._build_args or None,
            platform=self._platform,
        )
        grant_pull(grantee, asset.repository.repository_arn)
        return ContainerImageConfig(image_uri=asset.image_uri)


def framework_of(image: ContainerImage) -> Framework | None:
    """The framework of a ``ContainerImage.from_framework`` image; ``None`` for any other image."""
    return image._framework if isinstance(image, _FrameworkImage) else None


def for_training(image: ContainerImage, instance_type: InstanceType) -> ContainerImage:
    """``image`` as a training job on ``instance_type`` runs it: a framework image in its training build (not Spark,
    which has processing images only), CPU or GPU as the instance type has, unless ``gpu`` was given."""
    if not isinstance(image, _FrameworkImage):
        return image
    if image._framework is Framework.SPARK:
        raise fail(
            "image",
            f"Framework.SPARK {image._version}",
            "has SageMaker processing images only: a training job takes Framework.PYTORCH, SKLEARN or XGBOOST, or an "
            "image of yours",
        )
    if image._gpu is not None or image._framework is not Framework.PYTORCH:
        return image
    return _FrameworkImage(image._framework, image._version, image._py_version, instance_type.has_gpu)


class _FrameworkImage(ContainerImage):
    def __init__(self, framework: Framework, version: str, py_version: str | None, gpu: bool | None) -> None:
        if not isinstance(framework, Framework):
            choices = ", ".join(f"Framework.{f.name}" for f in Framework)
            raise fail("framework", framework, f"must be one of {choices}")
        check_type(f"{framework.value} version", version, str, "must be a version string, such as '1.2-1'")
        check_type(f"{framework.value} py_version", py_version, str, "must be a string, such as 'py3'")
        check_bool("gpu", gpu)
        config = framework_images()["frameworks"][framework.value]
        versions = config["versions"]
        if version not in versions:
            raise fail(f"{framework.value} version", version, f"must be one of {sorted(versions)}")
        self._framework = framework
        self._version = version
        self._config = versions[version]
        known_py = self._config["py_versions"]
        if py_version is not None and framework in (Framework.PYTORCH, Framework.SPARK) and py_version not in known_py:
            raise fail(f"{framework.value} {version} py_version", py_version, f"must be one of {known_py}")
        if py_version is not None and framework not in (Framework.PYTORCH, Framework.SPARK):
            raise fail("py_version", py_version, "is chosen by the image for scikit-learn and XGBoost: leave it out")
        if gpu and framework is not Framework.PYTORCH:
            raise fail("gpu", gpu, f"only PyTorch has GPU processing images, not {framework.value}")
        self._py_version = py_version
        self._gpu = gpu

    @property
    def tag(self) -> str:
        """The image tag, as the SDK's processors build it."""
        version = self._version
        if self._framework is Framework.SKLEARN:
            return f"{version}-cpu-py3"
        if self._framework is Framework.XGBOOST:
            return version
        if self._framework is Framework.PYTORCH:
            py_version = self._py_version or self._config["py_versions"][-1]
            return f"{version}-{'gpu' if self._gpu else 'cpu'}-{py_version}"
        # Spark: "<version>-cpu" by default, "<version>-cpu-<py>-v1" with a Python version (the SDK's
        # SparkProcessor passes container version "v1" with it).
        return f"{version}-cpu-{self._py_version}-v1" if self._py_version else f"{version}-cpu"

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ContainerImageConfig:
        stack = Stack.of(scope)
        registries: dict[str, str] = self._config["registries"]
        repository = self._config["repository"]
        if not Token.is_unresolved(stack.region):
            if stack.region not in registries:
                raise fail(
                    "image",
                    f"{self._framework.value} {self._version} in {stack.region}",
                    f"has no image in that region; known regions: {sorted(registries)}",
                )
            account: str = registries[stack.region]
        else:
            version_id = re.sub(r"[^0-9]", "", self._version)
            mapping_id = f"CdkProcessing{self._framework.value.capitalize()}Images{version_id}"
            mapping = stack.node.try_find_child(mapping_id)
            if not isinstance(mapping, CfnMapping):
                mapping = CfnMapping(stack, mapping_id, mapping={r: {"account": a} for r, a in registries.items()})
            account = mapping.find_in_map(Aws.REGION, "account")
        _grant_pull(scope, grantee, account, stack.region, repository)
        uri = f"{account}.dkr.ecr.{stack.region}.{Aws.URL_SUFFIX}/{repository}:{self.tag}"
        return ContainerImageConfig(image_uri=uri)
