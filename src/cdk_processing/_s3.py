"""S3 locations of inputs and outputs: a bucket and key prefix, or an ``s3://`` URI, and their grants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Fn
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from . import _model
from ._memo import once
from ._policy import KMS_READ, KMS_WRITE, allow, allow_key
from ._validation import check_interface, check_length, check_type, fail, is_unresolved

OBJECTS_REASON = (
    "S3 authorizes object actions on object ARNs, and IAM can name the objects under a key prefix only as "
    "'<prefix>*' (S3 user guide, Policy resources for Amazon S3): the statement reaches that prefix and nothing else"
)

_BUCKET = r"(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])"
_S3_URI = re.compile(rf"s3://{_BUCKET}(/(?P<key>.*))?")
# SageMaker's S3Uri pattern, (https|s3)://([^/]+)/?(.*), takes S3's HTTPS URLs too: virtual-hosted
# (https://<bucket>.s3[.-]<region>.amazonaws.com/<key>) and path-style (https://s3[.-]<region>.amazonaws.com/<bucket>/
# <key>), with or without a region, in the .amazonaws.com.cn partition too (S3 user guide, "Virtual hosting of
# buckets" and "Methods for accessing a bucket"). The bucket is read from them for the grants.
_S3_HOST = r"s3(?:[.-](?:dualstack\.)?[a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?"
_HTTPS_URIS = (
    re.compile(rf"https://{_BUCKET}\.{_S3_HOST}(/(?P<key>.*))?"),
    re.compile(rf"https://{_S3_HOST}/{_BUCKET}(/(?P<key>.*))?"),
)


def _parse(uri: str) -> re.Match[str] | None:
    for regex in (_S3_URI, *_HTTPS_URIS):
        match = regex.fullmatch(uri)
        if match is not None:
            return match
    return None


@dataclass(frozen=True)
class S3Location:
    """A bucket and a key prefix (``""`` for the whole bucket), or an ``s3://`` URI given as a string.

    A URI is validated when it is given and turned into a bucket reference when it is bound to a scope; an
    unresolved URI token is passed through and granted on the bucket it names at deploy time.
    """

    bucket: s3.IBucket | None
    key_prefix: str
    uri_string: str | None = None
    # The key names one object (a file asset), granted as exactly that object.
    single_object: bool = False
    # Content-addressed (an asset): the same for every job that reads it, its reads ``allow(common=True)``.
    common: bool = False

    @staticmethod
    def from_bucket(prop: str, bucket: s3.IBucket, key_prefix: str | None) -> S3Location:
        check_interface(
            prop + ".bucket",
            bucket,
            ("bucket_name", "bucket_arn", "arn_for_objects"),
            "must be an s3.IBucket, such as s3.Bucket.from_bucket_name(scope, id, 'my-bucket'); for a URI use "
            "from_s3_uri / to_s3_uri",
        )
        check_type(
            prop + ".key_prefix", key_prefix, str, "must be a key prefix in the bucket, as a string, such as 'raw/'"
        )
        prefix = key_prefix or ""
        if not is_unresolved(prefix):
            check_length(prop + ".key_prefix", prefix, 0, _model.bounds("S3Uri")[1] - 10)
            if prefix.startswith("/"):
                raise fail(prop + ".key_prefix", prefix, "must not start with '/' (give the key as it is in S3)")
            if re.match(r"(s3|https?)://", prefix):
                raise fail(
                    prop + ".key_prefix",
                    prefix,
                    "is a URI, not a key prefix: give the key inside the bucket, such as 'raw/', or the whole URI to "
                    "from_s3_uri / to_s3_uri",
                )
        return S3Location(bucket=bucket, key_prefix=prefix)

    @staticmethod
    def from_uri(prop: str, uri: str) -> S3Location:
        check_type(prop, uri, str, "must be an S3 URI as a string, such as 's3://my-bucket/raw/'")
        if not is_unresolved(uri):
            check_length(prop, uri, 6, _model.bounds("S3Uri")[1])
            if not _model.matches("S3Uri", uri) or _parse(uri) is None:
                raise fail(
                    prop,
                    uri,
                    "must be an S3 URI s3://<bucket>/<key prefix> or an S3 URL "
                    "https://<bucket>.s3.<region>.amazonaws.com/<key prefix>, with a valid bucket name",
                )
        return S3Location(bucket=None, key_prefix="", uri_string=uri)

    def bind(self, scope: Construct, bucket_id: str) -> S3Location:
        """Turn a literal URI into a bucket reference under ``scope`` so that it can be granted."""
        if self.bucket is not None or self.uri_string is None or is_unresolved(self.uri_string):
            return self
        match = _parse(self.uri_string)
        assert match is not None
        bucket = s3.Bucket.from_bucket_name(scope, bucket_id, match["bucket"])
        # The request keeps the URI as it was written (an https URL stays one); the grants use bucket and key.
        return S3Location(bucket=bucket, key_prefix=match["key"] or "", uri_string=self.uri_string)

    @property
    def uri(self) -> str:
        if self.uri_string is not None:
            return self.uri_string
        assert self.bucket is not None
        return _url_for_object(self.bucket, self.key_prefix) if self.key_prefix else f"s3://{_name(self.bucket)}"

    @property
    def _objects_pattern(self) -> str:
        if self.single_object:
            return self.key_prefix
        if not self.key_prefix:
            return "*"
        return self.key_prefix + ("*" if self.key_prefix.endswith(("/", "*")) else "*")

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """GetObject on the prefix, ListBucket limited to the prefix, and decrypt with the bucket's key, if any."""
        if self.bucket is None:
            self._grant_token(grantee, ["s3:GetObject", "s3:GetBucketLocation", "s3:ListBucket"])
            return
        pattern = self._objects_pattern
        self._add(grantee, ["s3:GetObject"], [_arn_for_objects(self.bucket, pattern)], common="*" not in pattern)
        self._grant_bucket(grantee)
        key = _encryption_key(self.bucket)
        if key is not None:
            allow_key(grantee, key, KMS_READ)

    def grant_write(self, grantee: iam.IGrantable) -> None:
        """PutObject and multipart uploads on the prefix, and the bucket key's encrypt, if any; never a delete."""
        if self.bucket is None:
            self._grant_token(
                grantee,
                ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:GetBucketLocation"],
            )
            return
        self._add(
            grantee,
            ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            [_arn_for_objects(self.bucket, self._objects_pattern)],
            common=False,
        )
        self._grant_bucket(grantee)
        key = _encryption_key(self.bucket)
        if key is not None:
            allow_key(grantee, key, KMS_WRITE)

    def _grant_bucket(self, grantee: iam.IGrantable) -> None:
        assert self.bucket is not None
        allow(grantee, ["s3:GetBucketLocation"], [_arn(self.bucket)], common=True)
        condition = None
        if self.key_prefix and not is_unresolved(self.key_prefix):
            condition = {"StringLike": {"s3:prefix": [self.key_prefix, self._objects_pattern]}}
        allow(grantee, ["s3:ListBucket"], [_arn(self.bucket)], condition, common=condition is None or self.common)

    def _add(self, grantee: iam.IGrantable, actions: list[str], resources: list[str], *, common: bool) -> None:
        allow(grantee, actions, resources, why=OBJECTS_REASON, common=self.common and common)

    def _grant_token(self, grantee: iam.IGrantable, actions: list[str]) -> None:
        # The bucket of a URI known only at deploy time is s3://<bucket>/...: the third '/'-separated part.
        assert self.uri_string is not None
        bucket_name = Fn.select(2, Fn.split("/", self.uri_string))
        bucket_arn = f"arn:{Aws.PARTITION}:s3:::{bucket_name}"
        allow(grantee, actions, [bucket_arn, bucket_arn + "/*"], why=OBJECTS_REASON)


# A bucket's ARN, name and key never change: asked once per bucket. For aws-cdk-lib's buckets (``BucketBase``), object
# ARNs and URLs are made as it makes them (``arnForObjects``, ``s3UrlForObject``), from the bucket's ARN and name.


def _arn(bucket: s3.IBucket) -> str:
    return once(bucket, "bucket arn", lambda: bucket.bucket_arn)


def _name(bucket: s3.IBucket) -> str:
    return once(bucket, "bucket name", lambda: bucket.bucket_name)


def _encryption_key(bucket: s3.IBucket) -> Any:
    return once(bucket, "bucket key", lambda: bucket.encryption_key)


def _arn_for_objects(bucket: s3.IBucket, pattern: str) -> str:
    if isinstance(bucket, s3.BucketBase):
        return f"{_arn(bucket)}/{pattern}"
    return bucket.arn_for_objects(pattern)


def _url_for_object(bucket: s3.IBucket, key: str) -> str:
    if not isinstance(bucket, s3.BucketBase):
        return bucket.s3_url_for_object(key)
    url = "s3://"
    for part in (_name(bucket), key):  # BucketBase.urlJoin: one "/" between the parts
        url = f"{url.removesuffix('/')}/{part.removeprefix('/')}"
    return url
