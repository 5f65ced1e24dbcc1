"""The package as a user gets it: ``python -m build`` makes an sdist and, from it, a wheel; a virtual environment
outside the repository installs the wheel with exactly the declared dependency floors (aws-cdk-lib, constructs,
botocore: the ``>=`` of the wheel's ``Requires-Dist``); there examples/app.py synthesizes, every ``InstanceType``
constant passes the synth-time check, and a typed two-job app passes ``mypy --strict`` and synthesizes with the
repository's pinned cdk CLI. On each other Python version the classifiers declare, the wheel installed with the
pinned constraints imports and synthesizes examples/app.py. The sdist holds the tests with their helpers and what they
read, and a subset of them runs from the unpacked sdist.

One virtual environment serves the floors and the user's app (the dev venv already covers the newest versions), and one
each other Python; each is made fresh when what it installs changes (see ``cached_venv``). Marked ``packaging``:
``pytest -m "not packaging"`` skips it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parent.parent
FLOORED = {"aws-cdk-lib", "constructs", "botocore"}  # every runtime dependency has a floor the tests prove
ENV = {
    **os.environ,
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
}
for _leak in ("VIRTUAL_ENV", "PYTHONPATH", "CDK_OUTDIR", "CDK_CONTEXT_JSON"):
    ENV.pop(_leak, None)


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """Run ``command``; on a non-zero exit fail with the command and the end of its output."""
    result = subprocess.run(
        command, cwd=cwd, env=env or ENV, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-6000:]
        pytest.fail(f"exit {result.returncode}: {' '.join(command)} (in {cwd})\n{output}", pytrace=False)
    return result.stdout


@dataclass(frozen=True)
class Dists:
    sdist: Path
    wheel: Path
    metadata: Any  # the wheel's METADATA, parsed

    def floors(self) -> dict[str, str]:
        """Each runtime dependency's declared floor: the version of its ``>=`` specifier."""
        found: dict[str, str] = {}
        for line in self.metadata.get_all("Requires-Dist") or []:
            requirement = Requirement(line)
            if requirement.marker is not None:
                continue  # an extra (dev)
            [floor] = [s.version for s in requirement.specifier if s.operator == ">="]
            found[requirement.name] = floor
        return found


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    out = tmp_path_factory.mktemp("dist")
    # As a user or a release builds it: an isolated build, the sdist first, then the wheel from the sdist.
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], cwd=out)
    [sdist] = out.glob("cdk_processing-*.tar.gz")
    [wheel] = out.glob("cdk_processing-*-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(name).decode())
    return Dists(sdist, wheel, metadata)


@dataclass
class SdistTests:
    unpacked: Path
    process: subprocess.Popen[str]
    log: Path


@pytest.fixture(scope="module")
def sdist_tests(dists: Dists, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SdistTests]:
    """A fast subset of the tests, run from the unpacked sdist in the background (it takes about 35 s, and runs
    while the wheel's venv installs and its apps synthesize); ``test_the_sdist_s_tests_run...`` waits for it."""
    where = tmp_path_factory.mktemp("sdist")
    with tarfile.open(dists.sdist) as archive:
        archive.extractall(where, filter="data")
    [unpacked] = where.iterdir()
    env = {**ENV, "PYTHONPATH": str(unpacked / "src")}  # the sdist's own package, not the checkout's
    imported = run([sys.executable, "-c", "import cdk_processing; print(cdk_processing.__file__)"], unpacked, env)
    assert Path(imported.strip()).is_relative_to(unpacked / "src"), imported
    # Every test module is collected (imports its helpers); a subset runs that uses each helper: the conftest
    # fixtures, cfn, emulator, harness and model (test_request_model, also on the example app's requests: examples/
    # and cdk.json), and stacks (test_template).
    selection = ["-m", "not packaging", "-k", "test_request_model.py or test_template.py"]
    log = where / "pytest.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test", *selection],
            cwd=unpacked,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    yield SdistTests(unpacked, process, log)
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def user_venv(dists: Dists, sdist_tests: SdistTests) -> Path:
    """A virtual environment outside the repository with the built wheel, exactly the floors and the pinned mypy,
    made fresh whenever the floors or the mypy pin change (see ``cached_venv``), so that the next run skips the install
    and mypy's cache of aws-cdk-lib (about 100 s cold) stays warm. (It asks for ``sdist_tests`` only to start them
    early.)
    """
    mypy = next(line for line in (ROOT / "constraints.txt").read_text().splitlines() if line.startswith("mypy=="))
    pins = [f"{name}=={version}" for name, version in sorted(dists.floors().items())] + [mypy]
    return cached_venv("user", sys.executable, sys.version, dists.wheel, pins, pins)


def cached_venv(name: str, interpreter: str, version: str, wheel: Path, install: list[str], inputs: Any) -> Path:
    """A virtual environment in the temporary directory, made by ``interpreter`` (whose ``sys.version`` is
    ``version``) with ``pip install WHEEL *install``, where ``inputs`` is what decides the rest of its content.

    Made fresh whenever the Python or ``inputs`` change (its directory is named by their hash) or when
    ``CDK_PROCESSING_FRESH_VENV=1``; otherwise reused with only the wheel reinstalled, whichever checkout built it: a
    fresh clone's run reuses what the last run installed. This run holds it (a lock released when the process ends)
    so that two runs at once never reinstall into one environment; one no run used for an hour is removed.
    """
    key = hashlib.sha256(json.dumps([version, inputs]).encode()).hexdigest()[:12]
    home = VENVS / f"cdk-processing-{name}-venv-{key}"
    _hold(home)
    venv, complete = home / "venv", home / "installed"
    if not complete.exists() or os.environ.get("CDK_PROCESSING_FRESH_VENV") == "1":
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        run([interpreter, "-m", "venv", str(venv)], cwd=home)
        # No byte-compiling at install: aws-cdk-lib's generated modules take most of a cold install to compile
        # (58 s -> 14 s measured for 3.12); Python compiles what the tests import, once, into its home (venv_env).
        run([python(venv), "-m", "pip", "install", "--quiet", "--no-compile", str(wheel), *install], cwd=home)
        complete.write_text(json.dumps(inputs) + "\n")
    else:
        run([python(venv), "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", str(wheel)], home)
        complete.touch()  # used now: not stale
    run([python(venv), "-m", "pip", "check"], cwd=home)
    _remove_stale(name)
    return venv


VENVS = Path(tempfile.gettempdir())
STALE_AFTER = 3600  # seconds a cached environment may go unused before a run removes it (each is 0.7 GB)
LOCK_WAIT = 20 * 60  # seconds to wait for another run to release an environment
_held: dict[str, Any] = {}  # this run's environments and their open lock files: released when the process ends


def _lock(home: Path, wait: float) -> Any:
    """The lock file of ``home``, locked exclusively, waiting up to ``wait`` seconds; None if still held."""
    handle = open(home.parent / f"{home.name}.lock", "w")  # noqa: SIM115 - held until the process ends
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.close()
                return None
            time.sleep(1)


def _hold(home: Path) -> None:
    if home.name in _held:
        return
    handle = _lock(home, LOCK_WAIT)
    if handle is None:
        pytest.fail(f"another test run has held {home} for {LOCK_WAIT} s: is one still running?", pytrace=False)
    _held[home.name] = handle


def _remove_stale(name: str) -> None:
    """Remove the environments of ``name`` no run has used for ``STALE_AFTER`` and none holds now."""
    for home in VENVS.glob(f"cdk-processing-{name}-venv-*"):
        if not home.is_dir() or home.name in _held:
            continue
        marker = home / "installed"
        used = (marker if marker.exists() else home).stat().st_mtime
        if time.time() - used < STALE_AFTER:
            continue
        handle = _lock(home, 0)
        if handle is None:
            continue  # another run is using it
        shutil.rmtree(home, ignore_errors=True)
        Path(handle.name).unlink()
        handle.close()


def python(venv: Path) -> str:
    return str(venv / "bin" / "python")


def venv_env(venv: Path, **extra: str) -> dict[str, str]:
    """``ENV`` for a run of ``venv``'s Python (and ``extra``): its bytecode written, under the cached environment's
    home, so that aws-cdk-lib's modules compile once, not in every process (about 10 s each), and nothing is written
    beside the sources it runs (the checkout's examples/)."""
    env = {**ENV, "PYTHONPYCACHEPREFIX": str(venv.parent / "pycache"), **extra}
    env.pop("PYTHONDONTWRITEBYTECODE")
    return env


def test_a_run_removes_only_environments_unused_for_an_hour_and_held_by_no_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "VENVS", tmp_path)
    stale = time.time() - STALE_AFTER - 60
    homes = {n: tmp_path / f"cdk-processing-user-venv-{n}" for n in ("old", "recent", "held", "mine")}
    for home in homes.values():
        (home / "venv").mkdir(parents=True)
        (home / "installed").write_text("[]\n")
        if home.name != homes["recent"].name:
            os.utime(home / "installed", (stale, stale))
    other_run = _lock(homes["held"], 0)  # another run's lock (a lock of its own, as another process holds one)
    monkeypatch.setitem(_held, homes["mine"].name, None)
    (tmp_path / "cdk-processing-py3.12-venv-old").mkdir()  # another name: left to its own runs
    try:
        _remove_stale("user")
    finally:
        other_run.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cdk-processing-py3.12-venv-old",
        homes["held"].name,
        f"{homes['held'].name}.lock",
        homes["mine"].name,
        homes["recent"].name,
    ]


# -- the wheel and the sdist -----------------------------------------------------------------------------------------


def test_the_wheel_holds_the_package_its_data_types_and_license(dists: Dists) -> None:
    with zipfile.ZipFile(dists.wheel) as archive:
        names = set(archive.namelist())
    package = ROOT / "src" / "cdk_processing"
    expected = {
        f"cdk_processing/{p.relative_to(package).as_posix()}"
        for pattern in ("*.py", "py.typed", "handler/*.py", "data/*.json")
        for p in package.glob(pattern)
    }
    assert "cdk_processing/py.typed" in expected and "cdk_processing/handler/index.py" in expected
    assert "cdk_processing/data/framework_images.json" in expected
    assert expected <= names, sorted(expected - names)
    dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
    assert f"{dist_info}/licenses/LICENSE" in names
    # Nothing but the package and its metadata: no tests, examples or caches.
    assert {n.split("/")[0] for n in names} == {"cdk_processing", dist_info}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]

    meta = dists.metadata
    assert meta["Name"] == "cdk-processing"
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["Requires-Python"] == ">=3.10"
    classifiers = meta.get_all("Classifier")
    assert "Typing :: Typed" in classifiers and "Framework :: AWS CDK :: 2" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]  # the license expression says it
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert set(urls) >= {"Homepage", "Source", "Issues", "Documentation"}
    assert all(u.startswith("https://") for u in urls.values())
    assert "Use it in your app" in meta.get_payload()  # the README is the long description
    assert set(dists.floors()) == FLOORED


def test_the_sdist_holds_the_tests_their_helpers_and_what_they_read(dists: Dists) -> None:
    with tarfile.open(dists.sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        names = {n.removeprefix(top + "/") for n in archive.getnames()}
    tracked = subprocess.run(
        ["git", "ls-files", "test", "examples", "tools", "bench", "src"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert tracked, "not a git checkout"
    assert set(tracked) <= names, sorted(set(tracked) - names)
    for helper in ("cfn.py", "emulator.py", "harness.py", "model.py", "stacks.py", "conftest.py"):
        assert f"test/{helper}" in names
    for top_file in ("LICENSE", "README.md", "pyproject.toml", "Makefile", "constraints.txt", "cdk.json"):
        assert top_file in names
    assert {"package.json", "package-lock.json", "PKG-INFO"} <= names
    assert not [n for n in names if n.startswith(("cdk.out", ".venv", "node_modules")) or "__pycache__" in n]


# -- the floors ------------------------------------------------------------------------------------------------------


def test_the_venv_has_exactly_the_declared_floors_and_the_built_wheel(dists: Dists, user_venv: Path) -> None:
    names = sorted(FLOORED)
    script = (
        "import importlib.metadata as m, json, cdk_processing;"
        f"print(json.dumps({{'versions': {{n: m.version(n) for n in {names!r}}}, 'file': cdk_processing.__file__}}))"
    )
    found = json.loads(run([python(user_venv), "-c", script], cwd=user_venv, env=venv_env(user_venv)))
    assert found["versions"] == dists.floors()
    assert Path(found["file"]).is_relative_to(user_venv)  # the installed wheel, not the checkout


def test_the_floors_synthesize_the_example_app(user_venv: Path, tmp_path: Path) -> None:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    env = venv_env(user_venv, CDK_OUTDIR=str(tmp_path), CDK_CONTEXT_JSON=json.dumps(context))
    # Run as the cdk CLI runs it; its directory (examples/) is first on sys.path, so the library is the wheel's.
    run([python(user_venv), str(ROOT / "examples" / "app.py")], cwd=ROOT, env=env)
    template = json.loads((tmp_path / "ChurnPipeline.template.json").read_text())
    types = [r["Type"] for r in template["Resources"].values()]
    assert types.count("Custom::SageMakerProcessingJob") == 2


def test_the_floors_accept_every_instance_type_constant(user_venv: Path, tmp_path: Path) -> None:
    """Each ``InstanceType`` constant is one the floor botocore's model lists (``ml.m7i.xlarge`` is not before
    1.38.37): a job on each synthesizes."""
    (tmp_path / "every_instance_type.py").write_text(
        textwrap.dedent(
            """
            import aws_cdk as cdk
            from cdk_processing import ContainerImage, InstanceType, ProcessingJob

            app = cdk.App(outdir="cdk.out")
            stack = cdk.Stack(app, "Types")
            image = ContainerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1")
            names = [n for n, v in vars(InstanceType).items() if isinstance(v, InstanceType)]
            for name in names:
                ProcessingJob(stack, name, image=image, instance_type=getattr(InstanceType, name))
            app.synth()
            print(len(names))
            """
        )
    )
    count = int(run([python(user_venv), "every_instance_type.py"], cwd=tmp_path, env=venv_env(user_venv)))
    assert count >= 20
    template = json.loads((tmp_path / "cdk.out" / "Types.template.json").read_text())
    assert [r["Type"] for r in template["Resources"].values()].count("Custom::SageMakerProcessingJob") == count


# -- the other Pythons ------------------------------------------------------------------------------------------------

# The minor versions the classifiers declare; the suite runs on its own, the test below on each of the others.
DECLARED = re.findall(r'"Programming Language :: Python :: (3\.\d+)"', (ROOT / "pyproject.toml").read_text())
OWN = "{}.{}".format(*sys.version_info[:2])


def find_python(minor: str) -> tuple[str, str] | None:
    """Python ``minor`` (``"3.12"``) on this machine, ``python3.12`` on the PATH or else pyenv's newest 3.12.x: its
    path and ``sys.version``, or None (a pyenv shim of a version not selected is on the PATH but does not run)."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    installed = {
        p.name: p / "bin" / f"python{minor}" for p in versions.glob(f"{minor}.*") if re.fullmatch(r"[\d.]+", p.name)
    }
    newest = sorted(installed, key=lambda v: [int(n) for n in v.split(".")], reverse=True)
    for candidate in [shutil.which(f"python{minor}"), *(installed[v] for v in newest)]:
        if candidate is None:
            continue
        probe = subprocess.run(
            [str(candidate), "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0 and probe.stdout.startswith(f"{minor}."):
            return str(candidate), probe.stdout.strip()
    return None


def test_the_declared_pythons_are_the_floor_and_up_with_the_suite_s_own(dists: Dists) -> None:
    minors = [int(v.split(".")[1]) for v in DECLARED]
    assert minors == list(range(minors[0], minors[0] + len(minors))), DECLARED  # no gap
    assert dists.metadata["Requires-Python"] == f">={DECLARED[0]}"
    assert OWN in DECLARED  # and the others are tested below


@pytest.mark.parametrize("minor", [v for v in DECLARED if v != OWN])
def test_the_wheel_synthesizes_the_example_app_on_each_other_declared_python(
    minor: str, dists: Dists, example_template: dict[str, Any], tmp_path: Path
) -> None:
    """On each declared Python other than the suite's, the wheel installed with the pinned constraints (as ``make
    install``) imports with its command line and every public name, and synthesizes examples/app.py as on this one."""
    found = find_python(minor)
    if found is None:
        pytest.skip(f"no Python {minor} here: no working python{minor} on the PATH nor under pyenv's versions/")
    constraints = ROOT / "constraints.txt"
    install = ["--constraint", str(constraints)]
    venv = cached_venv(f"py{minor}", *found, dists.wheel, install, constraints.read_text())
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    env = venv_env(venv, CDK_OUTDIR=str(tmp_path), CDK_CONTEXT_JSON=json.dumps(context))
    # In one process (one jsii start): every module of the package, then the app as the cdk CLI runs it.
    app = ROOT / "examples" / "app.py"
    script = (
        "import runpy, sys, cdk_processing, cdk_processing.cli;"
        "[getattr(cdk_processing, n) for n in cdk_processing.__all__];"
        "print(cdk_processing.__file__, '%d.%d' % sys.version_info[:2]);"
        f"sys.path[0] = {str(app.parent)!r}; runpy.run_path({str(app)!r}, run_name='__main__')"
    )
    file, version = run([python(venv), "-c", script], cwd=ROOT, env=env).splitlines()[0].split()
    assert Path(file).is_relative_to(venv) and version == minor
    template = json.loads((tmp_path / "ChurnPipeline.template.json").read_text())
    resources, expected = template["Resources"], example_template["Resources"]
    assert len(resources) == len(expected)
    assert {k: r["Type"] for k, r in resources.items()} == {k: r["Type"] for k, r in expected.items()}


# -- a user's app ----------------------------------------------------------------------------------------------------

USER_APP = '''
"""A user's app: a preprocessing job and an evaluation job that reads its output."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_processing import (
    Code,
    Completion,
    ContainerImage,
    Framework,
    InstanceType,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
)

HERE = Path(__file__).resolve().parent


class TwoJobs(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        bucket = s3.Bucket(self, "Data", enforce_ssl=True)
        prep: ProcessingJob = ProcessingJob(
            self,
            "Prep",
            image=ContainerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1.0"),
            entrypoint=["python3", "/app/prep.py"],
            arguments=["--train-ratio", "0.8"],
            environment={"LOG_LEVEL": "INFO"},
            instance_type=InstanceType.M5_XLARGE,
            max_runtime=cdk.Duration.minutes(30),
            completion=Completion.wait(),
            inputs=[ProcessingInput.from_bucket("raw", bucket, "raw/")],
            outputs=[ProcessingOutput.to_bucket("train", bucket, "prepared/train/")],
        )
        evaluate = ProcessingJob(
            self,
            "Evaluate",
            image=ContainerImage.from_framework(Framework.SKLEARN, "1.2-1"),
            code=Code.from_asset(str(HERE / "evaluate.py")),
            instance_type=InstanceType.of("ml.m5.large"),
            inputs=[ProcessingInput.from_output("train", prep, "train")],
            outputs=[ProcessingOutput.to_bucket("report")],
        )
        report: str = evaluate.output_uri("report")
        cdk.CfnOutput(self, "Report", value=report)
        cdk.CfnOutput(self, "PrepStatus", value=prep.processing_job_status)


app = cdk.App()
TwoJobs(app, "TwoJobs")
app.synth()
'''

# Wrong on purpose: mypy must see the library's types (py.typed) to reject these.
BAD_APP = """
import aws_cdk as cdk

from cdk_processing import ContainerImage, ProcessingJob

stack = cdk.Stack(cdk.App(), "Bad")
ProcessingJob(stack, "Job", image=ContainerImage.from_registry("a/b:1"), instance_count="2")
ProcessingJob(stack, "Other", image="a/b:1")
"""


@pytest.fixture(scope="module")
def user_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    app = tmp_path_factory.mktemp("user-app")  # outside the repository: no pyproject, cdk.json or mypy config
    (app / "app.py").write_text(USER_APP.lstrip())
    (app / "evaluate.py").write_text("print('evaluating')\n")
    (app / "bad.py").write_text(BAD_APP.lstrip())
    return app


def test_a_user_app_passes_mypy_strict_against_the_installed_wheel(user_venv: Path, user_app: Path) -> None:
    # One run for both files: app.py must have no error, bad.py exactly its two (mypy reads the wheel's annotations).
    command = [python(user_venv), "-m", "mypy", "--strict", "--cache-dir", str(user_venv.parent / "mypy-cache")]
    result = subprocess.run(
        [*command, "app.py", "bad.py"],
        cwd=user_app,
        env=venv_env(user_venv),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert result.returncode == 1 and len(errors) == 2, result.stdout + result.stderr
    assert errors[0].startswith("bad.py:") and errors[1].startswith("bad.py:"), errors
    assert 'Argument "instance_count" to "ProcessingJob" has incompatible type "str"' in errors[0]
    assert 'Argument "image" to "ProcessingJob" has incompatible type "str"' in errors[1]
    assert "Found 2 errors in 1 file (checked 2 source files)" in result.stdout


def test_a_user_app_synthesizes_with_the_pinned_cdk_cli(user_venv: Path, user_app: Path) -> None:
    cdk = ROOT / "node_modules" / ".bin" / "cdk"
    assert cdk.exists(), "the pinned cdk CLI is missing: run make install (npm ci)"
    app = f"{python(user_venv)} app.py"
    command = [str(cdk), "synth", "--no-notices", "--quiet", "--app", app, "--output", "cdk.out"]
    run(command, cwd=user_app, env=venv_env(user_venv))
    template = json.loads((user_app / "cdk.out" / "TwoJobs.template.json").read_text())
    jobs = {k: r for k, r in template["Resources"].items() if r["Type"] == "Custom::SageMakerProcessingJob"}
    [prep] = [k for k, r in jobs.items() if r["Metadata"]["aws:cdk:path"].startswith("TwoJobs/Prep/")]
    [evaluate] = [k for k, r in jobs.items() if r["Metadata"]["aws:cdk:path"].startswith("TwoJobs/Evaluate/")]
    # Reading Prep's output makes Evaluate run after it: its request refers to Prep's attributes.
    assert f'"Fn::GetAtt": ["{prep}", ' in json.dumps(jobs[evaluate]["Properties"]["Request"])
    assert "Mappings" in template  # the framework image per region, from the wheel's data/framework_images.json
    manifest = json.loads((user_app / "cdk.out" / "TwoJobs.assets.json").read_text())
    assert len(manifest["files"]) >= 2  # the handler (the wheel's handler/*.py) and evaluate.py


# -- the sdist's tests (last: they ran in the background meanwhile) ---------------------------------------------------


def test_the_sdist_s_tests_run_from_the_unpacked_sdist(sdist_tests: SdistTests) -> None:
    returncode = sdist_tests.process.wait(timeout=600)
    output = sdist_tests.log.read_text()
    assert returncode == 0, output[-6000:]
    passed = re.search(r"(\d+) passed, (\d+) deselected", output)
    assert passed and int(passed[1]) >= 20 and int(passed[2]) >= 400, output[-2000:]
