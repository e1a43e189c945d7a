"""The real huggingface_hub client against tests/fixtures/fake_hub.py (HF_ENDPOINT → it).

Covers: search, details, download with progress callbacks, a connection cut
mid-file then resumed (a Range request), cancel, 401 gated, 404 repo/file, a
full disk (a real 1 MiB tmpfs when mount works — we run as root here — else
skipped with the reason), delete with the freed size shown first. After every
failure: no snapshot entry points at a partial blob, scan_cache lists nothing
half-written as complete.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures"))

from fake_hub import CONFIG, FakeFile

from llmops_tui import hub
from llmops_tui.hub.errors import DownloadCancelled, HubError
from llmops_tui.hub.settings import HubSettings


def _assert_nothing_half_complete(s: HubSettings) -> None:
    """Every snapshot entry resolves to a complete blob; partials only as *.incomplete."""
    for link in s.cache_dir.glob("models--*/snapshots/*/**/*"):
        if link.is_symlink() or link.is_file():
            target = link.resolve()
            assert not target.name.endswith(".incomplete"), link
            assert target.exists(), f"dangling {link}"


def test_search_and_details(settings):
    found = hub.search_models("acme", settings=settings)
    assert [r.repo_id for r in found] == ["acme/tiny", "acme/other"]
    assert found[0].downloads == 500
    by_likes = hub.search_models(None, sort="likes", settings=settings)
    assert by_likes[0].repo_id == "meta-llama/Gated-8B"
    gguf = hub.search_models(None, library="gguf", settings=settings)
    assert [r.repo_id for r in gguf] == ["acme/other"]

    d = hub.model_details("acme/tiny", settings=settings)
    assert d.source == "hub" and d.commit == "1" * 40
    assert d.params == 1_234_567 and d.license == "apache-2.0"
    sizes = {f.path: f.size for f in d.files}
    assert sizes["model-00002-of-00002.safetensors"] == 2 * 1024 * 1024 + 17
    assert d.config["num_hidden_layers"] == 2 and d.dtype == "bfloat16"
    # details must not write into the cache
    assert not list(settings.cache_dir.glob("models--*"))


def test_download_with_progress(settings, fake_hub):
    events: list[hub.DownloadProgress] = []
    res = hub.download("acme/tiny", settings=settings, progress=events.append)
    repo = fake_hub.repos["acme/tiny"]
    for name, f in repo.files.items():
        assert (res.snapshot_path / name).read_bytes() == f.data
    total = sum(len(f.data) for f in repo.files.values())
    assert res.downloaded_bytes == total and res.resumed_bytes == 0
    assert events[-1].state == "done" and events[-1].bytes_done == total == events[-1].bytes_total
    # progress is monotonic and shows per-file state
    done = [e.bytes_done for e in events]
    assert done == sorted(done)
    assert any(e.current == "model-00001-of-00002.safetensors" for e in events)
    assert {f.state for f in events[-1].files} == {"done"}
    # the CDN got no token-bearing request, and scan sees one complete revision
    report = hub.scan_cache(settings)
    m = report.find("acme/tiny")
    assert m is not None and m.size_on_disk == total and m.incomplete_bytes == 0
    assert m.revisions[0].refs == ("main",)
    # a second run downloads nothing
    again = hub.download("acme/tiny", settings=settings)
    assert again.downloaded_bytes == 0
    assert {f.state for f in again.files} == {"cached"}


def test_allow_patterns_and_revision(settings, fake_hub):
    res = hub.download("acme/tiny", revision="1" * 40, allow_patterns=["*.json"], settings=settings)
    assert [f.path for f in res.files] == ["config.json"]
    assert not (settings.cache_dir / "models--acme--tiny" / "refs" / "main").exists()
    with pytest.raises(HubError) as e:
        hub.download("acme/tiny", allow_patterns=["*.gguf"], settings=settings)
    assert e.value.kind == "entry_not_found" and "*.gguf" in e.value.message


def test_connection_cut_then_resume(settings, fake_hub):
    name = "model-00001-of-00002.safetensors"
    fake_hub.behaviour.drop_after = {name: 1024 * 1024 + 5}
    with pytest.raises(HubError) as e:
        hub.download("acme/tiny", settings=settings, retries=0)
    assert e.value.kind == "network"
    assert "resumes" in e.value.message and "kept on disk" in e.value.message
    blobs = settings.cache_dir / "models--acme--tiny" / "blobs"
    partials = list(blobs.glob("*.incomplete"))
    assert len(partials) == 1 and partials[0].stat().st_size == 1024 * 1024 + 5
    _assert_nothing_half_complete(settings)
    m = hub.scan_cache(settings).find("acme/tiny")
    # config.json is complete; the cut file is counted apart, not as cached
    assert m.incomplete_bytes == 1024 * 1024 + 5
    assert name not in {p.name for p in m.revisions[0].snapshot_path.iterdir()}

    fake_hub.requests.clear()
    res = hub.download("acme/tiny", settings=settings)
    assert res.resumed_bytes == 1024 * 1024 + 5
    ranges = [r["range"] for r in fake_hub.requests if r["role"] == "cdn" and r["method"] == "GET"]
    assert "bytes=1048581-" in ranges
    data = fake_hub.repos["acme/tiny"].files[name].data
    assert (res.snapshot_path / name).read_bytes() == data
    assert not list(blobs.glob("*.incomplete"))


def test_cut_is_retried_within_one_run(settings, fake_hub):
    name = "model-00002-of-00002.safetensors"
    fake_hub.behaviour.drop_after = {name: 500_000}
    res = hub.download("acme/tiny", settings=settings, retries=2)
    assert (res.snapshot_path / name).read_bytes() == fake_hub.repos["acme/tiny"].files[name].data


def test_cancel_between_chunks_keeps_partial(settings, fake_hub):
    fake_hub.behaviour.chunk_delay = 0.01
    cancel = threading.Event()

    def on_progress(p: hub.DownloadProgress) -> None:
        if p.bytes_done > 1_500_000:
            cancel.set()

    with pytest.raises(DownloadCancelled) as e:
        hub.download("acme/tiny", settings=settings, progress=on_progress, cancel=cancel)
    assert "re-run to resume" in e.value.message
    _assert_nothing_half_complete(settings)
    partial = list((settings.cache_dir / "models--acme--tiny" / "blobs").glob("*.incomplete"))
    assert partial and 0 < partial[0].stat().st_size < 3 * 1024 * 1024
    fake_hub.behaviour.chunk_delay = 0
    res = hub.download("acme/tiny", settings=settings)
    assert res.resumed_bytes > 0


def test_gated_repo_without_token(settings, fake_hub):
    with pytest.raises(HubError) as e:
        hub.download("meta-llama/Gated-8B", settings=settings)
    assert e.value.kind == "gated"
    msg = e.value.message
    assert f"{fake_hub.endpoint}/meta-llama/Gated-8B" in msg and "export HF_TOKEN" in msg
    _assert_nothing_half_complete(settings)
    assert not list(settings.cache_dir.glob("models--*/snapshots/*/*"))


def test_gated_repo_with_token(settings, fake_hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_good_token")
    s = HubSettings.from_env()
    assert s.token_source == "HF_TOKEN"
    res = hub.download("meta-llama/Gated-8B", settings=s)
    assert (res.snapshot_path / "config.json").read_bytes() == CONFIG
    resolves = [r for r in fake_hub.requests if "/resolve/" in r["path"]]
    assert resolves and all(r["auth"] == "Bearer hf_good_token" for r in resolves)


def test_token_never_sent_to_cdn(settings, fake_hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_good_token")
    hub.download("acme/tiny", settings=HubSettings.from_env())
    cdn = [r for r in fake_hub.requests if r["role"] == "cdn"]
    assert cdn and all(r["auth"] is None for r in cdn)


def test_missing_repo_and_file(settings):
    with pytest.raises(HubError) as e:
        hub.download("acme/nope", settings=settings)
    assert e.value.kind == "not_found"
    assert "acme/nope not found" in e.value.message and "HF_TOKEN" in e.value.message
    with pytest.raises(HubError) as e:
        hub.model_details("acme/nope", settings=settings)
    assert e.value.kind == "not_found"


def test_missing_file_404(settings, fake_hub):
    # the API lists a file the resolve route no longer has (deleted upstream)
    repo = fake_hub.repos["acme/tiny"]
    ghost = FakeFile(b"gone", lfs=False)
    repo.files["ghost.txt"] = ghost
    real_api_json = repo.api_json

    def api_json(blobs):
        repo.files.pop("ghost.txt", None)
        out = real_api_json(blobs)
        out["siblings"].append({"rfilename": "ghost.txt", "size": 4})
        return out

    repo.api_json = api_json
    with pytest.raises(HubError) as e:
        hub.download("acme/tiny", allow_patterns=["ghost.txt"], settings=settings)
    assert e.value.kind == "entry_not_found" and "ghost.txt" in e.value.message


def test_offline_mode(settings, monkeypatch):
    hub.download("acme/tiny", allow_patterns=["config.json"], settings=settings)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    s = HubSettings.from_env()
    with pytest.raises(HubError) as e:
        hub.download("acme/tiny", settings=s)
    assert e.value.kind == "offline" and "HF_HUB_OFFLINE" in e.value.message
    d = hub.model_details("acme/tiny", settings=s)  # from the cache
    assert d.source == "cache" and d.config["hidden_size"] == 64


def test_network_down(settings, fake_hub, monkeypatch):
    fake_hub.stop()
    with pytest.raises(HubError) as e:
        hub.download("acme/tiny", settings=settings, retries=0)
    assert e.value.kind == "network" and fake_hub.endpoint in e.value.message


def test_delete_shows_freed_size_first(settings, fake_hub):
    hub.download("acme/tiny", settings=settings)
    total = sum(len(f.data) for f in fake_hub.repos["acme/tiny"].files.values())
    plan = hub.plan_delete("acme/tiny", settings=settings)
    assert plan.whole_repo and plan.expected_freed_size == total
    assert "frees 5.0 MiB" in plan.describe()
    assert (settings.cache_dir / "models--acme--tiny").exists()  # nothing deleted yet
    plan.execute()
    assert hub.scan_cache(settings).find("acme/tiny") is None
    with pytest.raises(HubError) as e:
        hub.plan_delete("acme/tiny", settings=settings)
    assert e.value.kind == "not_cached"


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return r.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MiB tmpfs (root here); skipped with the reason when mount is not allowed."""
    mnt = tmp_path / "small-disk"
    if not _mount_tmpfs(mnt, "1m"):
        pytest.skip("cannot mount a tmpfs (needs root / CAP_SYS_ADMIN)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_refused_up_front(settings, fake_hub, small_disk):
    s = HubSettings(small_disk / "hub", settings.endpoint, None, None, False, settings.hf_home)
    with pytest.raises(HubError) as e:
        hub.download("acme/tiny", settings=s)
    assert e.value.kind == "disk_full"
    assert "free on the disk" in e.value.message and "Nothing was written" in e.value.message
    assert not list(small_disk.rglob("*.incomplete"))


def test_full_disk_while_writing(settings, fake_hub, small_disk):
    """ENOSPC from the real filesystem mid-file (the up-front check turned off)."""
    s = HubSettings(small_disk / "hub", settings.endpoint, None, None, False, settings.hf_home)
    with pytest.raises(HubError) as e:
        hub.download("acme/tiny", settings=s, check_space=False)
    assert e.value.kind == "disk_full"
    assert "no space left" in e.value.message and "HF_HUB_CACHE" in e.value.message
    _assert_nothing_half_complete(s)
    m = hub.scan_cache(s).find("acme/tiny")
    names = {p.name for r in m.revisions for p in r.snapshot_path.iterdir()} if m else set()
    assert "model-00001-of-00002.safetensors" not in names
    assert m is None or m.incomplete_bytes > 0


def test_invalid_repo_id(settings):
    with pytest.raises(HubError) as e:
        hub.model_details("not a repo", settings=settings)
    assert e.value.kind == "usage" and "not a valid repo id" in e.value.message


def test_offline_flag_follows_the_environment_not_import_time(settings, monkeypatch):
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = True  # as if imported while HF_HUB_OFFLINE=1 was set
    try:
        assert hub.search_models("acme", settings=settings)  # env now says online
    finally:
        constants.HF_HUB_OFFLINE = False
