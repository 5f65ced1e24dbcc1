"""Athena and Redshift dataset definitions: a query whose results SageMaker unloads to S3 before a processing job
starts, with the grants that takes (``ProcessingInput.from_athena`` / ``from_redshift``)."""

from __future__ import annotations

import enum
import re
from abc import ABC, abstractmethod
from typing import Any

from aws_cdk import Arn, ArnComponents, ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ._policy import KMS_WRITE, allow, allow_key
from ._s3 import S3Location
from ._validation import check_interface, check_model_string, fail, is_unresolved
from .s3_data import check_enum


class AthenaOutputFormat(enum.Enum):
    PARQUET = "PARQUET"
    ORC = "ORC"
    AVRO = "AVRO"
    JSON = "JSON"
    TEXTFILE = "TEXTFILE"


class AthenaOutputCompression(enum.Enum):
    GZIP = "GZIP"
    SNAPPY = "SNAPPY"
    ZLIB = "ZLIB"


class RedshiftOutputFormat(enum.Enum):
    PARQUET = "PARQUET"
    CSV = "CSV"


class RedshiftOutputCompression(enum.Enum):
    NONE = "None"
    GZIP = "GZIP"
    BZIP2 = "BZIP2"
    ZSTD = "ZSTD"
    SNAPPY = "SNAPPY"


# The output compressions each format takes, as Athena writes them (Athena user guide, "Use Hive table compression",
# Athena engine version 3: AVRO with SNAPPY; ORC with SNAPPY or ZLIB; PARQUET and text files, JSON included, with
# GZIP or SNAPPY). Of the compressions SageMaker's AthenaResultCompressionType offers (GZIP, SNAPPY, ZLIB).
_ATHENA_COMPRESSIONS = {
    "AVRO": {"SNAPPY"},
    "ORC": {"SNAPPY", "ZLIB"},
    "PARQUET": {"GZIP", "SNAPPY"},
    "JSON": {"GZIP", "SNAPPY"},
    "TEXTFILE": {"GZIP", "SNAPPY"},
}
# Redshift's UNLOAD (Redshift database developer guide, UNLOAD): PARQUET is compressed with SNAPPY and cannot be used
# with GZIP, BZIP2 or ZSTD; delimited text (CSV) takes BZIP2, GZIP or ZSTD, and has no SNAPPY.
_REDSHIFT_COMPRESSIONS = {"PARQUET": {"None", "SNAPPY"}, "CSV": {"None", "GZIP", "BZIP2", "ZSTD"}}


def _check_combination(
    prop: str, format: enum.Enum, compression: enum.Enum | None, allowed: dict[str, set[str]]
) -> None:
    if compression is None or compression.value in allowed[format.value]:
        return
    choices = sorted(allowed[format.value] - {"None"})
    raise fail(
        prop,
        compression,
        f"{type(format).__name__}.{format.name} output takes {' or '.join(choices)} compression, or none",
    )


class DatasetDefinition(ABC):
    @abstractmethod
    def bind(self, scope: Construct, name: str, grantee: iam.IGrantable) -> dict[str, Any]: ...


def _check_cluster_role(role: iam.IRole) -> None:
    from ._model import matches, pattern

    check_interface(
        "redshift.cluster_role",
        role,
        ("role_arn", "grant_principal"),
        "must be an iam.IRole the cluster unloads as, such as iam.Role.from_role_arn(scope, id, arn)",
    )
    if not is_unresolved(role.role_arn) and not matches("RoleArn", role.role_arn):
        raise fail(
            "redshift.cluster_role",
            role.role_arn,
            f"must be an IAM role ARN matching {pattern('RoleArn')}, such as arn:aws:iam::123456789012:role/unload",
        )


class AthenaDefinition(DatasetDefinition):
    def __init__(
        self,
        database: str,
        query_string: str,
        output: S3Location,
        output_format: AthenaOutputFormat,
        catalog: str,
        work_group: str | None,
        output_compression: AthenaOutputCompression | None,
        kms_key: kms.IKey | None,
    ) -> None:
        check_model_string("athena.database", database, "AthenaDatabase")
        check_model_string("athena.catalog", catalog, "AthenaCatalog", "printable characters")
        check_model_string("athena.query_string", query_string, "AthenaQueryString")
        check_model_string("athena.work_group", work_group, "AthenaWorkGroup", "letters, digits, '.', '_' or '-'")
        check_enum("athena.output_format", output_format, AthenaOutputFormat)
        check_enum("athena.output_compression", output_compression, AthenaOutputCompression)
        _check_combination("athena.output_compression", output_format, output_compression, _ATHENA_COMPRESSIONS)
        check_interface("athena.kms_key", kms_key, ("key_arn",), "must be a kms.IKey, such as kms.Key(...)")
        self._database = database
        self._query = query_string
        self._output = output
        self._format = output_format
        self._catalog = catalog
        self._work_group = work_group
        self._compression = output_compression
        self._key = kms_key

    def bind(self, scope: Construct, name: str, grantee: iam.IGrantable) -> dict[str, Any]:
        stack = Stack.of(scope)
        output = self._output.bind(scope, f"Input{name}AthenaOutputBucket")
        output.grant_read(grantee)
        output.grant_write(grantee)
        work_group = self._work_group or "primary"
        allow(
            grantee,
            [
                "athena:StartQueryExecution",
                "athena:GetQueryExecution",
                "athena:GetQueryResults",
                "athena:StopQueryExecution",
                "athena:GetWorkGroup",
            ],
            [stack.format_arn(service="athena", resource="workgroup", resource_name=work_group)],
        )
        allow(
            grantee,
            ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"],
            [
                stack.format_arn(service="glue", resource="catalog"),
                stack.format_arn(service="glue", resource="database", resource_name=self._database),
                stack.format_arn(service="glue", resource="table", resource_name=f"{self._database}/*"),
            ],
            why="the query names its tables in its text, which the library does not parse: Glue reads are limited "
            "to the tables of the query's database",
        )
        if self._key is not None:
            allow_key(grantee, self._key, KMS_WRITE)
        definition: dict[str, Any] = {
            "Catalog": self._catalog,
            "Database": self._database,
            "QueryString": self._query,
            "OutputS3Uri": output.uri,
            "OutputFormat": self._format.value,
        }
        if self._work_group is not None:
            definition["WorkGroup"] = self._work_group
        if self._compression is not None:
            definition["OutputCompression"] = self._compression.value
        if self._key is not None:
            definition["KmsKeyId"] = self._key.key_arn
        return {"AthenaDatasetDefinition": definition}


class RedshiftDefinition(DatasetDefinition):
    def __init__(
        self,
        cluster_id: str,
        cluster_role: iam.IRole,
        database: str,
        db_user: str,
        query_string: str,
        output: S3Location,
        output_format: RedshiftOutputFormat,
        output_compression: RedshiftOutputCompression | None,
        kms_key: kms.IKey | None,
    ) -> None:
        check_model_string("redshift.cluster_id", cluster_id, "RedshiftClusterId")
        # Redshift's own rule for cluster identifiers (Redshift management guide, CreateCluster ClusterIdentifier).
        if not is_unresolved(cluster_id) and not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", cluster_id):
            raise fail(
                "redshift.cluster_id",
                cluster_id,
                "must be a Redshift cluster identifier: lowercase letters, digits and single hyphens, starting with "
                "a letter",
            )
        check_model_string("redshift.database", database, "RedshiftDatabase")
        check_model_string("redshift.db_user", db_user, "RedshiftUserName")
        check_model_string("redshift.query_string", query_string, "RedshiftQueryString")
        check_enum("redshift.output_format", output_format, RedshiftOutputFormat)
        check_enum("redshift.output_compression", output_compression, RedshiftOutputCompression)
        _check_combination("redshift.output_compression", output_format, output_compression, _REDSHIFT_COMPRESSIONS)
        check_interface("redshift.kms_key", kms_key, ("key_arn",), "must be a kms.IKey, such as kms.Key(...)")
        _check_cluster_role(cluster_role)
        self._cluster_id = cluster_id
        self._cluster_role = cluster_role
        self._database = database
        self._db_user = db_user
        self._query = query_string
        self._output = output
        self._format = output_format
        self._compression = output_compression
        self._key = kms_key

    def bind(self, scope: Construct, name: str, grantee: iam.IGrantable) -> dict[str, Any]:
        stack = Stack.of(scope)
        output = self._output.bind(scope, f"Input{name}RedshiftOutputBucket")
        output.grant_read(grantee)
        output.grant_write(self._cluster_role)

        def redshift_arn(resource: str, resource_name: str) -> str:
            return Arn.format(
                ArnComponents(
                    service="redshift",
                    resource=resource,
                    resource_name=resource_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                ),
                stack,
            )

        allow(
            grantee,
            ["redshift:GetClusterCredentials"],
            [
                redshift_arn("dbuser", f"{self._cluster_id}/{self._db_user}"),
                redshift_arn("dbname", f"{self._cluster_id}/{self._database}"),
            ],
        )
        allow(grantee, ["redshift-data:ExecuteStatement"], [redshift_arn("cluster", self._cluster_id)])
        allow(
            grantee,
            ["redshift-data:DescribeStatement", "redshift-data:GetStatementResult", "redshift-data:CancelStatement"],
            ["*"],
            why="the Redshift Data API authorizes these by the caller who ran the statement; they support no "
            "resource-level permissions (Service Authorization Reference, Actions defined by Amazon Redshift Data API)",
        )
        if self._key is not None:
            allow_key(grantee, self._key, KMS_WRITE)
            allow_key(self._cluster_role, self._key, ("kms:Encrypt", "kms:GenerateDataKey"))
        definition: dict[str, Any] = {
            "ClusterId": self._cluster_id,
            "Database": self._database,
            "DbUser": self._db_user,
            "QueryString": self._query,
            "ClusterRoleArn": self._cluster_role.role_arn,
            "OutputS3Uri": output.uri,
            "OutputFormat": self._format.value,
        }
        if self._compression is not None:
            definition["OutputCompression"] = self._compression.value
        if self._key is not None:
            definition["KmsKeyId"] = self._key.key_arn
        return {"RedshiftDatasetDefinition": definition}
