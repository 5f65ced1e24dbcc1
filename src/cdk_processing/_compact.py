"""The same CloudFormation in fewer bytes: ``Fn::Join`` written as ``Fn::Sub``, and policy statements merged where
their union grants exactly what the statements grant one by one.

Both work on plain JSON (resolved values and statement dictionaries), so they are pure and cost no call to jsii.
A realistic job's template is about a third smaller with them; nothing they do changes what a value resolves to
or what a policy allows.
"""

from __future__ import annotations

import json
from typing import Any

# Condition keys with one value per request: a condition of one of them lists values any one of which matches, so two
# statements that differ only in its values are one statement with both lists. (A key with several values per
# request, such as aws:TagKeys, would not be: it is never merged.)
SINGLE_VALUED_KEYS = frozenset({"s3:prefix"})
# The operators whose list of values means "any of" (IAM User Guide, "Creating a condition with multiple keys or
# values"): not the negated ones, whose lists mean "none of".
ANY_OF_OPERATORS = frozenset({"StringEquals", "StringLike", "ArnEquals", "ArnLike"})
_MERGED_KEYS = frozenset({"Effect", "Action", "Resource", "Condition"})


def as_sub(value: Any) -> Any:
    """``value`` (resolved CloudFormation) with each ``Fn::Join`` whose parts are text, ``Ref`` s, ``Fn::GetAtt`` s
    and ``Fn::Sub`` s without variables written as one ``Fn::Sub`` (``${Logical}``, ``${Logical.Attribute}``; a
    literal ``${`` escaped as ``${!``): the same string once CloudFormation resolves it, in about half the bytes.
    A join of another part (``Fn::ImportValue``, ``Fn::Select``...) stays a join, its parts converted."""
    if isinstance(value, list):
        return [as_sub(v) for v in value]
    if not isinstance(value, dict):
        return value
    converted = {k: as_sub(v) for k, v in value.items()}
    join = converted.get("Fn::Join")
    if len(converted) != 1 or not isinstance(join, list) or len(join) != 2:
        return converted
    delimiter, items = join
    if not isinstance(delimiter, str) or not isinstance(items, list):
        return converted
    parts: list[str] = []
    for index, item in enumerate(items):
        text = _sub_text(item)
        if text is None:
            return converted
        if index:
            parts.append(_escaped(delimiter))
        parts.append(text)
    pieces = [part for part in parts if part]
    if any(a.endswith("$") and b.startswith("{") for a, b in zip(pieces, pieces[1:], strict=False)):
        return converted  # "$" then "{" would read as a variable once joined: kept a join
    body = "".join(parts)
    # A join of text alone is that text.
    return {"Fn::Sub": body} if _has_variable(body) else body.replace("${!", "${")


def _sub_text(item: Any) -> str | None:
    """``item`` (a part of a join) as text of an ``Fn::Sub`` body; ``None`` when it has none."""
    if isinstance(item, str):
        return _escaped(item)
    if not isinstance(item, dict) or len(item) != 1:
        return None
    ((function, argument),) = item.items()
    if function == "Ref" and isinstance(argument, str):
        return f"${{{argument}}}"
    if (
        function == "Fn::GetAtt"
        and isinstance(argument, list)
        and len(argument) == 2
        and all(isinstance(a, str) for a in argument)
    ):
        return f"${{{argument[0]}.{argument[1]}}}"
    if function == "Fn::Sub" and isinstance(argument, str):
        return argument
    return None


def _escaped(text: str) -> str:
    return text.replace("${", "${!")


def _has_variable(body: str) -> bool:
    return "${" in body.replace("${!", "")


def minimize(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``statements`` (IAM statement JSON) merged where the union is exact, in aws-cdk-lib's statement form (keys
    Action, Condition, Effect, Resource; a one-item list as its item; duplicates removed):

    - the same effect, condition and resources: one statement with both statements' actions;
    - the same effect, condition and actions: one statement with both statements' resources;
    - the same effect, actions and resources, and a condition on the same single-valued key by the same "any of"
      operator: one statement with both lists of values.

    A statement with anything else (a principal, ``NotAction``, a ``Sid``) is kept as it is. The first statement of
    a merge keeps its place."""
    merged: list[_Statement | dict[str, Any]] = []
    for statement in statements:
        plain = _Statement.of(statement)
        if plain is None or not any(isinstance(m, _Statement) and m.absorb(plain) for m in merged):
            merged.append(plain if plain is not None else statement)
    # A merge can make two earlier statements equal in actions or resources: again, until nothing changes.
    while True:
        again: list[_Statement | dict[str, Any]] = []
        for item in merged:
            if not (isinstance(item, _Statement) and any(isinstance(m, _Statement) and m.absorb(item) for m in again)):
                again.append(item)
        if len(again) == len(merged):
            break
        merged = again
    return [m.json() if isinstance(m, _Statement) else m for m in merged]


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _items(value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    return list({_key(i): i for i in items}.values())


class _Statement:
    """A statement of effect, actions, resources and a condition only."""

    @staticmethod
    def of(statement: dict[str, Any]) -> _Statement | None:
        if not set(statement) <= _MERGED_KEYS or "Action" not in statement or "Resource" not in statement:
            return None
        return _Statement(statement)

    def __init__(self, statement: dict[str, Any]) -> None:
        self.effect = statement.get("Effect", "Allow")
        self.actions = _items(statement["Action"])
        self.resources = _items(statement["Resource"])
        condition = statement.get("Condition") or None
        if isinstance(condition, dict) and all(isinstance(keys, dict) for keys in condition.values()):
            # A condition's lists without their duplicates.
            condition = {
                op: {k: _items(v) if isinstance(v, list) else v for k, v in keys.items()}
                for op, keys in condition.items()
            }
        self.condition = condition
        self._keys()

    def _keys(self) -> None:
        """What statements are compared by, as text: kept, since a document is merged at every synth."""
        self.action_keys = frozenset(map(_key, self.actions))
        self.resource_keys = frozenset(map(_key, self.resources))
        self.condition_key = _key(self.condition)

    def _any_of(self) -> tuple[str, str] | None:
        """The operator and key of a condition on one single-valued key by an "any of" operator."""
        if not isinstance(self.condition, dict) or len(self.condition) != 1:
            return None
        ((operator, keys),) = self.condition.items()
        if operator not in ANY_OF_OPERATORS or not isinstance(keys, dict) or len(keys) != 1:
            return None
        (key,) = keys
        return (operator, key) if key in SINGLE_VALUED_KEYS else None

    def absorb(self, other: _Statement) -> bool:
        """Take ``other`` in when the union is exact; whether it was."""
        if self.effect != other.effect:
            return False
        same_condition = self.condition_key == other.condition_key
        same_actions = self.action_keys == other.action_keys
        same_resources = self.resource_keys == other.resource_keys
        if same_condition and same_resources:
            self.actions = _items(self.actions + other.actions)
        elif same_condition and same_actions:
            self.resources = _items(self.resources + other.resources)
        elif same_actions and same_resources and self._any_of() is not None and self._any_of() == other._any_of():
            assert isinstance(self.condition, dict) and isinstance(other.condition, dict)
            ((operator, keys),) = self.condition.items()
            ((key, values),) = keys.items()
            theirs = other.condition[operator][key]
            self.condition = {operator: {key: _items(_items(values) + _items(theirs))}}
        else:
            return False
        self._keys()
        return True

    def json(self) -> dict[str, Any]:
        """aws-cdk-lib's form of the statement (``PolicyStatement.toStatementJson``)."""
        statement: dict[str, Any] = {"Action": _one_or_list(self.actions)}
        if self.condition:
            statement["Condition"] = self.condition
        statement["Effect"] = self.effect
        statement["Resource"] = _one_or_list(self.resources)
        return statement


def _one_or_list(items: list[Any]) -> Any:
    return items[0] if len(items) == 1 else items
