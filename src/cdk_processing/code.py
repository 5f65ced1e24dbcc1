"""How a job runs its own code (``Code.from_asset``): the code is the job's input ``code`` (the CDK asset: a script,
or a folder's zip), and the entrypoint runs it with the job's command, after unpacking a folder and installing its
requirements.txt with pip where it has one."""

from __future__ import annotations

from collections.abc import Callable

from ._validation import check_count, fail
from .assets import Code


def job_entrypoint(
    code: Code | None,
    command: list[str] | None,
    entrypoint: list[str] | None,
    network_isolation: bool,
    mount_path: str,
    add_code: Callable[[Code], str],
) -> list[str] | None:
    """The container's entrypoint: ``entrypoint`` as given, or, for a job with ``code``, the one that runs it
    (``code_entrypoint``); ``command`` runs code only, and code replaces the entrypoint."""
    if code is None:
        if command is not None:
            raise fail("command", list(command), "runs code: give code=Code.from_asset(...), or use entrypoint")
        return entrypoint
    if entrypoint is not None:
        raise fail("entrypoint", list(entrypoint), "cannot be combined with code, which runs with command")
    return code_entrypoint(code, command or ["python3"], network_isolation, mount_path, add_code)


def code_entrypoint(
    code: Code,
    command: list[str],
    network_isolation: bool,
    mount_path: str,
    add_code: Callable[[Code], str],
) -> list[str]:
    """Stage ``code`` as the job's input ``code``, which the container sees at ``mount_path`` (``add_code`` adds it
    to the job, as the plain CDK asset, and returns the file name it has there), and return the entrypoint that runs
    it: ``command + [script]``, after a pip install of its requirements where it has them."""
    # SageMaker takes 100 entrypoint items: the command, the script, and the wrapper's four (a folder's: it has an
    # entry point, a single script has none).
    check_count("command", command, 95 if code.entry_point is not None else 99, 1)
    # The code travels as the CDK asset it is (no copy function): a single script as the file, a folder as its zip,
    # which the job unpacks at the mount path before it runs (its names kept: its own imports rely on them).
    file_name = add_code(code)
    if code.entry_point is None:
        return [*command, f"{mount_path}/{file_name}"]
    if code.has_requirements and network_isolation:
        raise fail(
            "code",
            f"{code.path}/requirements.txt",
            "is installed with pip when the job starts, which needs network access, but enable_network_isolation "
            "is True: the install would fail. Bake the packages into the image and give "
            "Code.from_asset(..., install_requirements=False), or turn network isolation off",
        )
    # The interpreter that runs the code unpacks it (zipfile's command line) and installs its requirements (a bare
    # pip may belong to another Python, or be missing); a command that is no Python uses the image's python3. The
    # script is one entrypoint item, at most 256 characters: hence the variable.
    python = command[0] if "python" in command[0] else "python3"
    steps = [f"d={mount_path}", f"{python} -m zipfile -e $d/{file_name} $d"]
    if code.has_requirements:
        steps.append(f"{python} -m pip install -q -r $d/requirements.txt")
    return ["/bin/sh", "-c", " && ".join(steps) + ' && exec "$@"', "sh", *command, f"{mount_path}/{code.entry_point}"]
