"""`docker run` lines checked against Docker's own rules (the options the adapters use).

- Options come before the image; everything after the image is the container's command
  (docs.docker.com/reference/cli/docker/container/run: `docker run [OPTIONS] IMAGE
  [COMMAND] [ARG...]`); an option after the image goes to the engine, not Docker.
- Value-taking options consume the next word (`--name`, `--gpus`, `--ipc`, `--shm-size`,
  `-p`, `-v`, `-e`); `--init`, `--rm`, `-d` take none.
- `-p [IP:]HOST_PORT:CONTAINER_PORT`: the IP must be an IP address, not a name
  (docker/go-connections nat/nat.go ParsePortSpec: `invalid IP address: …`); ports 1-65535.
- `--name`: `[a-zA-Z0-9][a-zA-Z0-9_.-]+` (moby daemon/names: validContainerNamePattern).
- `-v SRC:DST[:ro|rw]`: absolute paths (a relative SRC would be a named volume).
- `-e NAME`: passed by name only, so secrets never appear in argv.
- `--gpus all` or `"device=0,1"` (a CSV value: a list of devices carries its own quotes).
"""

from __future__ import annotations

import ipaddress
import re

VALUE_OPTIONS = {"--name", "--gpus", "--ipc", "--shm-size", "-p", "-v", "-e"}
FLAG_OPTIONS = {"--init", "--rm", "-d"}
NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SHM_RE = re.compile(r"^\d+[bkmgBKMG]?$")
GPUS_RE = re.compile(r'^(all|\d+|"device=[\w,-]+")$')


def _port(text: str) -> bool:
    return text.isdigit() and 1 <= int(text) <= 65535


def check_publish(spec: str) -> str | None:
    parts = spec.split(":")
    if len(parts) < 3:
        return None if len(parts) == 2 and all(_port(p) for p in parts) else f"-p {spec}"
    ip, host_port, container_port = ":".join(parts[:-2]), parts[-2], parts[-1]
    if ip.startswith("["):
        ip = ip.strip("[]")
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return f"-p {spec}: invalid IP address: {ip}"
    if not (_port(host_port) and _port(container_port)):
        return f"-p {spec}: invalid port"
    return None


def split_run(argv: list[str]) -> tuple[dict[str, list[str]], str, list[str], list[str]]:
    """(options, image, command, problems) of a `docker run …` argv."""
    problems: list[str] = []
    if argv[:2] != ["docker", "run"]:
        return {}, "", [], [f"not a docker run line: {argv[:2]}"]
    opts: dict[str, list[str]] = {}
    i = 2
    while i < len(argv) and argv[i].startswith("-"):
        flag = argv[i]
        if flag in FLAG_OPTIONS:
            opts.setdefault(flag, []).append("")
            i += 1
        elif flag in VALUE_OPTIONS:
            if i + 1 >= len(argv):
                problems.append(f"{flag} has no value")
                break
            opts.setdefault(flag, []).append(argv[i + 1])
            i += 2
        else:
            problems.append(f"unknown docker run option {flag}")
            i += 1
    if i >= len(argv):
        return opts, "", [], [*problems, "no image"]
    image, command = argv[i], argv[i + 1 :]
    for name in opts.get("--name", []):
        if not NAME_RE.match(name):
            problems.append(f"--name {name!r}: Docker allows [a-zA-Z0-9][a-zA-Z0-9_.-]+")
    for spec in opts.get("-p", []):
        if err := check_publish(spec):
            problems.append(err)
    for vol in opts.get("-v", []):
        parts = vol.split(":")
        if len(parts) not in (2, 3) or not all(p.startswith("/") for p in parts[:2]):
            problems.append(f"-v {vol!r}: expected /abs/src:/abs/dst[:ro]")
        elif len(parts) == 3 and parts[2] not in ("ro", "rw"):
            problems.append(f"-v {vol!r}: mode {parts[2]!r}")
    for env in opts.get("-e", []):
        if not ENV_NAME_RE.match(env):
            problems.append(f"-e {env!r}: pass variables by name only")
    for gpus in opts.get("--gpus", []):
        if not GPUS_RE.match(gpus):
            problems.append(f"--gpus {gpus!r}")
    for shm in opts.get("--shm-size", []):
        if not SHM_RE.match(shm):
            problems.append(f"--shm-size {shm!r}")
    if not image or image.startswith("-") or " " in image:
        problems.append(f"image {image!r}")
    return opts, image, command, problems
