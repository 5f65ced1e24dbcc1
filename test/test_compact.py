"""The same CloudFormation in fewer bytes (``_compact``): ``Fn::Join`` as ``Fn::Sub`` resolves to the same string, and
merged statements grant exactly what the statements grant one by one. Pure functions: no synth."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from cdk_processing._compact import as_sub, minimize
from cfn import grants

# What each reference resolves to: a value with "${", "}" and "!" in it, so that a wrong escape shows.
VALUES = {
    "AWS::Partition": "aws",
    "AWS::Region": "eu-west-1",
    "AWS::AccountId": "123456789012",
    "Bucket": "my-bucket",
    "Bucket.Arn": "arn:aws:s3:::my-bucket",
    "Db.Endpoint.Address": "db.example.com",
    "Odd": "x${y}!z",
}


def evaluate(value: Any) -> Any:
    """``value`` resolved as CloudFormation would, for the references of ``VALUES``."""
    if isinstance(value, list):
        return [evaluate(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return VALUES[argument]
        if function == "Fn::GetAtt":
            return VALUES[".".join(argument)]
        if function == "Fn::Join":
            delimiter, items = argument
            return delimiter.join(evaluate(i) for i in items)
        if function == "Fn::ImportValue":
            return f"import:{argument}"
        if function == "Fn::Select":
            index, items = argument
            return evaluate(items)[int(index)]
        if function == "Fn::Sub":
            assert isinstance(argument, str), "as_sub writes the string form only"
            # ${!x} is the text ${x}; ${name} a reference.
            return re.sub(r"\$\{(!?)([^}]*)\}", lambda m: "${" + m[2] + "}" if m[1] else VALUES[m[2]], argument)
    return {k: evaluate(v) for k, v in value.items()}


JOINS = [
    {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", {"Ref": "Bucket"}, "/raw/*"]]},
    {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/out/1/*"]]},
    {"Fn::Join": ["/", ["a", {"Ref": "AWS::Region"}, "b"]]},
    {"Fn::Join": ["${x}", ["lit${eral}", {"Ref": "Odd"}, "}{$"]]},
    {"Fn::Join": ["", ["s3://", {"Fn::Sub": "cdk-assets-${AWS::AccountId}-${AWS::Region}"}, "/key.py"]]},
    {"Fn::Join": ["", ["host=", {"Fn::GetAtt": ["Db", "Endpoint.Address"]}]]},
    {"Fn::Join": ["", ["only ", "text"]]},
    {"Fn::Join": ["", ["a", {"Fn::Join": ["", [{"Ref": "Bucket"}, "-x"]]}]]},
]


@pytest.mark.parametrize("value", JOINS, ids=range(len(JOINS)))
def test_a_join_becomes_a_sub_that_resolves_to_the_same_string(value: dict[str, Any]) -> None:
    converted = as_sub(value)
    assert "Fn::Join" not in json.dumps(converted)
    assert evaluate(converted) == evaluate(value)
    assert len(json.dumps(converted, separators=(",", ":"))) < len(json.dumps(value, separators=(",", ":")))


def test_the_sub_is_written_as_cloudformation_reads_it() -> None:
    assert as_sub(JOINS[0]) == {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/raw/*"}
    assert as_sub(JOINS[1]) == {"Fn::Sub": "${Bucket.Arn}/out/1/*"}
    assert as_sub(JOINS[3]) == {"Fn::Sub": "lit${!eral}${!x}${Odd}${!x}}{$"}
    assert as_sub(JOINS[6]) == "only text"  # no reference: the text itself


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::Join": ["{", ["a$", {"Ref": "Bucket"}]]},
        {"Fn::Join": ["", ["a$", {"Fn::Sub": "{x}${Bucket}"}]]},
        {"Fn::Join": ["", [{"Fn::Sub": "${Bucket}$"}, "{b}"]]},
    ],
    ids=["delimiter", "sub-after-dollar", "text-after-sub-dollar"],
)
def test_a_dollar_then_a_brace_across_parts_stays_a_join(value: dict[str, Any]) -> None:
    """Joined, "$" and "{" would read as the start of a variable: the join is kept, its value the same."""
    assert as_sub(value) == value
    assert evaluate(as_sub(value)) == evaluate(value)


def test_a_join_with_a_part_sub_cannot_hold_stays_a_join_its_parts_converted() -> None:
    value = {
        "Fn::Join": [
            "",
            [
                {"Fn::ImportValue": "Data:ExportsOutputRefLake"},
                "/",
                {"Fn::Select": [0, [{"Fn::Join": ["", [{"Ref": "Bucket"}, "/x"]]}]]},
            ],
        ]
    }
    converted = as_sub(value)
    assert converted["Fn::Join"][1][0] == {"Fn::ImportValue": "Data:ExportsOutputRefLake"}
    assert converted["Fn::Join"][1][2] == {"Fn::Select": [0, [{"Fn::Sub": "${Bucket}/x"}]]}
    assert evaluate(converted) == evaluate(value)


def test_values_around_joins_are_kept_as_they_are() -> None:
    document = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": JOINS[1], "Flag": True}]}
    converted = as_sub(document)
    assert converted["Statement"][0]["Flag"] is True
    assert converted["Statement"][0]["Resource"] == {"Fn::Sub": "${Bucket.Arn}/out/1/*"}
    assert as_sub({"Fn::Join": ["", "not a list"]}) == {"Fn::Join": ["", "not a list"]}


BUCKET_ARN = {"Fn::GetAtt": ["Bucket", "Arn"]}


def _c(prefix: str) -> dict[str, Any]:
    return {"StringLike": {"s3:prefix": [prefix, prefix + "*"]}}


KEY_ARN = "${Token[TOKEN.12]}"  # a token as Python holds it: compared as text
STATEMENTS = [
    {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": [KEY_ARN]},
    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/raw/*"]},
    {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [KEY_ARN]},
    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/lookup/*"]},
    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [BUCKET_ARN], "Condition": _c("raw/")},
    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [BUCKET_ARN], "Condition": _c("out/")},
    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [BUCKET_ARN], "Condition": _c("out/")},
    {
        "Effect": "Allow",
        "Action": ["kms:CreateGrant"],
        "Resource": [KEY_ARN],
        "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}},
    },
    {"Effect": "Allow", "Action": ["ec2:DescribeVpcs"], "Resource": ["*"]},
    {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": ["*"]},
]


def test_merged_statements_grant_exactly_what_the_statements_grant() -> None:
    merged = minimize(STATEMENTS)
    assert grants(merged) == grants(STATEMENTS)
    assert len(merged) == 5
    assert merged[0] == {"Action": ["kms:Decrypt", "kms:Encrypt"], "Effect": "Allow", "Resource": KEY_ARN}
    assert merged[1] == {
        "Action": "s3:GetObject",
        "Effect": "Allow",
        "Resource": ["arn:aws:s3:::b/raw/*", "arn:aws:s3:::b/lookup/*"],
    }
    assert merged[2]["Condition"] == {"StringLike": {"s3:prefix": ["raw/", "raw/*", "out/", "out/*"]}}
    # A different condition is a different grant: kept apart.
    assert merged[3]["Action"] == "kms:CreateGrant"
    assert merged[4] == {
        "Action": ["ec2:DescribeVpcs", "ecr:GetAuthorizationToken"],
        "Effect": "Allow",
        "Resource": "*",
    }


@pytest.mark.parametrize(
    "pair",
    [
        # Different actions and resources: a merge would grant each action on the other's resource.
        [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::a/*"},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"},
        ],
        # A negated operator's list means "none of": the union would not be the two statements.
        [
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "b",
                "Condition": {"StringNotLike": {"s3:prefix": ["a"]}},
            },
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "b",
                "Condition": {"StringNotLike": {"s3:prefix": ["c"]}},
            },
        ],
        # A key with several values per request (aws:TagKeys) is never merged.
        [
            {
                "Effect": "Allow",
                "Action": "s3:Tag",
                "Resource": "b",
                "Condition": {"StringLike": {"aws:TagKeys": ["a"]}},
            },
            {
                "Effect": "Allow",
                "Action": "s3:Tag",
                "Resource": "b",
                "Condition": {"StringLike": {"aws:TagKeys": ["c"]}},
            },
        ],
        # Allow and Deny never merge.
        [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "b"},
            {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "b"},
        ],
        # A statement with a principal or a Sid is kept as it is.
        [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "b", "Sid": "One"},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "b"},
        ],
    ],
    ids=["actions-and-resources", "negated", "multi-valued-key", "effect", "sid"],
)
def test_statements_whose_union_is_not_exact_are_kept_apart(pair: list[dict[str, Any]]) -> None:
    assert len(minimize(pair)) == 2


def test_a_merge_that_makes_earlier_statements_mergeable_merges_them_too() -> None:
    statements = [
        {"Effect": "Allow", "Action": "a:One", "Resource": "r1"},
        {"Effect": "Allow", "Action": "a:Two", "Resource": "r2"},
        {"Effect": "Allow", "Action": "a:Two", "Resource": "r1"},  # r1 now has One and Two, as r2 would
        {"Effect": "Allow", "Action": "a:One", "Resource": "r2"},
    ]
    merged = minimize(statements)
    assert grants(merged) == grants(statements)
    assert merged == [{"Action": ["a:One", "a:Two"], "Effect": "Allow", "Resource": ["r1", "r2"]}]
