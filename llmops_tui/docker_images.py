"""Docker as an engine environment: which engine images are present.

Runs ``docker image ls --format json`` (one JSON object per line, keys
``Repository``, ``Tag``, ``ID``, ``Size``, ``CreatedSince`` — docker/cli
``cli/command/formatter/image.go``). A missing client, a daemon that is not
running and a permission problem are states with a message, never a crash.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field

# Repository (without tag) → engine, for the engines' official images.
ENGINE_REPOSITORIES = {
    "vllm/vllm-openai": "vllm",
    "docker.io/vllm/vllm-openai": "vllm",
    "lmsysorg/sglang": "sglang",
    "docker.io/lmsysorg/sglang": "sglang",
    "ghcr.io/huggingface/text-generation-inference": "tgi",
}

# States of the docker environment.
OK = "ok"
NOT_INSTALLED = "not-installed"
DAEMON_DOWN = "daemon-down"
PERMISSION_DENIED = "permission-denied"
ERROR = "error"


@dataclass(frozen=True)
class DockerImage:
    repository: str
    tag: str
    id: str = ""
    size: str = ""
    created: str = ""

    @property
    def ref(self) -> str:
        return (
            f"{self.repository}:{self.tag}"
            if self.tag and self.tag != "<none>"
            else self.repository
        )

    @property
    def engine(self) -> str | None:
        return ENGINE_REPOSITORIES.get(self.repository)


@dataclass(frozen=True)
class DockerState:
    state: str  # ok | not-installed | daemon-down | permission-denied | error
    message: str = ""
    images: list[DockerImage] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return self.state == OK

    def engine_images(self) -> list[DockerImage]:
        return [i for i in self.images if i.engine]

    def has(self, ref: str) -> bool:
        """Is the image ``ref`` (``repo:tag``; no tag means ``latest``) present?"""
        want = ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest"
        return any(
            i.ref == want or i.ref == f"docker.io/{want}" or f"docker.io/{i.ref}" == want
            for i in self.images
        )


def parse_image_lines(text: str) -> list[DockerImage]:
    images: list[DockerImage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if not isinstance(row, dict):
            continue
        images.append(
            DockerImage(
                repository=str(row.get("Repository", "")),
                tag=str(row.get("Tag", "")),
                id=str(row.get("ID", "")),
                size=str(row.get("Size", "")),
                created=str(row.get("CreatedSince", "")),
            )
        )
    return images


def classify_error(stderr: str) -> tuple[str, str]:
    """docker's error text → (state, message for the user)."""
    text = stderr.strip()
    first = text.splitlines()[0] if text else "docker failed without a message"
    low = text.lower()
    if "cannot connect to the docker daemon" in low or "is the docker daemon running" in low:
        return DAEMON_DOWN, (
            "the Docker daemon is not running (docker: " + first + "); "
            "start it (e.g. sudo systemctl start docker) to use container engines"
        )
    if "permission denied" in low:
        return PERMISSION_DENIED, (
            "no permission to talk to the Docker daemon; add your user to the 'docker' group "
            f"(docker: {first})"
        )
    return ERROR, f"docker image ls failed: {first}"


def docker_state(timeout: float = 15.0, docker: str = "docker") -> DockerState:
    exe = shutil.which(docker)
    if exe is None:
        return DockerState(NOT_INSTALLED, "docker is not installed (no 'docker' on PATH)")
    try:
        proc = subprocess.run(
            [exe, "image", "ls", "--format", "json"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return DockerState(ERROR, f"docker image ls did not answer within {timeout:g} s")
    except OSError as exc:
        return DockerState(ERROR, f"cannot run docker: {exc}")
    if proc.returncode != 0:
        state, message = classify_error(proc.stderr or proc.stdout)
        return DockerState(state, message)
    images = parse_image_lines(proc.stdout)
    return DockerState(OK, f"{len(images)} image(s)", images)
