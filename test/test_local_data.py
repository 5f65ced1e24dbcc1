"""Local data folders (``ProcessingInput.from_asset``, ``TrainingInput.from_asset``) travel as the CDK asset zip
wherever the library controls the job's entrypoint (``code`` or ``entrypoint`` given): downloaded as the input, and
unpacked at the input's local path by the library's entrypoint wrapper before the job's command runs. No
``BucketDeployment`` then; a job running its image's own ENTRYPOINT, or a channel read in FastFile or Pipe mode,
keeps the copy.

The evidence: the synthesized requests and resources (one app for the module); the stack deployed through the
lifecycle harness into the SageMaker emulator, where the created job's input points at the asset zip and its
entrypoint unpacks to the input's LocalPath; and the wrapper's shell command RUN here, on zips made by the pinned
CDK CLI's own zip function (``node_modules/aws-cdk``), with a temporary folder standing in for the container's
``/opt/ml/processing/input``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from cdk_processing import (
    Code,
    ContainerImage,
    InputMode,
    ProcessingInput,
    ProcessingJob,
    ProcessingJobValidationError,
    TrainingInput,
    TrainingJob,
)
from cdk_processing.handler import kinds
from cfn import Provider, job_resources, resolve
from emulator import ACCOUNT, REGION, Outcome, SageMakerEmulator
from harness import DeployedStack, describe

ROOT = Path(__file__).resolve().parent.parent
IMAGE = ContainerImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1.0")
INPUT_ROOT = "/opt/ml/processing/input"
ASSETS_BUCKET = f"cdk-hnb659fds-assets-{ACCOUNT}-{REGION}"
# The job's command: what it finds under its first argument (each file's text), its process id and its arguments.
LISTER = (
    "import json,os,sys;r=sys.argv[1];print(json.dumps({'pid':os.getpid(),'argv':sys.argv[1:],'files':"
    "{os.path.relpath(os.path.join(d,n),r):open(os.path.join(d,n)).read() for d,_,ns in os.walk(r) for n in ns}}))"
)
SHELL_LISTER = 'cd "$1" && find . -type f | sort && echo "pid $$"'


@dataclass
class App:
    template: dict[str, Any]
    assembly: Path
    jobs: dict[str, ProcessingJob | TrainingJob]

    def resource(self, path: str) -> tuple[str, dict[str, Any]]:
        """The job resource (logical id, resource) under the construct path ``LocalData/<path>/``."""
        [found] = [
            (k, r)
            for k, r in job_resources(self.template).items()
            if r["Metadata"]["aws:cdk:path"].startswith(f"LocalData/{path}/")
        ]
        return found

    def request(self, path: str) -> dict[str, Any]:
        return dict(resolve(self.resource(path)[1]["Properties"]["Request"], self.template))

    def copies(self, path: str) -> list[str]:
        """The BucketDeployments that copy files for the job ``path``."""
        return [
            r["Metadata"]["aws:cdk:path"]
            for r in self.template["Resources"].values()
            if r["Type"] == "Custom::CDKBucketDeployment"
            and r["Metadata"]["aws:cdk:path"].startswith(f"LocalData/{path}/")
        ]

    def staged(self, key: str) -> Path:
        """The folder the CDK CLI zips into the asset object ``key`` (as cdk deploy publishes it)."""
        assets = json.loads((self.assembly / "LocalData.assets.json").read_text())["files"]
        [source] = [
            a["source"]
            for a in assets.values()
            if key in [d["objectKey"] for d in a["destinations"].values()] and a["source"].get("packaging") == "zip"
        ]
        return self.assembly / source["path"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with a nested file and a dot file, and a single file beside it."""
    root = tmp_path_factory.mktemp("data")
    tables = root / "tables"
    (tables / "nested").mkdir(parents=True)
    (tables / "a.csv").write_text("a,b\n1,2\n")
    (tables / "nested" / "b.csv").write_text("c\n3\n")
    (tables / ".meta").write_text("dot files travel too\n")
    (root / "config.json").write_text('{"threshold": 0.5}\n')
    (root / "train.py").write_text("print('training')\n")
    return root


@pytest.fixture(scope="module")
def app(data: Path) -> App:
    cdk_app = cdk.App(context={"aws:cdk:enable-path-metadata": True})
    stack = cdk.Stack(cdk_app, "LocalData")
    jobs: dict[str, ProcessingJob | TrainingJob] = {}
    tables, config = str(data / "tables"), str(data / "config.json")
    jobs["entry"] = ProcessingJob(
        stack,
        "Entry",
        image=IMAGE,
        entrypoint=["python3", "-c", LISTER],
        arguments=[INPUT_ROOT, "--verbose"],
        inputs=[ProcessingInput.from_asset("tables", tables), ProcessingInput.from_asset("config", config)],
    )
    jobs["shell"] = ProcessingJob(
        stack,
        "Shell",
        image=IMAGE,
        entrypoint=["/bin/sh", "-c", SHELL_LISTER, "lister"],
        arguments=["/opt/ml/processing/tables"],
        inputs=[ProcessingInput.from_asset("tables", tables, local_path="/opt/ml/processing/tables")],
    )
    jobs["image"] = ProcessingJob(stack, "Image", image=IMAGE, inputs=[ProcessingInput.from_asset("tables", tables)])
    late = ProcessingJob(stack, "Late", image=IMAGE, code=Code.from_asset(str(data / "train.py")))
    late.add_input(ProcessingInput.from_asset("tables", tables))  # after the job was made: still unpacked
    jobs["late"] = late
    jobs["train"] = TrainingJob(
        stack,
        "Train",
        image=IMAGE,
        entrypoint=["python3", "/opt/program/train.py"],
        inputs=[
            TrainingInput.from_asset("tables", tables),
            TrainingInput.from_asset("fast", tables, input_mode=InputMode.FAST_FILE),
        ],
    )
    assembly = cdk_app.synth()
    return App(dict(assembly.get_stack_by_name("LocalData").template), Path(assembly.directory), jobs)


def _wrapped(entrypoint: list[str]) -> tuple[str, list[str], list[str]]:
    """The wrapper's script, the zips it unpacks and the command it execs."""
    assert entrypoint[:2] == ["/bin/sh", "-c"] and entrypoint[3] == "sh", entrypoint
    end = entrypoint.index("--")
    return entrypoint[2], entrypoint[4:end], entrypoint[end + 1 :]


def _input(request: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(next(i["S3Input"] for i in request["ProcessingInputs"] if i["InputName"] == name))


# -- what synth makes ------------------------------------------------------------------------------------------------


def test_a_job_with_an_entrypoint_downloads_each_data_folder_as_its_asset_zip_and_unpacks_it(app: App) -> None:
    request = app.request("Entry")
    _, zips, command = _wrapped(request["AppSpecification"]["ContainerEntrypoint"])
    assert command == ["python3", "-c", LISTER]  # the entrypoint as given, exec'd with the job's arguments
    assert request["AppSpecification"]["ContainerArguments"] == [INPUT_ROOT, "--verbose"]
    expected = []
    for name in ("tables", "config"):  # a folder, and a single file (the zip of the file alone)
        s3_input = _input(request, name)
        bucket, key = s3_input["S3Uri"].removeprefix("s3://").split("/", 1)
        assert bucket == ASSETS_BUCKET and key.endswith(".zip") and "/" not in key
        assert s3_input["LocalPath"] == f"{INPUT_ROOT}/{name}" and s3_input["S3DataType"] == "S3Prefix"
        expected.append(f"{INPUT_ROOT}/{name}/{key}")
    assert zips == expected
    assert app.copies("Entry") == []
    # The role reads exactly those objects of the bootstrap bucket.
    policy = json.dumps([r for k, r in app.template["Resources"].items() if k.startswith("EntryRoleManagedPolicy")])
    for zip_path in expected:
        assert f"/{zip_path.rsplit('/', 1)[1]}" in policy


def test_a_job_running_its_image_s_entrypoint_keeps_the_copy_with_the_file_names(app: App) -> None:
    request = app.request("Image")
    assert "ContainerEntrypoint" not in request["AppSpecification"]  # nothing to wrap: the image's ENTRYPOINT runs
    uri = _input(request, "tables")["S3Uri"]
    assert "/cdk-processing/" in uri and "/inputs/tables/" in uri and not uri.endswith(".zip")
    assert ["/".join(p.split("/")[:3]) for p in app.copies("Image")] == ["LocalData/Image/InputtablesFiles"]


def test_the_stack_has_the_copy_function_only_for_the_jobs_that_need_it(app: App) -> None:
    types = [r["Type"] for r in app.template["Resources"].values()]
    # Image's folder and Train's FastFile channel: two copies, one function, layer per copy.
    assert types.count("Custom::CDKBucketDeployment") == 2
    copied = {p.split("/")[1] for p in [*app.copies("Image"), *app.copies("Train")]}
    assert copied == {"Image", "Train"}


def test_an_input_added_after_the_job_was_made_is_unpacked_too(app: App) -> None:
    request = app.request("Late")
    _, zips, command = _wrapped(request["AppSpecification"]["ContainerEntrypoint"])
    key = _input(request, "tables")["S3Uri"].rsplit("/", 1)[1]
    code = _input(request, "code")["S3Uri"].rsplit("/", 1)[1]
    assert zips == [f"{INPUT_ROOT}/tables/{key}"]  # a single script: no zip of its own
    assert command == ["python3", f"{INPUT_ROOT}/code/{code}"]


def test_a_training_channel_read_as_files_is_unpacked_and_one_in_fast_file_mode_is_copied(app: App) -> None:
    request = app.request("Train")
    _, zips, command = _wrapped(request["AlgorithmSpecification"]["ContainerEntrypoint"])
    assert command == ["python3", "/opt/program/train.py"]
    channels = {c["ChannelName"]: c for c in request["InputDataConfig"]}
    uri = channels["tables"]["DataSource"]["S3DataSource"]["S3Uri"]
    assert uri.startswith(f"s3://{ASSETS_BUCKET}/") and uri.endswith(".zip")
    assert zips == ["/opt/ml/input/data/tables/" + uri.rsplit("/", 1)[1]]
    fast = channels["fast"]
    assert fast["InputMode"] == "FastFile" and "/inputs/fast/" in fast["DataSource"]["S3DataSource"]["S3Uri"]
    assert ["/".join(p.split("/")[:3]) for p in app.copies("Train")] == ["LocalData/Train/InputfastFiles"]


def test_a_job_whose_code_channel_is_not_read_as_files_gets_it_as_a_file(data: Path) -> None:
    piped = cdk.App()
    stack = cdk.Stack(piped, "Piped")
    TrainingJob(stack, "Job", image=IMAGE, code=Code.from_asset(str(data / "train.py")), input_mode=InputMode.PIPE)
    [resource] = job_resources(piped.synth().get_stack_by_name("Piped").template).values()
    [code] = resource["Properties"]["Request"]["InputDataConfig"]
    assert code["ChannelName"] == "code" and code["InputMode"] == "File"  # the script must be a file to run


# -- limits, at synth ------------------------------------------------------------------------------------------------


def test_an_entrypoint_too_long_for_the_wrapper_is_refused_when_a_data_folder_is_added(data: Path) -> None:
    def job(items: int) -> ProcessingJob:
        return ProcessingJob(
            cdk.Stack(cdk.App(), "S"),
            "J",
            image=IMAGE,
            entrypoint=["x"] * items,
            inputs=[ProcessingInput.from_asset("tables", str(data / "tables"))],
        )

    job(94)  # the wrapper's five items, one zip, the entrypoint's 94: SageMaker's 100
    with pytest.raises(ProcessingJobValidationError) as raised:
        job(95)
    message = str(raised.value)
    assert message.startswith("S/J: inputs[tables].path is '/opt/ml/processing/input/tables/")
    assert "is a zip the job's entrypoint unpacks, one item of its own: the entrypoint would have 101 items" in message
    assert "(the wrapper's 5, 1 zips, the entrypoint's 95), SageMaker takes at most 100" in message


def test_an_interpreter_too_long_for_the_wrapper_s_script_is_refused(data: Path) -> None:
    python = "/opt/" + "v" * 150 + "/bin/python3"  # the script names it twice: past 256 characters
    with pytest.raises(ProcessingJobValidationError) as raised:
        ProcessingJob(
            cdk.Stack(cdk.App(), "S"),
            "J",
            image=IMAGE,
            entrypoint=[python, "/app/run.py"],
            inputs=[ProcessingInput.from_asset("tables", str(data / "tables"))],
        )
    message = str(raised.value)
    assert message.startswith("S/J: entrypoint[0] is '/opt/vvv")
    assert "the interpreter the job's entrypoint unpacks zips with, which makes its script" in message


def test_a_local_path_too_long_for_the_zip_s_entrypoint_item_is_refused(data: Path) -> None:
    local = "/opt/ml/processing/" + "d" * 170
    with pytest.raises(ProcessingJobValidationError) as raised:
        ProcessingJob(
            cdk.Stack(cdk.App(), "S"),
            "J",
            image=IMAGE,
            entrypoint=["run"],
            inputs=[ProcessingInput.from_asset("tables", str(data / "tables"), local_path=local)],
        )
    message = str(raised.value)
    assert message.startswith("S/J: inputs[tables].local_path is '/opt/ml/processing/ddd")
    assert "is where the job's entrypoint unpacks the folder's zip" in message
    assert "give a local path of at most 187 characters" in message  # 256 less '/<64 hex digits>.zip'


# -- deployed into the emulator --------------------------------------------------------------------------------------


def test_the_deployed_jobs_read_the_asset_zip_and_unpack_it_at_the_input_s_local_path(
    provider: Provider, emulator: SageMakerEmulator, app: App
) -> None:
    emulator.plan(Outcome("Completed", after_describes=1))
    stack = DeployedStack(provider, app.template)
    assert stack.deploy().ok
    entry = describe(kinds.PROCESSING, stack.physical[app.resource("Entry")[0]])
    _, zips, _ = _wrapped(entry["AppSpecification"]["ContainerEntrypoint"])
    inputs = {i["InputName"]: i["S3Input"] for i in entry["ProcessingInputs"]}
    for name in ("tables", "config"):
        uri = inputs[name]["S3Uri"]
        assert uri.startswith(f"s3://{ASSETS_BUCKET}/") and uri.endswith(".zip")
        assert f"{inputs[name]['LocalPath']}/{uri.rsplit('/', 1)[1]}" in zips
    train = describe(kinds.TRAINING, stack.physical[app.resource("Train")[0]])
    _, zips, _ = _wrapped(train["AlgorithmSpecification"]["ContainerEntrypoint"])
    [tables] = [c for c in train["InputDataConfig"] if c["ChannelName"] == "tables"]
    uri = tables["DataSource"]["S3DataSource"]["S3Uri"]
    assert zips == [f"/opt/ml/input/data/tables/{uri.rsplit('/', 1)[1]}"] and uri.startswith(f"s3://{ASSETS_BUCKET}/")


# -- the wrapper, run ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_zip(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Zip folders with the pinned CDK CLI's own function (the one ``cdk deploy`` publishes folder assets with):
    a copy of its bundle that hands out its internal zip module, beside links to the rest of the package."""
    package = ROOT / "node_modules" / "aws-cdk"
    assert (package / "lib" / "index.js").exists(), "the pinned cdk CLI is missing: run make install (npm ci)"
    bundle = (package / "lib" / "index.js").read_text()
    assert "var require_zip = __commonJS(" in bundle, "the CLI's bundle has no zip module any more: update this"
    copy = tmp_path_factory.mktemp("cdk-cli") / "aws-cdk"
    (copy / "lib").mkdir(parents=True)
    for entry in package.iterdir():
        if entry.name != "lib":
            (copy / entry.name).symlink_to(entry)
    for entry in (package / "lib").iterdir():
        if entry.name != "index.js":
            (copy / "lib" / entry.name).symlink_to(entry)
    (copy / "lib" / "index.js").write_text(bundle + "\n;globalThis.__cdkProcessingZip = require_zip;\n")

    def zip_folders(pairs: list[tuple[Path, Path]]) -> None:
        script = (
            f"require({json.dumps(str(copy / 'lib' / 'index.js'))});"
            "const zip = globalThis.__cdkProcessingZip();"
            "(async () => {"
            "  for (const [from, to] of JSON.parse(process.argv[1])) await zip.zipDirectory(from, to);"
            "})()"
            ".catch((e) => { console.error(e); process.exit(1); });"
        )
        payload = json.dumps([[str(a), str(b)] for a, b in pairs])
        subprocess.run(["node", "-e", script, payload], check=True, timeout=120, capture_output=True)

    return zip_folders


@pytest.fixture
def container(app: App, cli_zip: Any, tmp_path: Path) -> Any:
    """A job's entrypoint and arguments with ``/opt/ml/processing`` moved into a temporary folder, where each zip
    the entrypoint names is the CLI's zip of that asset, as SageMaker downloads it."""

    def prepare(path: str) -> tuple[list[str], Path]:
        request = app.request(path)
        spec = request["AppSpecification"]
        moved = [item.replace("/opt/ml/processing", str(tmp_path)) for item in [*spec["ContainerEntrypoint"]]]
        arguments = [a.replace("/opt/ml/processing", str(tmp_path)) for a in spec.get("ContainerArguments", [])]
        _, zips, _ = _wrapped(moved)
        pairs = []
        for archive in map(Path, zips):
            archive.parent.mkdir(parents=True, exist_ok=True)
            pairs.append((app.staged(archive.name), archive))
        cli_zip(pairs)
        return [*moved, *arguments], tmp_path

    return prepare


def test_the_wrapper_unpacks_the_cli_s_zips_at_each_input_s_path_and_execs_the_command(container: Any) -> None:
    command, root = container("Entry")
    zips = _wrapped(command)[1]
    assert all(Path(z).is_file() for z in zips)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    found = json.loads(out)
    assert found["pid"] == process.pid  # exec'd: the command replaced the wrapper's shell
    assert found["argv"] == [str(root / "input"), "--verbose"]  # the job's arguments reach the command
    assert found["files"] == {  # the files as they were, names kept, the zips gone
        "tables/a.csv": "a,b\n1,2\n",
        "tables/nested/b.csv": "c\n3\n",
        "tables/.meta": "dot files travel too\n",
        "config/config.json": '{"threshold": 0.5}\n',
    }


def test_an_image_without_python_unpacks_with_unzip(container: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    tools = tmp_path_factory.mktemp("bin")  # a PATH with unzip and the shell's tools, and no python3
    for tool in ("unzip", "rm", "find", "sort"):
        where = shutil.which(tool)
        assert where is not None, f"{tool} is needed to run this test"
        (tools / tool).symlink_to(where)
    assert shutil.which("python3", path=str(tools)) is None
    command, root = container("Shell")
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={"PATH": str(tools)}
    )
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "python3" in err  # tried first, not there
    assert out.splitlines() == ["./.meta", "./a.csv", "./nested/b.csv", f"pid {process.pid}"]
    assert sorted(p.name for p in (root / "tables").iterdir()) == [".meta", "a.csv", "nested"]


def test_a_zip_that_does_not_unpack_stops_the_job_before_its_command(container: Any) -> None:
    command, root = container("Entry")
    broken = Path(_wrapped(command)[1][1])
    broken.write_bytes(b"not a zip")
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert done.stdout == ""  # the command never ran
    assert not Path(_wrapped(command)[1][0]).exists()  # the first zip was unpacked (and removed) before
    assert (root / "input" / "tables" / "a.csv").exists()
