"""The API reference (``make docs``: pdoc, from the docstrings, into docs/api/) builds without a warning, documents
every public name of ``cdk_processing.__all__``, and its docstrings hold no broken reference: every ``:param x:``
names a parameter of its function, and every ``Name.member`` or ``Name.member(..., keyword=...)`` written in double
backticks, where ``Name`` is a public name, is a member of it that takes those keywords."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pdoc
import pdoc.render
import pytest

import cdk_processing

DOCFORMAT: Literal["restructuredtext"] = "restructuredtext"  # as the Makefile's docs target
PUBLIC = {name: getattr(cdk_processing, name) for name in cdk_processing.__all__}


def documented() -> Iterator[tuple[str, Any]]:
    """Every public object with its qualified name: the names of ``__all__`` and their own public members."""
    for name, obj in PUBLIC.items():
        yield name, obj
        if not inspect.isclass(obj):
            continue
        for member, value in vars(obj).items():
            if member.startswith("_") and member != "__init__":
                continue
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if inspect.isfunction(value) or isinstance(value, property):
                yield f"{name}.{member}", value


def callable_of(value: Any) -> Callable[..., Any] | None:
    if isinstance(value, property):
        return None
    return value if callable(value) else None


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[warnings.WarningMessage]]:
    out = tmp_path_factory.mktemp("api")
    pdoc.render.configure(docformat=DOCFORMAT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.pdoc("cdk_processing", output_directory=out)
    return out, [w for w in caught if "pdoc" in w.filename]


def test_the_reference_builds_without_a_warning(reference: tuple[Path, list[warnings.WarningMessage]]) -> None:
    out, caught = reference
    assert [f"{w.filename}:{w.lineno}: {w.message}" for w in caught] == []
    assert (out / "index.html").exists() and (out / "cdk_processing.html").exists()


def test_every_public_name_is_documented(reference: tuple[Path, list[warnings.WarningMessage]]) -> None:
    html = (reference[0] / "cdk_processing.html").read_text()
    missing = [name for name in PUBLIC if f'<section id="{name}">' not in html]
    assert missing == []
    undocumented = [name for name, obj in PUBLIC.items() if not (inspect.getdoc(obj) or "").strip()]
    assert undocumented == []


def test_every_documented_parameter_exists() -> None:
    broken = []
    for where, value in documented():
        function = callable_of(value)
        doc = inspect.getdoc(value) or ""
        if inspect.isclass(value):
            function = value.__init__
            doc += "\n" + (inspect.getdoc(value.__init__) or "")
        if function is None:
            continue
        try:
            parameters = inspect.signature(function).parameters
        except (TypeError, ValueError):
            continue
        takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        for name in re.findall(r":param\s+(?:[\w\[\], |.]+\s+)?(\w+):", doc):
            if name not in parameters and not takes_kwargs:
                broken.append(f"{where}: :param {name}: is no parameter of {list(parameters)}")
    assert broken == []


def test_every_reference_to_a_public_name_resolves() -> None:
    broken = []
    count = 0
    for where, value in documented():
        for ref in re.findall(r"``([^`]+)``", inspect.getdoc(value) or ""):
            match = re.fullmatch(r"([A-Z]\w*)((?:\.\w+)+)(?:\((.*)\))?", ref.strip())
            if not match or match[1] not in PUBLIC:
                continue
            count += 1
            target: Any = PUBLIC[match[1]]
            for part in match[2].lstrip(".").split("."):
                if not hasattr(target, part):
                    broken.append(f"{where}: ``{ref}``: {part!r} is not a member")
                    break
                target = getattr(target, part)
            else:
                keywords = re.findall(r"(?:^|,)\s*(\w+)=", match[3] or "")
                if keywords and callable(target):
                    parameters = inspect.signature(target).parameters
                    broken += [f"{where}: ``{ref}``: no parameter {k!r}" for k in keywords if k not in parameters]
    assert broken == []
    assert count >= 20  # the check sees the references the docstrings have


def test_the_lazy_names_are_the_names_type_checkers_see() -> None:
    """The package imports its public names on first use (``_WHERE``); type checkers and IDEs read the imports of
    its ``if TYPE_CHECKING:`` block: both give each name of ``__all__`` the same object, and nothing else."""
    tree = ast.parse(Path(cdk_processing.__file__).read_text())
    [block] = [n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    seen = {
        alias.asname or alias.name: (f".{node.module}", alias.name)
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    lazy = cdk_processing._WHERE
    assert seen == lazy
    assert set(lazy) == set(cdk_processing.__all__) and len(cdk_processing.__all__) == len(lazy)
    for name, (module, attribute) in lazy.items():
        assert PUBLIC[name] is getattr(importlib.import_module(module, "cdk_processing"), attribute), name
