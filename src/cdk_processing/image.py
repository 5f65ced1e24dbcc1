"""The container image a processing job runs."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Arn, ArnComponents, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from constructs import Construct

from ._validation import check_length, fail, is_unresolved

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]
_ECR_URI = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr(-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>[a-z0-9._/-]+?)(:[\w.-]+|@sha256:[a-f0-9]{64})?"
)


@dataclass(frozen=True)
class ContainerImageConfig:
    """What a bound image contributes to the request."""

    image_uri: str
    """The ``AppSpecification.ImageUri``."""


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
        directory: str,
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

    @abstractmethod
    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ContainerImageConfig:
        """Grant ``grantee`` what it needs to pull the image and return the image URI."""


class _RegistryImage(ContainerImage):
    def __init__(self, image_uri: str) -> None:
        check_length("image", image_uri, 1, 255)
        if not is_unresolved(image_uri) and any(c.isspace() for c in image_uri):
            raise fail("image", image_uri, "must be an image URI without spaces, such as registry/repository:tag")
        self._uri = image_uri

    def bind(self, scope: Construct, grantee: iam.IGrantable) -> ContainerImageConfig:
        match = None if is_unresolved(self._uri) else _ECR_URI.fullmatch(self._uri)
        if match is not None:
            stack = Stack.of(scope)
            repository_arn = Arn.format(
                ArnComponents(
                    service="ecr",
                    resource="repository",
                    resource_name=match["repository"],
                    account=match["account"],
                    region=match["region"],
                ),
                stack,
            )
            repository = ecr.Repository.from_repository_attributes(
                scope, "ImageRepository", repository_arn=repository_arn, repository_name=match["repository"]
            )
            repository.grant_pull(grantee)
        return ContainerImageConfig(image_uri=self._uri)


class _EcrRepositoryImage(ContainerImage):
    def __init__(self, repository: ecr.IRepository, tag_or_digest: str) -> None:
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
        self._repository.grant_pull(grantee)
        return ContainerImageConfig(image_uri=self._repository.repository_uri_for_tag_or_digest(self._tag_or_digest))


class _AssetImage(ContainerImage):
    def __init__(
        self,
        directory: str,
        file: str | None,
        build_args: Mapping[str, str] | None,
        platform: ecr_assets.Platform | None,
    ) -> None:
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
        asset.repository.grant_pull(grantee)
        return ContainerImageConfig(image_uri=asset.image_uri)
