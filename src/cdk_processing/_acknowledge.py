"""Acknowledging the findings of cdk-nag's rule packs on the library's own constructs, through aws-cdk-lib's
``Validations.of(...).acknowledge`` (the library does not depend on cdk-nag), and the text cdk-nag names a
resource by."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

# The rule ids of the compliance packs (cdk-nag: NIST 800-53 rev 4 and 5, HIPAA Security, PCI DSS 3.2.1) that
# share a rule name; AwsSolutions names its rules differently and is given explicitly.
COMPLIANCE_PACKS = ("NIST.800.53.R5", "NIST.800.53.R4", "HIPAA.Security", "PCI.DSS.321")


def acknowledge(scope: IConstruct, reasons: Mapping[str, str]) -> None:
    """Acknowledge rules on ``scope`` (and what it holds): rule id -> reason. A bare rule name (no ``-``) stands for
    that rule in every compliance pack."""
    rules = []
    for rule, reason in reasons.items():
        ids = [f"{pack}-{rule}" for pack in COMPLIANCE_PACKS] if "-" not in rule else [rule]
        rules += [Acknowledgment(id=i, reason=reason) for i in ids]
    Validations.of(scope).acknowledge(*rules)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def flatten_reference(value: Any) -> str:
    """A resolved CloudFormation value as one line of text, the way cdk-nag names the resources of its findings:
    ``Fn::Join`` joined, ``Fn::GetAtt`` as ``<Logical.Attr>``, ``Ref`` as ``<Logical>``, ``${x}`` as ``<x>``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict):
        if value.get("Fn::Join"):
            delimiter, items = value["Fn::Join"]
            return str(delimiter).join(flatten_reference(i) for i in items)
        if value.get("Fn::Sub"):
            return flatten_reference(value["Fn::Sub"])
        if value.get("Fn::GetAtt"):
            resource, attribute = value["Fn::GetAtt"]
            return f"<{flatten_reference(resource)}.{flatten_reference(attribute)}>"
        if value.get("Fn::ImportValue"):
            return flatten_reference(value["Fn::ImportValue"])
        if value.get("Ref"):
            return f"<{flatten_reference(value['Ref'])}>"
    return json.dumps(value, separators=(",", ":"))
