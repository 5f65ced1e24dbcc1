"""JSONata text for a workflow's task: literal strings, ``sfn.JsonPath`` tokens in them (typed values of the state's
input and context) and expressions, joined and wrapped as ``{% ... %}``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_stepfunctions as sfn

from .._validation import fail


@dataclass(frozen=True)
class Expr:
    """A JSONata expression (without the ``{% %}`` around it)."""

    text: str


_MARKER = re.compile(r"\$\{Token\[[^\]]*\]\}")  # a string token, as aws-cdk-lib encodes it in a str
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']+)'\]")


def quote(text: str) -> str:
    """``text`` as a JSONata string literal (a token in it stays a token: CloudFormation resolves it in place)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Jsonata:
    """JSONata text of the request's values, ``sfn.JsonPath`` tokens in them read in ``stack``."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack

    def folder(self, uri: Any, *rest: Any) -> Expr:
        """``uri`` as a folder (a ``/`` after it unless it ends with one), followed by ``rest``."""
        parts = [p for p in rest if p is not None]
        if isinstance(uri, str) and uri.endswith("/"):
            return self.concat(uri, *parts)
        if isinstance(uri, str) and not re.search(_MARKER.pattern + "$", uri):
            return self.concat(uri + "/", *parts)
        known = self.concat(uri).text  # ends with a token or is an expression: decided by the run
        return self.concat(Expr(f"($u := {known}; $substring($u, -1) = '/' ? $u : $u & '/')"), *parts)

    def concat(self, *parts: Any) -> Expr:
        """The concatenation of strings (``sfn.JsonPath`` tokens in them) and expressions."""
        texts: list[str] = []
        for part in parts:
            if isinstance(part, Expr):
                texts.append(part.text if _IDENTIFIER.fullmatch(part.text.lstrip("$")) else f"({part.text})")
            else:
                texts += [p.text if isinstance(p, Expr) else quote(p) for p in self._pieces(part)]
        return Expr(" & ".join(texts) or "''")

    def _pieces(self, text: str) -> list[str | Expr]:
        pieces: list[str | Expr] = []
        last = 0
        for match in _MARKER.finditer(text):
            if sfn.JsonPath.is_encoded_json_path(match.group(0)):
                pieces += [text[last : match.start()], Expr(jsonata_of(str(self._stack.resolve(match.group(0)))))]
                last = match.end()
        pieces.append(text[last:])
        return [p for p in pieces if p != ""]

    def finish(self, value: Any) -> Any:
        """The JSON of the ``Arguments``: expressions and strings with ``sfn.JsonPath`` tokens as ``{% ... %}``."""
        if isinstance(value, dict):
            return {k: self.finish(v) for k, v in value.items()}
        if isinstance(value, list):
            if len(value) == 1 and isinstance(value[0], str) and value[0].startswith("#{Token["):
                path = self._stack.resolve(value)  # a list token: sfn.JsonPath.list_at
                if isinstance(path, str) and path.startswith("$"):
                    return "{% " + jsonata_of(path) + " %}"
            return [self.finish(v) for v in value]
        if isinstance(value, Expr):
            return "{% " + value.text + " %}"
        if isinstance(value, str) and "Token[" in value and not value.startswith("{%"):
            pieces = self._pieces(value)
            if len(pieces) == 1 and isinstance(pieces[0], Expr):
                return "{% $string(" + pieces[0].text + ") %}"
            if any(isinstance(p, Expr) for p in pieces):
                return "{% " + self.concat(value).text + " %}"
        return value


def jsonata_of(path: str) -> str:
    """The JSONata of a JSONPath reference: ``$.a.b`` is ``$states.input.a.b``, ``$$.Execution.Name`` is
    ``$states.context.Execution.Name``, ``$var`` a variable."""
    variable_name = _IDENTIFIER.match(path, 1)
    if path.startswith("$$"):
        root, rest = "$states.context", path[2:]
    elif path == "$" or path.startswith(("$.", "$[")):
        root, rest = "$states.input", path[1:]
    elif path.startswith("$") and variable_name is not None:
        root, rest = path[: variable_name.end()], path[variable_name.end() :]
    else:
        raise fail(
            "a JsonPath value",
            path,
            "a JSONata task takes JSONPath references only (sfn.JsonPath.string_at('$.day'), .list_at, "
            "sfn.JsonPath.execution_name, ...): join text and values in a Python f-string instead of "
            "sfn.JsonPath.format, or give a JSONata expression '{% ... %}'",
        )
    text, position = root, 0
    while position < len(rest):
        step = _STEP.match(rest, position)
        if step is None or "*" in step.group(0):
            raise fail(
                "a JsonPath value",
                path,
                "must be a plain reference ($.a.b, $.a[0], $['a b']): no wildcards, filters or '..'; give a JSONata "
                "expression '{% ... %}' for anything else",
            )
        if step.group(2) is not None:
            text += f"[{step.group(2)}]"
        else:
            field = step.group(1) or step.group(3)
            text += "." + (field if _IDENTIFIER.fullmatch(field) else f"`{field}`")
        position = step.end()
    return text
