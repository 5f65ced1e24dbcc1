"""How a job runs its own code (``Code.from_asset``) or its own ``entrypoint``: the library's entrypoint wrapper.

The code is the job's input ``code`` (the CDK asset: a script, or a folder's zip). Local data folders of the job
(``ProcessingInput.from_asset``, ``TrainingInput.from_asset``) travel the same way, as the zips the CDK CLI puts in
the bootstrap bucket, downloaded by SageMaker to their input's local path. The wrapper unpacks each zip where it
was downloaded, installs the code's requirements.txt with pip where it has one, and then execs the job's command (or
entrypoint) with the job's arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_cdk import Lazy

from . import _model
from ._core.resource import Produce
from ._validation import check_count, fail, is_unresolved
from .assets import Code

# The wrapper's script, one entrypoint item. Its arguments: the zips to unpack, "--", then the command to exec
# (SageMaker appends the job's arguments). Each zip is unpacked into the folder it was downloaded to and removed, so
# that the folder holds the files as they were on the machine that synthesized. An interpreter unpacks (zipfile's
# command line: every image that runs Python code has it, and it needs nothing else), or, in an image without it,
# ``unzip``; a failure stops the job before its command starts.
UNPACK = (
    'for a;do shift;[ "$a" = -- ]&&break;d=${a%/*};'
    '{ PYTHON -m zipfile -e "$a" "$d"||unzip -qo "$a" -d "$d";}&&rm "$a"||exit;done;'
)
EXEC = 'exec "$@"'
WRAPPER_ITEMS = 5  # /bin/sh, -c, the script, the script's $0 and the "--" that ends the zips


class Launch:
    """The container's entrypoint of a job whose start the library controls (``code`` or ``entrypoint`` given):
    ``command`` (the code's command and script, or the entrypoint as given) run as it is, or, once there are zips to
    unpack (a code folder, local data folders), through the wrapper. Rendered at synth, after every input was added.
    """

    def __init__(
        self,
        command: list[str],
        python: str,
        requirements: str | None,
        shape: str,
        wraps: bool = True,
        prop: str = "command",
    ) -> None:
        self.command = command
        self._prop = prop  # the prop ``command`` comes from: the code's command, or the entrypoint
        self.wraps = wraps
        """Whether the wrapper may run the command: not an entrypoint known only at deploy time (a list token)."""
        self._python = python
        self._requirements = requirements
        self._archives: list[str] = []
        self._max_items = _model.bounds(shape)[1]
        self._max_length = _model.bounds(shape + "String")[1]  # the model's item shape of the list

    def script(self) -> str:
        """The wrapper's ``sh -c`` script."""
        steps = UNPACK.replace("PYTHON", self._python)
        if self._requirements is not None:
            steps += f"{self._python} -m pip install -q -r {self._requirements}&&"
        return steps + EXEC

    def add_archive(self, prop: str, archive: str, path_prop: str) -> None:
        """Unpack the zip at ``archive`` (a container path: ``<local path>/<file>.zip``) where it is, before the
        command runs. ``prop`` names what adds it and ``path_prop`` its local path, for the errors."""
        if not is_unresolved(archive) and len(archive) > self._max_length:
            room = self._max_length - len(archive.rsplit("/", 1)[1]) - 1
            raise fail(
                path_prop,
                archive.rsplit("/", 1)[0],
                f"is where the job's entrypoint unpacks the folder's zip, {archive!r}, one entrypoint item of at most "
                f"{self._max_length} characters (SageMaker's limit): give a local path of at most {room} characters",
            )
        script = self.script()
        if len(script) > self._max_length:
            raise fail(
                f"{self._prop}[0]",
                self._python,
                f"is the interpreter the job's entrypoint unpacks zips with, which makes its script {len(script)} "
                f"characters, one entrypoint item of at most {self._max_length} (SageMaker's limit): give a shorter "
                "command, such as python3",
            )
        items = WRAPPER_ITEMS + len(self._archives) + 1 + len(self.command)
        if items > self._max_items:
            raise fail(
                prop,
                archive,
                f"is a zip the job's entrypoint unpacks, one item of its own: the entrypoint would have {items} items "
                f"(the wrapper's {WRAPPER_ITEMS}, {len(self._archives) + 1} zips, the {self._prop}'s "
                f"{len(self.command)}), SageMaker takes at most {self._max_items}: shorten the {self._prop}",
            )
        self._archives.append(archive)

    def render(self) -> list[str]:
        """The ``ContainerEntrypoint``: the command as it is, or the wrapper that unpacks the zips first."""
        if not self._archives and self._requirements is None:
            return list(self.command)
        return ["/bin/sh", "-c", self.script(), "sh", *self._archives, "--", *self.command]

    def token(self) -> Any:
        """``render()`` at synth: inputs added after the job was made still reach the entrypoint."""
        return Lazy.any(Produce(self.render))


def job_entrypoint(
    code: Code | None,
    command: list[str] | None,
    entrypoint: list[str] | None,
    network_isolation: bool,
    mount_path: str,
    add_code: Callable[[Code], str],
    shape: str,
) -> Launch | None:
    """The container's entrypoint: ``entrypoint`` as given, or, for a job with ``code``, the one that runs it
    (``code_entrypoint``); ``command`` runs code only, and code replaces the entrypoint. ``None``: the image's own
    entrypoint runs, which the library cannot wrap. ``shape``: the kind's entrypoint list shape
    in botocore's model."""
    if code is None:
        if command is not None:
            raise fail("command", list(command), "runs code: give code=Code.from_asset(...), or use entrypoint")
        if entrypoint is None:
            return None
        if is_unresolved(entrypoint):
            return Launch(entrypoint, "python3", None, shape, wraps=False, prop="entrypoint")
        first = entrypoint[0] if entrypoint else ""
        python = first if "python" in first and not is_unresolved(first) and " " not in first else "python3"
        return Launch(list(entrypoint), python, None, shape, prop="entrypoint")
    if entrypoint is not None:
        raise fail("entrypoint", list(entrypoint), "cannot be combined with code, which runs with command")
    return code_entrypoint(code, command or ["python3"], network_isolation, mount_path, add_code, shape)


def code_entrypoint(
    code: Code,
    command: list[str],
    network_isolation: bool,
    mount_path: str,
    add_code: Callable[[Code], str],
    shape: str,
) -> Launch:
    """Stage ``code`` as the job's input ``code``, which the container sees at ``mount_path`` (``add_code`` adds it
    to the job, as the plain CDK asset, and returns the file name it has there), and return the entrypoint that runs
    it: ``command + [script]``, after unpacking a folder and a pip install of its requirements where it has them."""
    # SageMaker takes 100 entrypoint items: the command and the script, and for a folder the wrapper's five and the
    # folder's zip (a single script needs no wrapper until a local data folder is added).
    high = _model.bounds(shape)[1]
    check_count("command", command, high - WRAPPER_ITEMS - 2 if code.entry_point is not None else high - 1, 1)
    # The code travels as the CDK asset it is (no copy function): a single script as the file, a folder as its zip,
    # which the job unpacks at the mount path before it runs (its names kept: its own imports rely on them).
    file_name = add_code(code)
    # The interpreter that runs the code unpacks it and installs its requirements (a bare pip may belong to another
    # Python, or be missing); a command that is no Python uses the image's python3.
    python = command[0] if "python" in command[0] and " " not in command[0] else "python3"
    if code.entry_point is None:
        return Launch([*command, f"{mount_path}/{file_name}"], python, None, shape)
    if code.has_requirements and network_isolation:
        raise fail(
            "code",
            f"{code.path}/requirements.txt",
            "is installed with pip when the job starts, which needs network access, but enable_network_isolation "
            "is True: the install would fail. Bake the packages into the image and give "
            "Code.from_asset(..., install_requirements=False), or turn network isolation off",
        )
    requirements = f"{mount_path}/requirements.txt" if code.has_requirements else None
    launch = Launch([*command, f"{mount_path}/{code.entry_point}"], python, requirements, shape)
    launch.add_archive("code", f"{mount_path}/{file_name}", "code")
    return launch
