"""Fixtures for the Envoy rate limit service (RLS v3) suite.

* ``pb``: Envoy's ``envoy/service/ratelimit/v3/rls.proto`` and its import closure, compiled
  once per session with ``grpc_tools.protoc`` from the ``proto/`` tree of the envoy-types crate
  the workspace depends on (found with ``cargo metadata``), so the client speaks exactly the
  messages the server is built from. Nothing is vendored.
* ``pacekeeper``: one ``pacekeeper serve`` per test module with an empty configuration file.
* ``start_pacekeeper``: a factory for servers with a configuration of their own, stopped at
  the end of the test.
* ``redis_server``: a factory for throw-away ``redis-server`` processes on spare ports.

Every server is started as
``$PACEKEEPER_BIN serve --listen 127.0.0.1:0 --grpc-listen 127.0.0.1:0 --data <tmp>
--trust-client-time --config <tmp>/pacekeeper.toml``, found by the banner it prints on
standard output, and stopped with SIGTERM, after which it must exit 0 within 10 s.
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import types
import urllib.error
import urllib.request
from pathlib import Path

import grpc
import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_BIN = REPO_ROOT / "target" / "debug" / "pacekeeper"

RPC_TIMEOUT = 5.0  # seconds: the deadline of every RPC and HTTP call of the suite
BANNER_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

RLS_PROTO = "envoy/service/ratelimit/v3/rls.proto"
# The envoy-types crate's proto roots that the closure of rls.proto draws on.
PROTO_ROOTS = ("data-plane-api", "xds", "protoc-gen-validate", "googleapis")
IMPORT_RE = re.compile(r'^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;', re.MULTILINE)


# --------------------------------------------------------------------------------------------
# Envoy's protos


def _envoy_types_proto_dir() -> Path:
    """The ``proto/`` directory of the envoy-types crate in the workspace's lock file."""
    try:
        out = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        ).stdout
    except FileNotFoundError:
        pytest.fail("cargo is not on PATH: it is needed to find the envoy-types crate's protos")
    except subprocess.CalledProcessError as e:
        pytest.fail(f"cargo metadata failed:\n{e.stderr}")
    packages = [p for p in json.loads(out)["packages"] if p["name"] == "envoy-types"]
    if not packages:
        pytest.fail("no envoy-types package in `cargo metadata`: the workspace should depend on it")
    proto = Path(packages[0]["manifest_path"]).parent / "proto"
    if not proto.is_dir():
        pytest.fail(f"{proto} does not exist: the envoy-types crate ships its protos there")
    return proto


def _import_closure(root_file: str, roots: list[Path]) -> list[str]:
    """Every .proto ``root_file`` imports, directly or not, itself included, as paths relative
    to the include root that holds them; google/protobuf/* are left out (grpc_tools has them)."""
    seen: set[str] = set()
    todo = [root_file]
    while todo:
        name = todo.pop()
        if name in seen or name.startswith("google/protobuf/"):
            continue
        found = next((r / name for r in roots if (r / name).is_file()), None)
        if found is None:
            pytest.fail(f"cannot find {name} (imported by the closure of {root_file}) under {roots}")
        seen.add(name)
        todo.extend(IMPORT_RE.findall(found.read_text(encoding="utf-8")))
    return sorted(seen)


@pytest.fixture(scope="session")
def pb(tmp_path_factory):
    """The generated modules: ``rls`` (messages), ``rls_grpc`` (stub), ``ratelimit``
    (RateLimitDescriptor), ``wrappers`` (UInt64Value) and ``json_format``."""
    import grpc_tools
    from google.protobuf import json_format, wrappers_pb2

    proto = _envoy_types_proto_dir()
    roots = [proto / r for r in PROTO_ROOTS]
    for r in roots:
        if not r.is_dir():
            pytest.fail(f"{r} does not exist: expected one of the envoy-types proto roots {PROTO_ROOTS}")
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    files = _import_closure(RLS_PROTO, roots)
    out = tmp_path_factory.mktemp("rls-proto")
    cmd = [sys.executable, "-m", "grpc_tools.protoc"]
    cmd += [f"-I{r}" for r in roots] + [f"-I{well_known}"]
    cmd += [f"--python_out={out}", f"--grpc_python_out={out}", *files]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if res.returncode != 0:
        pytest.fail(f"protoc failed ({res.returncode}) on {len(files)} files:\n{res.stderr}")
    sys.path.insert(0, str(out))
    return types.SimpleNamespace(
        files=files,
        rls=importlib.import_module("envoy.service.ratelimit.v3.rls_pb2"),
        rls_grpc=importlib.import_module("envoy.service.ratelimit.v3.rls_pb2_grpc"),
        ratelimit=importlib.import_module("envoy.extensions.common.ratelimit.v3.ratelimit_pb2"),
        wrappers=wrappers_pb2,
        json_format=json_format,
    )


# --------------------------------------------------------------------------------------------
# pacekeeper serve

# Loopback only, and no proxy from the environment, for both HTTP and gRPC.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_GRPC_OPTIONS = [("grpc.enable_http_proxy", 0)]


class Pacekeeper:
    """One running ``pacekeeper serve``: its HTTP base URL, its gRPC target and a stub."""

    def __init__(self, proc: subprocess.Popen, http: str, grpc_target: str, pb, stderr_path: Path):
        self.proc = proc
        self.http = f"http://{http}"
        self.grpc_target = grpc_target
        self.stderr_path = stderr_path
        self.channel = grpc.insecure_channel(grpc_target, options=_GRPC_OPTIONS)
        grpc.channel_ready_future(self.channel).result(timeout=RPC_TIMEOUT)
        self.stub = pb.rls_grpc.RateLimitServiceStub(self.channel)

    def new_stub(self, pb):
        """A stub on a channel (so a connection) of its own; closed with the server."""
        ch = grpc.insecure_channel(self.grpc_target, options=_GRPC_OPTIONS)
        self._extra_channels = getattr(self, "_extra_channels", []) + [ch]
        return pb.rls_grpc.RateLimitServiceStub(ch)

    def should(self, request, timeout: float = RPC_TIMEOUT):
        """``ShouldRateLimit`` with a deadline."""
        return self.stub.ShouldRateLimit(request, timeout=timeout)

    def _http(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.http + path, data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        try:
            with _HTTP.open(req, timeout=RPC_TIMEOUT) as r:
                status, headers, raw = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, raw = e.code, e.headers, e.read()
        hdrs = {k.lower(): v for k, v in headers.items()}
        return status, hdrs, (json.loads(raw) if raw else None)

    def post(self, path: str, body):
        """``(status, lower-cased headers, JSON body)``."""
        return self._http("POST", path, body)

    def get(self, path: str):
        return self._http("GET", path)

    def stderr_tail(self, n: int = 4000) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> str | None:
        """SIGTERM, then wait; returns what went wrong, if anything."""
        for ch in [self.channel, *getattr(self, "_extra_channels", [])]:
            ch.close()
        if self.proc.poll() is not None:
            return f"pacekeeper exited by itself with {self.proc.returncode}:\n{self.stderr_tail()}"
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
            return f"pacekeeper did not stop within {STOP_TIMEOUT} s of SIGTERM:\n{self.stderr_tail()}"
        if rc != 0:
            return f"pacekeeper exited with {rc} after SIGTERM (expected 0):\n{self.stderr_tail()}"
        return None


def _pacekeeper_bin() -> Path:
    path = Path(os.environ.get("PACEKEEPER_BIN", DEFAULT_BIN))
    if not path.is_file():
        pytest.fail(f"{path} does not exist: build it with `cargo build` or set PACEKEEPER_BIN")
    return path


def _drain(stream, lines: queue.Queue):
    for line in iter(stream.readline, ""):
        lines.put(line)
    lines.put(None)


def _launch(pb, workdir: Path, config: str, args, trust_client_time: bool) -> Pacekeeper:
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "pacekeeper.toml"
    conf.write_text(config)
    stderr_path = workdir / "stderr.log"
    cmd = [str(_pacekeeper_bin()), "serve", "--listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0"]
    cmd += ["--data", str(workdir / "data")]
    if trust_client_time:
        cmd.append("--trust-client-time")
    cmd += ["--config", str(conf), *args]
    env = {k: v for k, v in os.environ.items() if k not in ("PACEKEEPER_ADMIN_TOKEN", "PACEKEEPER_DECIDE_TOKEN")}
    env.setdefault("PACEKEEPER_LOG", "warn")
    with open(stderr_path, "w") as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_drain, args=(proc.stdout, lines), daemon=True).start()
    deadline = time.monotonic() + BANNER_TIMEOUT
    seen = []
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no banner within {BANNER_TIMEOUT} s; stdout so far: {seen}")
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"pacekeeper exited before its banner; stdout: {seen}")
            seen.append(line)
            if "listening on" in line:
                http = re.search(r"http://(\S+)", line)
                grpc_addr = re.search(r"grpc://(\S+)", line)
                assert http and grpc_addr, f"banner without http:// and grpc:// addresses: {line!r}"
                return Pacekeeper(proc, http.group(1), grpc_addr.group(1), pb, stderr_path)
    except Exception as e:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT)
        tail = stderr_path.read_text(errors="replace")[-4000:]
        pytest.fail(f"cannot start {' '.join(cmd)}: {e}\nstderr:\n{tail}")


class _Fleet:
    """The servers a fixture started; all stopped, and their exit checked, at teardown."""

    def __init__(self, pb, tmp_path_factory):
        self.pb = pb
        self.tmp = tmp_path_factory
        self.servers: list[Pacekeeper] = []

    def start(self, config: str = "", args=(), trust_client_time: bool = True) -> Pacekeeper:
        s = _launch(self.pb, self.tmp.mktemp("pacekeeper"), config, args, trust_client_time)
        self.servers.append(s)
        return s

    def stop_all(self):
        problems = [p for p in (s.stop() for s in self.servers) if p]
        self.servers.clear()
        if problems:
            pytest.fail("\n\n".join(problems))


@pytest.fixture(scope="module")
def pacekeeper(pb, tmp_path_factory) -> Pacekeeper:
    """A server shared by a module's tests (each test uses members of its own), with an
    empty configuration: the `linkedin` preset, the embedded store, no `[rls]` table."""
    fleet = _Fleet(pb, tmp_path_factory)
    yield fleet.start()
    fleet.stop_all()


@pytest.fixture
def start_pacekeeper(pb, tmp_path_factory):
    """``start_pacekeeper(config_toml="", args=(), trust_client_time=True) -> Pacekeeper``."""
    fleet = _Fleet(pb, tmp_path_factory)
    yield fleet.start
    fleet.stop_all()


# --------------------------------------------------------------------------------------------
# redis-server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class Redis:
    """A ``redis-server`` on a spare loopback port, without persistence."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail("redis-server is not installed (./scripts/test.sh installs it)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "redis.log", "a")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 10
        while not _redis_ping(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"redis-server on port {self.port} did not start: "
                            f"{(self.workdir / 'redis.log').read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)

    def stop(self):
        """SIGTERM and wait until the process is gone (so its port refuses connections)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None


@pytest.fixture
def redis_server(tmp_path_factory):
    """``redis_server() -> Redis``, started; every one is stopped at teardown."""
    started: list[Redis] = []

    def start() -> Redis:
        r = Redis(tmp_path_factory.mktemp("redis"))
        r.start()
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()
