"""How a job runs its own code (``Code.from_asset``): the code is staged as an input, and the entrypoint runs it with
the job's command, after installing its requirements.txt with pip where it has one."""

from __future__ import annotations

from collections.abc import Callable

from ._validation import check_count, fail
from .assets import Code
from .inputs import ProcessingInput, _AssetInput


def code_entrypoint(
    code: Code,
    command: list[str],
    network_isolation: bool,
    mount_path: str,
    add_input: Callable[[ProcessingInput], None],
) -> list[str]:
    """Stage ``code`` as the job's input ``code`` at ``mount_path`` (through ``add_input``) and return the
    entrypoint that runs it: ``command + [script]``, after a pip install of its requirements where it has them."""
    # SageMaker takes 100 entrypoint items: the command, the script, and the pip wrapper's four.
    check_count("command", command, 95 if code.has_requirements else 99, 1)
    # A single script goes as a plain asset (its name does not matter: the entrypoint names it); a folder keeps
    # its file names, which its own imports rely on.
    code_input = _AssetInput("code", code.path, mount_path, code.exclude, keep_file_name=False)
    add_input(code_input)
    staged = code_input.staged
    assert staged is not None
    script = f"{mount_path}/{staged.file_name or code.entry_point}"
    if not code.has_requirements:
        return [*command, script]
    if network_isolation:
        raise fail(
            "code",
            f"{code.path}/requirements.txt",
            "is installed with pip when the job starts, which needs network access, but enable_network_isolation "
            "is True: the install would fail. Bake the packages into the image and give "
            "Code.from_asset(..., install_requirements=False), or turn network isolation off",
        )
    # pip of the interpreter that runs the code (a bare pip may belong to another Python, or be missing).
    pip = f"{command[0]} -m pip" if "python" in command[0] else "pip"
    install = f'{pip} install --quiet --requirement {mount_path}/requirements.txt && exec "$@"'
    return ["/bin/sh", "-c", install, "sh", *command, script]
