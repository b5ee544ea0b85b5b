"""A warm start for the CLI runs of the test suites: one process per test worker imports the runner once,
then forks a fresh child for each ``remediate ARGS`` the tests run.

Each run is still a process of its own, as a user's is: its own pid, environment, working directory,
stdin on /dev/null, stdout and stderr in files of its own, its exit code from ``SystemExit`` (or -SIGNAL
when it dies of one), and the interpreter's own exit order (non-daemon threads joined, ``atexit``
handlers run, streams flushed). What it skips is the start of Python and the import of the runner's
libraries (fabric, paramiko, structlog, click, yaml), about half a second of CPU per run that the suites
paid over a thousand times. Nothing the runner does at import time depends on the environment (every
``os.environ`` read is inside a function), so a fork of the warm server runs what ``python -m runner``
would.

Runs that depend on the interpreter's own start are not forked: ``tests.support.cli.Runner`` executes
``python -m runner`` for them (an environment that changes ``PYTHON*``, ``LANG`` or ``LC_*``, or
``REMEDIATE_TEST_EXEC=1``), and background runs (``Runner.start``, signals) are always executed. The
install test runs the installed wheel's own command.

Owns: the server (``serve``) and the client (``ForkServer``). Must not: run anything but the runner's CLI.
"""

from __future__ import annotations

import array
import atexit
import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# the libraries and runner modules a run imports, loaded once by the server
WARM = (
    "click",
    "yaml",
    "structlog",
    "tenacity",
    "paramiko",
    "fabric",
    "invoke",
    "runner.cli",
    "runner.execute",
    "runner.collect",
    "runner.transport",
    "runner.worker",
    "runner.sshconfig",
    "runner.inventory",
    "runner.playbook",
    "runner.notify",
    "runner.silence",
    "runner.history",
)


def _recv_request(conn: socket.socket) -> tuple[dict[str, object], list[int]]:
    """One request: a length-prefixed JSON document and the two file descriptors sent with it."""
    fds = array.array("i")
    head, ancdata, _flags, _addr = conn.recvmsg(4, socket.CMSG_SPACE(2 * fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    (size,) = struct.unpack("!I", head)
    body = b""
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise EOFError("the client closed the connection mid-request")
        body += chunk
    return json.loads(body), list(fds)


def _child(conn: socket.socket) -> None:
    """In the forked child: become the run the request describes, run the CLI, report its exit code."""
    request, (out_fd, err_fd) = _recv_request(conn)
    conn.sendall(struct.pack("!i", os.getpid()))
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    for fd in (null, out_fd, err_fd):
        os.close(fd)
    os.chdir(str(request["cwd"]))
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})  # type: ignore[call-overload]
    argv = [str(a) for a in list(request["argv"])]  # type: ignore[call-overload]
    code = 0
    try:
        import runpy

        sys.argv = [str(ROOT / "runner" / "__main__.py"), *argv]
        runpy.run_module("runner", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    # the interpreter's own exit: join non-daemon threads, run atexit handlers, flush the streams
    import threading

    with contextlib.suppress(Exception):
        threading._shutdown()  # type: ignore[attr-defined]
    with contextlib.suppress(Exception):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(OSError):
        conn.sendall(struct.pack("!i", code))
    os._exit(code & 0xFF)


def serve(path: str) -> None:
    """The server: import the runner, then fork one child per connection on the unix socket ``path``."""
    import importlib

    for name in WARM:
        importlib.import_module(name)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    listener.settimeout(1.0)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    parent = os.getppid()
    while True:
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        if os.getppid() != parent:
            return  # the test worker is gone
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        pid = os.fork()
        if pid == 0:
            listener.close()
            try:
                conn.settimeout(None)
                _child(conn)
            finally:
                os._exit(70)
        conn.close()


class ForkServer:
    """The test worker's side: starts the server on first use and runs the CLI through it."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.dir = ""
        self.broken = ""

    def _start(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="remediate-forkserver-")
        os.chmod(self.dir, 0o700)
        path = os.path.join(self.dir, "sock")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", f"from tests.support.forkserver import serve; serve({path!r})"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            env=env,
            cwd=str(ROOT),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line != b"ready\n":
            self.broken = f"the fork server did not start (said {line!r}, exit {self.proc.poll()})"
            self.stop()
            return
        atexit.register(self.stop)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # the server this worker started, by its pid
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.dir:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.dir, "sock"))
            with contextlib.suppress(OSError):
                os.rmdir(self.dir)

    def available(self) -> bool:
        if self.proc is None and not self.broken:
            self._start()
        return self.proc is not None and self.proc.poll() is None

    def run(self, argv: list[str], env: dict[str, str], cwd: str, timeout: float) -> tuple[int, str, str]:
        """``remediate ARGV`` in a forked child: (exit code, stdout, stderr); a run past ``timeout`` is
        killed (by its pid) and raises ``subprocess.TimeoutExpired`` as ``subprocess.run`` would."""
        if not self.available():  # started on first use
            raise RuntimeError(self.broken or "the fork server is not running")
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                conn.connect(os.path.join(self.dir, "sock"))
                body = json.dumps({"argv": argv, "env": env, "cwd": cwd}).encode()
                fds = array.array("i", [out.fileno(), err.fileno()])
                conn.sendmsg([struct.pack("!I", len(body))], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
                conn.sendall(body)
                conn.settimeout(30)
                (pid,) = struct.unpack("!i", _read(conn, 4))
                conn.settimeout(max(timeout, 0.1))
                try:
                    raw = _read(conn, 4)
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    raise subprocess.TimeoutExpired(argv, timeout) from None
                died = len(raw) != 4  # the child ended without reporting an exit code: killed by a signal
                code = -1 if died else struct.unpack("!i", raw)[0]
            finally:
                conn.close()
            out.seek(0)
            err.seek(0)
            stderr = err.read().decode("utf-8", "replace")
            if died:
                stderr += f"\n[fork server: run {pid} ended without an exit code]\n"
            return code, out.read().decode("utf-8", "replace"), stderr


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return data
        data += chunk
    return data


SERVER = ForkServer()
