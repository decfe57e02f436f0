"""Several replicas of the app behind nginx on this machine's loopback, as deploy/compose.yaml runs them.

Each replica is `deploy/serve` (the container image's command) on its own port; nginx runs with
deploy/nginx/convnet.conf, in which only the upstream's server lines, the listening port and the access log's path
are changed (:func:`nginx_config`). Used by ``make loadtest`` (bench/loadtest.py) and by
tests/e2e/test_nginx_affinity.py.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVE = ROOT / "deploy" / "serve"
NGINX_SITE = ROOT / "deploy" / "nginx" / "convnet.conf"
UPSTREAM_SERVER = re.compile(r"^(\s*)server app\d+:8501( [^;]*)?;\n", re.M)
TEMP_FOLDERS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")  # nginx's KIND_temp_path directives
LOG_LINE = re.compile(r"^(?P<msec>[\d.]+) (?P<method>\S+) (?P<uri>\S+) (?P<status>\d+) (?P<upstream>\S+) "
                      r"route=(?P<route>\S*)$")


def find_nginx() -> str | None:
    """Return the nginx binary's path, or None when nginx is not installed."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
                                          if Path(p).exists()), None)


def install_nginx() -> str:
    """Return nginx's path, installing Debian's package first if it is missing (needs root or sudo)."""
    found = find_nginx()
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "nginx"], check=True, env=env, stdout=subprocess.DEVNULL)
    found = find_nginx()
    if not found:
        raise RuntimeError("nginx is still not installed after apt-get install nginx")
    return found


def free_port() -> int:
    """Return a TCP port free on loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nginx_config(site: str, replica_ports: list[int], listen_port: int, access_log: Path) -> str:
    """Return deploy/nginx/convnet.conf's text ``site`` with its upstream servers on loopback ``replica_ports``,
    listening on ``listen_port`` and logging to ``access_log``; nothing else changes."""
    servers = UPSTREAM_SERVER.findall(site)
    if not servers:
        raise ValueError("deploy/nginx/convnet.conf has no `server appN:8501` lines in its upstream")
    indent, parameters = servers[0]
    local = "".join(f"{indent}server 127.0.0.1:{port}{parameters};\n" for port in replica_ports)
    text = UPSTREAM_SERVER.sub("", site, count=len(servers) - 1)
    text = UPSTREAM_SERVER.sub(lambda _: local, text, count=1)
    text = re.sub(r"^(\s*)listen 8080;", rf"\g<1>listen 127.0.0.1:{listen_port};", text, count=1, flags=re.M)
    return re.sub(r"^(\s*access_log )/var/log/nginx/convnet_access\.log", rf"\g<1>{access_log}", text, count=1,
                  flags=re.M)


@dataclass
class LogEntry:
    """One line of nginx's access log: when, what, which replica answered, for which browser (its route cookie)."""

    time: float
    method: str
    uri: str
    status: int
    upstream: str
    route: str


@dataclass
class Replica:
    """One `deploy/serve` process."""

    index: int
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def address(self) -> str:
        """Return host:port as nginx logs it in $upstream_addr."""
        return f"127.0.0.1:{self.port}"


class Cluster:
    """``replicas`` app processes and nginx in front of them, in ``workdir``; a context manager.

    ``env`` is added to each replica's environment (budget settings, CONVNET_THREADS).
    """

    def __init__(self, replicas: int, workdir: Path, env: dict[str, str] | None = None,
                 nginx: str | None = None) -> None:
        self.count, self.workdir, self.env = replicas, Path(workdir), dict(env or {})
        self.nginx_binary = nginx or find_nginx()
        if self.nginx_binary is None:
            raise RuntimeError("nginx is not installed (apt-get install -y nginx)")
        self.replicas: list[Replica] = []
        self.nginx: subprocess.Popen | None = None
        self.port = 0
        self.access_log = self.workdir / "access.log"

    @property
    def url(self) -> str:
        """Return the URL browsers use: nginx's."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Cluster":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = 180) -> None:
        """Start the replicas and nginx; return once nginx and every replica answer their health checks.

        Raises:
            RuntimeError: a replica or nginx exited or did not become healthy within ``timeout`` seconds.
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        for index in range(self.count):
            port = free_port()
            log = self.workdir / f"replica{index + 1}.log"
            env = {**os.environ, "PYTHON": sys.executable, "PORT": str(port), "ADDRESS": "127.0.0.1", **self.env}
            with log.open("w") as handle:
                process = subprocess.Popen([str(SERVE)], env=env, stdout=handle, stderr=subprocess.STDOUT,
                                           start_new_session=True)
            self.replicas.append(Replica(index + 1, port, process, log))
        self.port = free_port()
        self._start_nginx()
        deadline = time.monotonic() + timeout
        for replica in self.replicas:
            self._wait(f"http://{replica.address}/_stcore/health", replica.process, deadline, replica.log)
        self._wait(f"{self.url}/nginx-health", self.nginx, deadline, self.workdir / "nginx-error.log")

    def _start_nginx(self) -> None:
        site = self.workdir / "convnet.conf"
        site.write_text(nginx_config(NGINX_SITE.read_text(), [r.port for r in self.replicas], self.port,
                                     self.access_log))
        for kind in TEMP_FOLDERS:
            (self.workdir / "temp" / kind).mkdir(parents=True, exist_ok=True)
        error_log = self.workdir / "nginx-error.log"
        user = "user root root;\n" if os.geteuid() == 0 else ""  # workers write this folder's temp files
        main = self.workdir / "nginx.conf"
        main.write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {self.workdir / 'nginx.pid'};\nerror_log {error_log};\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            + "".join(f"    {kind}_temp_path {self.workdir / 'temp' / kind};\n" for kind in TEMP_FOLDERS)
            + f"    include {site};\n}}\n")
        self.nginx = subprocess.Popen([self.nginx_binary, "-e", str(error_log), "-p", str(self.workdir),
                                       "-c", str(main)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    @staticmethod
    def _wait(url: str, process: subprocess.Popen | None, deadline: float, log: Path) -> None:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.read().strip() == b"ok":
                        return
            except OSError:
                pass
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{url}: the process exited with {process.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} not healthy in time; see {log}")
            time.sleep(0.3)

    def kill(self, index: int) -> None:
        """SIGKILL replica ``index`` (1-based) and its children, as a crashed or evicted pod would go."""
        replica = self.replicas[index - 1]
        try:
            os.killpg(replica.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        replica.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop nginx and every replica (SIGTERM, then SIGKILL)."""
        processes = [r.process for r in self.replicas] + ([self.nginx] if self.nginx else [])
        for process in processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def log_entries(self) -> list[LogEntry]:
        """Return nginx's access log so far (a websocket's line is written when it closes)."""
        if not self.access_log.exists():
            return []
        entries = []
        for line in self.access_log.read_text().splitlines():
            match = LOG_LINE.match(line)
            if match:
                entries.append(LogEntry(float(match["msec"]), match["method"], match["uri"], int(match["status"]),
                                        match["upstream"], match["route"]))
        return entries

    def replica_at(self, address: str) -> Replica | None:
        """Return the replica nginx logged as ``address`` (the last one it tried, if it tried several)."""
        last = address.split(",")[-1].strip().split(" : ")[-1]
        return next((r for r in self.replicas if r.address == last), None)
