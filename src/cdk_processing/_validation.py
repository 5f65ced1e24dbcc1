"""Synth-time validation helpers.

Every check names the property, shows the value received and says what is allowed. A value that is an
unresolved CDK token is skipped: CloudFormation resolves it, and SageMaker validates it at deploy time.
"""

from __future__ import annotations

import enum
import functools
import inspect
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sized
from typing import Any, TypeVar

from aws_cdk import Duration, Size, SizeRoundingBehavior, Token

from . import _model


class ProcessingJobValidationError(ValueError):
    """Raised at synth time when a ``ProcessingJob`` prop is outside what SageMaker accepts.

    The message is ``<construct path>: <prop> is <value as written>: <what is allowed>``; the path is there when the
    value reached a construct (a factory such as ``ProcessingInput.from_bucket`` raises before there is one).
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    def at(self, path: str) -> ProcessingJobValidationError:
        """The same error, its message prefixed with the construct path where the value was given (once)."""
        if self.path is None:
            self.path = path
            self.args = (f"{path}: {self.args[0]}", *self.args[1:])
        return self


F = TypeVar("F", bound=Callable[..., Any])


def in_construct(method: F) -> F:
    """Errors raised in ``method`` of a construct name the construct's path (for ``__init__``: ``scope/id``)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except ProcessingJobValidationError as error:
            raise error.at(_path_of(self, args)) from error.__cause__

    return wrapper  # type: ignore[return-value]


def _path_of(construct: Any, args: tuple[Any, ...]) -> str:
    try:
        return str(construct.node.path)
    except Exception:  # still before Construct.__init__: the path it is getting
        scope, id = (args + (None, None))[:2]
        parent = getattr(getattr(scope, "node", None), "path", "")
        return f"{parent}/{id}" if parent else str(id)


def is_unresolved(value: Any) -> bool:
    """True when ``value`` (a string, number, list or mapping) holds an unresolved CDK token.

    Plain strings and integers are told apart in Python: an encoded token string always contains ``Token[`` and a
    number token is a float, so only those ask jsii (each question is a round trip to Node.js).
    """
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, str):
        return "Token[" in value and bool(Token.is_unresolved(value))
    if isinstance(value, int):
        return False
    if isinstance(value, float):
        # A number token is a finite float; NaN and infinity are none (and jsii cannot even carry them).
        return math.isfinite(value) and bool(Token.is_unresolved(value))
    if isinstance(value, dict):
        return any(is_unresolved(k) or is_unresolved(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        # A list token is a list of one "#{Token[...]}" string, which is a token only as a list's element.
        if len(value) == 1 and isinstance(value[0], str) and value[0].startswith("#{Token["):
            return True
        return any(is_unresolved(v) for v in value)
    if not hasattr(value, "__jsii_ref__"):
        return False  # a plain Python object (a class, a function, ...) is no token; jsii could not even take it
    return bool(Token.is_unresolved(value))


_UNITS: dict[type, list[tuple[str, str]]] = {
    Duration: [("days", "to_days"), ("hours", "to_hours"), ("minutes", "to_minutes"), ("seconds", "to_seconds")],
    Size: [
        ("pebibytes", "to_pebibytes"),
        ("tebibytes", "to_tebibytes"),
        ("gibibytes", "to_gibibytes"),
        ("mebibytes", "to_mebibytes"),
        ("kibibytes", "to_kibibytes"),
    ],
}


def written(value: Any) -> str:
    """``value`` as a user writes it in Python: ``Duration.hours(2)``, ``Size.gibibytes(30)``,
    ``Completion.start_only`` (a function not called), ``InputMode.PIPE``; ``repr`` for plain values."""
    if isinstance(value, (Duration, Size)):
        kind = type(value).__name__
        if value.is_unresolved():
            return f"{kind} (a token)"
        units = _UNITS[type(value)]
        for index, (unit, method) in enumerate(units):
            last = index == len(units) - 1
            try:  # whole in this unit, else jsii raises
                if isinstance(value, Duration):
                    amount = getattr(value, method)(integral=not last)
                else:
                    rounding = SizeRoundingBehavior.NONE if last else SizeRoundingBehavior.FAIL
                    amount = getattr(value, method)(rounding=rounding)
            except Exception:
                continue
            if amount == 0 and not last:
                continue
            return f"{kind}.{unit}({amount:g})"
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if inspect.isclass(value):
        return value.__qualname__
    if inspect.isfunction(value) or inspect.ismethod(value):
        return value.__qualname__
    if isinstance(value, (list, tuple)):
        inner = ", ".join(written(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if type(value).__module__.startswith("cdk_processing") and not _has_repr(type(value)):
        public = next(c for c in type(value).__mro__ if not c.__name__.startswith("_"))
        return f"a {public.__name__}"
    if _is_jsii(value):
        path = getattr(getattr(value, "node", None), "path", None)
        return f"the construct {path}" if path is not None else f"a {type(value).__name__.lstrip('_')}"
    return repr(value)


def _has_repr(cls: type) -> bool:
    return any("__repr__" in vars(c) for c in cls.__mro__[:-1])


def _is_jsii(value: Any) -> bool:
    return hasattr(value, "__jsii_ref__") or type(value).__module__.startswith(("aws_cdk", "constructs", "jsii"))


def fail(prop: str, value: Any, allowed: str, *, as_written: Any = None) -> ProcessingJobValidationError:
    """Build the library's error: ``<prop> is <value>: <what is allowed>``.

    ``as_written``: the object the user gave, shown after a computed ``value`` (``'7200 s' (Duration.hours(2))``).
    """
    shown = written(value)
    if len(shown) > 120:
        shown = shown[:117] + "..."
    if as_written is not None:
        shown += f" ({written(as_written)})"
    return ProcessingJobValidationError(f"{prop} is {shown}: {allowed}")


def seconds_text(seconds: float) -> str:
    """A number of seconds as a message shows it: whole seconds in full (``2505600 s``, never ``2.5056e+06 s``)."""
    return f"{int(seconds)} s" if float(seconds).is_integer() else f"{seconds:g} s"


def check_range(
    prop: str, value: int | float | None, low: float, high: float, unit: str = "", *, as_written: Any = None
) -> None:
    if value is None or is_unresolved(value):
        return
    if not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise fail(prop, value, f"must be between {low:g} and {high:g}{suffix}", as_written=as_written)


def check_model_range(prop: str, value: int | float | None, shape: str, unit: str = "", **kwargs: Any) -> None:
    """Within the range of the model's integer shape ``shape``."""
    low, high = _model.bounds(shape)
    check_range(prop, value, low, high, unit, **kwargs)


def check_model_string(prop: str, value: str | None, shape: str, description: str = "") -> None:
    """A string of the model's shape ``shape``: its length, then its pattern (``description`` says it in words)."""
    if value is None or is_unresolved(value):
        return
    low, high = _model.bounds(shape)
    check_length(prop, value, low, high)
    regex = _model.pattern(shape)
    if regex is not None and regex not in (".*", "[\\s\\S]*", "[\\S\\s]*") and re.fullmatch(regex, value) is None:
        raise fail(prop, value, f"must match {regex}" + (f" ({description})" if description else ""))


def check_type(prop: str, value: Any, expected: type | tuple[type, ...], allowed: str) -> None:
    """``value`` is an instance of ``expected`` (a bool is no int here), unless it is ``None`` or a number token."""
    if value is None:
        return
    wanted = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, wanted) and not (isinstance(value, bool) and bool not in wanted):
        return
    if int in wanted and isinstance(value, float) and is_unresolved(value):
        return
    raise fail(prop, value, _called_hint(value, allowed))


def _called_hint(value: Any, allowed: str) -> str:
    if inspect.isfunction(value) or inspect.ismethod(value):
        return f"{allowed}; call it: {value.__qualname__}()"
    return allowed


def check_bool(prop: str, value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        raise fail(prop, value, "must be True or False")


def check_str_list(prop: str, value: Any, example: str) -> list[str] | None:
    """A list (or tuple) of strings, never a single string; returned as a list."""
    if value is None:
        return None
    if is_unresolved(value) and not isinstance(value, str):
        return list(value)
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise fail(prop, value, f"must be a list of strings, such as {example}")
    for item in value:
        if not isinstance(item, str):
            raise fail(f"{prop}[]", item, f"must be a string (each item of {prop}), such as {example}")
    return list(value)


def check_list_of(prop: str, value: Any, expected: type, example: str) -> list[Any] | None:
    """A list (or tuple) of ``expected``: one item alone, or anything else, is refused."""
    if value is None:
        return None
    if isinstance(value, expected):
        raise fail(prop, value, f"must be a list: put the one item in a list, {prop}=[...]")
    if not isinstance(value, (list, tuple)):
        raise fail(prop, value, f"must be a list of {expected.__name__}, such as {example}")
    for item in value:
        if not isinstance(item, expected):
            raise fail(f"{prop}[]", item, _called_hint(item, f"must be a {expected.__name__}, such as {example}"))
    return list(value)


def check_interface(prop: str, value: Any, attributes: tuple[str, ...], allowed: str) -> None:
    """A jsii interface (``kms.IKey``, ``iam.IRole``, ...): jsii's Python interfaces are Protocols that ``isinstance``
    refuses to check, so the object must be a jsii object with the interface's attributes."""
    if value is None:
        return
    # An imported resource may be a jsii InterfaceDynamicProxy, whose attributes are on the object, not its class.
    if not _is_jsii(value) or not all(hasattr(type(value), a) or hasattr(value, a) for a in attributes):
        raise fail(prop, value, allowed)


def check_mapping(prop: str, value: Any, example: str) -> Mapping[Any, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise fail(prop, value, f"must be a dict of strings, such as {example}")
    return value


def check_integer(prop: str, value: Any) -> None:
    if value is None or (isinstance(value, float) and is_unresolved(value)):
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(prop, value, "must be a whole number (an int)")


def check_length(prop: str, value: str | None, low: int, high: int) -> None:
    if value is None or is_unresolved(value):
        return
    if not isinstance(value, str):
        raise fail(prop, value, f"must be a string of {low} to {high} characters")
    if not low <= len(value) <= high:
        raise fail(prop, value, f"must be {low} to {high} characters long (got {len(value)})")


def check_pattern(prop: str, value: str | None, pattern: str, description: str) -> None:
    if value is None or is_unresolved(value):
        return
    if not isinstance(value, str):
        raise fail(prop, value, f"must be a string: {description}")
    if re.fullmatch(pattern, value) is None:
        raise fail(prop, value, f"must match {pattern} ({description})")


def check_count(prop: str, items: Sized | None, high: int, low: int = 0) -> None:
    if items is None or is_unresolved(items):
        return
    if not low <= len(items) <= high:
        raise fail(prop, f"{len(items)} items", f"must hold {low} to {high} items")


def check_unique(prop: str, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if is_unresolved(name):
            continue
        if name in seen:
            raise fail(prop, name, "names must be unique within the job")
        seen.add(name)


PROCESSING_PATH = "/opt/ml/processing/"


def check_local_path(prop: str, value: str | None) -> None:
    """A container path must lie under ``/opt/ml/processing/`` (and fit SageMaker's 256 characters)."""
    if value is None or is_unresolved(value):
        return
    check_length(prop, value, 1, _model.bounds("ProcessingLocalPath")[1])
    if not value.startswith(PROCESSING_PATH) or value.rstrip("/") == PROCESSING_PATH.rstrip("/"):
        raise fail(prop, value, f"must be a folder under {PROCESSING_PATH}, for example {PROCESSING_PATH}input/data")
    if "/../" in value + "/" or "//" in value:
        raise fail(prop, value, "must be a normalised absolute path without '..' or '//'")


def check_local_paths_unique(prop: str, paths: Iterable[str]) -> None:
    """Two channels (inputs or outputs) cannot be mounted at the same container path."""
    seen: set[str] = set()
    for path in paths:
        if path is None or is_unresolved(path):
            continue
        key = path.rstrip("/")
        if key in seen:
            raise fail(prop, path, "each input and output needs a local path of its own")
        seen.add(key)
