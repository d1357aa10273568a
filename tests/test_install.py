"""requirements.txt resolves under uv's default settings and under pip, taking torch's CPU build.

Streamlit Community Cloud installs requirements.txt with uv (and falls back to pip). uv's default index strategy
takes each package from the first index that has it, extra indexes before PyPI, and PyTorch's CPU index also
serves numpy, pillow, jinja2... in older versions: naming it with --extra-index-url, as the file once did, makes
uv fail on numpy while pip, which weighs every source, succeeds. Here a loopback server stands in for
download.pytorch.org (same paths) holding this machine's torch CPU wheel and numpy 2.1.2. A copy of the file
pointed at it is resolved in a dry run into an empty venv, from the repository root, with no user or system
configuration of either tool: every pin must come out as written, torch as its CPU build.
"""

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

uv = pytest.importorskip("uv", reason="uv is a dev requirement (pip install -r requirements-dev.txt)")

REPO = Path(__file__).resolve().parents[1]
PYTORCH = "https://download.pytorch.org"
TORCH_CPU = "2.13.0+cpu"
OLD_NUMPY = "2.1.2"  # PyTorch's CPU index serves numpy, in releases older than our pin
# requirements.txt before commit 8c5b514: resolves under pip, fails under uv (the case this test guards).
FORMER_REQUIREMENTS = f"""--extra-index-url {PYTORCH}/whl/cpu
torch==2.13.0
streamlit==1.67.0
altair==6.3.0
numpy==2.4.6
pandas==3.1.1
pydeck==0.9.3
"""


def pinned_versions(text):
    """{name: version} of the requirement lines that apply to this machine (markers evaluated)."""
    pins = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-")):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"requirements.txt must pin exact versions: {line}"
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def cached_wheel(cache, project, version, *pip_args):
    """This platform's wheel of project==version, fetched once by pip as this machine configures it."""
    pattern = f"{project}-{version}-*.whl"
    if not list(cache.glob(pattern)):
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"{project}=={version}",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
            "--dest",
            str(cache),
            *pip_args,
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=300, env={**os.environ, "PIP_RETRIES": "0"}
        )
        if not list(cache.glob(pattern)):
            reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"{project}=={version} is neither on this machine nor downloadable: {reason}")
    return sorted(cache.glob(pattern))[0]


def lay_out_like_pytorch(root, wheels):
    """Files in /whl/cpu/, one link page per project at /whl/cpu/<project>/, as on download.pytorch.org."""
    cpu = root / "whl" / "cpu"
    for wheel in wheels:
        project = wheel.name.split("-")[0]
        (cpu / project).mkdir(parents=True)
        (cpu / wheel.name).symlink_to(wheel)
        link = f'<a href="/whl/cpu/{quote(wheel.name)}">{wheel.name}</a>'
        (cpu / project / "index.html").write_text(f"<!DOCTYPE html><html><body>{link}</body></html>\n")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        """Requests are expected; keep pytest's output clean."""


@pytest.fixture(scope="module", autouse=True)
def pypi_reachable():
    try:
        urllib.request.urlopen(urllib.request.Request("https://pypi.org/simple/", method="HEAD"), timeout=10)
    except OSError as error:
        pytest.skip(f"PyPI is unreachable ({error}); both resolutions need it")


@pytest.fixture(scope="module")
def pytorch_stand_in(pytestconfig, tmp_path_factory):
    """Base URL of a loopback server laid out like download.pytorch.org, holding torch (CPU) and an old numpy."""
    cache = pytestconfig.cache.mkdir("install-test-wheels")
    torch_wheel = cached_wheel(cache, "torch", TORCH_CPU, "--find-links", f"{PYTORCH}/whl/cpu/torch/")
    numpy_wheel = cached_wheel(cache, "numpy", OLD_NUMPY)
    root = tmp_path_factory.mktemp("pytorch-stand-in")
    lay_out_like_pytorch(root, [torch_wheel, numpy_wheel])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=root))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def isolated(tmp_path_factory):
    """Environment for both tools: no PIP_*/UV_* settings, no user or system config, a throwaway uv cache."""
    home = tmp_path_factory.mktemp("installer-config")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_")) and k != "VIRTUAL_ENV"}
    env.update(
        XDG_CONFIG_HOME=str(home),
        XDG_CONFIG_DIRS=str(home),
        UV_CACHE_DIR=str(home / "uv-cache"),
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


@pytest.fixture(scope="module")
def empty_venv(tmp_path_factory, isolated):
    """A dry run into the test's own venv would find everything installed and resolve nothing."""
    venv = tmp_path_factory.mktemp("empty-venv") / "venv"
    subprocess.run(
        [uv.find_uv_bin(), "venv", "--quiet", "--python", sys.executable, str(venv)],
        env=isolated,
        cwd=REPO,
        check=True,
        timeout=60,
    )
    return venv / "bin" / "python"


def pointed_at(stand_in, text, tmp_path):
    """A copy of a requirements file whose PyTorch URLs lead to the stand-in."""
    assert PYTORCH in text, "the requirements name no PyTorch URL: nothing to point at the stand-in"
    copy = tmp_path / "requirements.txt"
    copy.write_text(text.replace(PYTORCH, stand_in))
    return copy


def uv_dry_run(requirements, python, env):
    """`uv pip install --dry-run -r`, uv's defaults, from the repository root, as Community Cloud runs it."""
    return subprocess.run(
        [uv.find_uv_bin(), "pip", "install", "--dry-run", "--python", str(python), "-r", str(requirements)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def uv_picks(output):
    """{name: version} from uv's ' + name==version' lines."""
    lines = [line.split("+ ", 1)[1] for line in output.splitlines() if line.startswith(" + ")]
    return {canonicalize_name(name): version for name, version in (line.split("==") for line in lines)}


def test_former_requirements_fail_under_uv_on_numpy(pytorch_stand_in, isolated, empty_venv, tmp_path):
    done = uv_dry_run(pointed_at(pytorch_stand_in, FORMER_REQUIREMENTS, tmp_path), empty_venv, isolated)
    assert done.returncode != 0, done.stdout
    assert f"`numpy` was found on {pytorch_stand_in}/whl/cpu, but not at the requested version" in done.stderr


def test_requirements_resolve_under_uv_with_every_pin(pytorch_stand_in, isolated, empty_venv, tmp_path):
    text = (REPO / "requirements.txt").read_text()
    done = uv_dry_run(pointed_at(pytorch_stand_in, text, tmp_path), empty_venv, isolated)
    assert done.returncode == 0, done.stderr
    picks = uv_picks(done.stderr + done.stdout)
    assert picks["torch"] == TORCH_CPU
    assert {name: picks.get(name) for name in pinned_versions(text)} == pinned_versions(text)


def test_requirements_resolve_under_pip_with_every_pin(pytorch_stand_in, isolated, tmp_path):
    text = (REPO / "requirements.txt").read_text()
    report = tmp_path / "report.json"
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--no-cache-dir",
        "--quiet",
        "--report",
        str(report),
        "-r",
        str(pointed_at(pytorch_stand_in, text, tmp_path)),
    ]
    done = subprocess.run(command, cwd=REPO, env=isolated, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    installs = json.loads(report.read_text())["install"]
    picks = {canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"] for item in installs}
    sources = {canonicalize_name(item["metadata"]["name"]): item["download_info"]["url"] for item in installs}
    assert picks["torch"] == TORCH_CPU
    assert {name: picks.get(name) for name in pinned_versions(text)} == pinned_versions(text)
    assert sources["torch"].startswith(pytorch_stand_in) and not sources["numpy"].startswith(pytorch_stand_in)
