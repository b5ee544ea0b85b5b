"""`nlserver <command> [options]`: argument dispatch of the simulated nlserver.

Owns: splitting the command line into command, options and arguments and picking the command; the
usage text; the host's record of the nlserver commands it received (`run/nlserver-starts.log`). Must
not: import anything outside the standard library.
"""

from __future__ import annotations

import os
import shlex
import time

from . import commands as c
from .common import RUN, banner, error, full_name, inst, known, load_host, set_instance
from .formats import MONO, MULTI

# The long-lived processes (modules, watchdog, POP3 server, fault helpers) import their bodies when
# they start: a one-shot command such as `pdump` loads only what it runs.

USAGE = """Usage: nlserver <command> [options]
  pdump [-who] | monitor [-missing] | start|stop|restart <module>[@instance] [-immediate] [-verbose] [-noconsole]
  shutdown | watchdog -svc -noconsole | config -reload | stat -reload
  javascript -instance:<I> -file <f.js> | tracking -instance:<I> -download -update
  <module> -instance:<I> -verbose -tracefilter:<filters>   (foreground trace mode)"""


def _start_stop(cmd: str, opts: list[str], args: list[str]) -> int:
    if not args:
        error("missing module name")
        return 1
    rc = 0
    for name in args:
        if cmd in ("stop", "restart"):
            rc = c.cmd_stop(name, "-immediate" in opts) or rc
        if cmd == "restart" and known(full_name(name)):
            c.cmd_restart_trace(full_name(name), opts)
        if cmd in ("start", "restart"):
            rc = c.cmd_start(name) or rc
    return rc


def _javascript(rest: list[str], args: list[str]) -> int:
    f = [o for o in rest if o.startswith("-file")]
    path = f[0].split(":", 1)[1] if f and ":" in f[0] else (args[0] if args else None)
    if not path:
        error("-file <file.js> is required")
        return 1
    return c.cmd_javascript(path)


def _foreground(cmd: str, opts: list[str]) -> int:
    i = [o.split(":", 1)[1] for o in opts if o.startswith("-instance:")]
    base = cmd.split("@")[0]
    instance = i[0] if (i and base in MONO) else ("default" if base in MULTI else inst())
    return c.cmd_foreground(f"{base}@{instance}")


STARTS = os.path.join(RUN, "nlserver-starts.log")


def record_start(argv: list[str]) -> None:
    """One line per nlserver command this host receives, appended to `run/nlserver-starts.log`: the time
    (epoch seconds), the pid and the argv, tab-separated. Each is one start of the Campaign runtime on a
    real host, so what a run costs a host is counted from here. The lab's own processes (`_module`,
    `_watchdog`, ...) are not commands a host receives and are left out."""
    if argv and argv[0].startswith("_"):
        return
    line = f"{time.time():.3f}\t{os.getpid()}\t{shlex.join(argv)}\n"
    try:
        with open(STARTS, "a", encoding="utf-8") as f:
            f.write(line)  # one write of one short line, O_APPEND: lines of concurrent starts stay whole
    except OSError:
        pass  # a host whose run/ is gone still answers


def main(argv: list[str]) -> int:
    record_start(argv)
    if argv and argv[0] in ("_squat", "_proxy"):
        from .foreign import proxy, squat

        if argv[0] == "_squat":
            squat(*argv[1:4])
        proxy(*argv[1:5])
    if argv and argv[0] == "_front":
        from .front import front

        front(*argv[1:4])
    if argv and argv[0] == "_pop3":
        from .pop3 import pop3_server

        pop3_server(*argv[1:4])
    load_host()
    if not argv:
        print(USAGE)
        return 1
    cmd, rest = argv[0], argv[1:]
    if not cmd.startswith("_") and cmd not in ("pdump", "monitor"):
        # Adobe's banner first, on every command (pdump and monitor print theirs unless the lab hangs them)
        banner()
    opts = [a for a in rest if a.startswith("-")]
    args = [a for a in rest if not a.startswith("-")]
    chosen = [o.split(":", 1)[1] for o in opts if o.startswith("-instance:")]
    if chosen and cmd in ("javascript", "tracking") and not set_instance(chosen[0]):
        error(f"XSV-350004 Unknown instance '{chosen[0]}' (no conf/config-{chosen[0]}.xml)")
        return 1
    if cmd == "_watchdog":
        from .watchdog import watchdog_main

        watchdog_main()
    if cmd == "_module":
        from .modules import module_process

        module_process(args[0])
    if cmd == "pdump":
        return c.cmd_pdump("-who" in opts)
    if cmd == "monitor":
        return c.cmd_monitor_missing() if "-missing" in opts else c.cmd_monitor()
    if cmd in ("start", "stop", "restart"):
        return _start_stop(cmd, opts, args)
    if cmd == "shutdown":
        return c.cmd_shutdown()
    if cmd == "watchdog":
        return c.cmd_watchdog()
    if cmd == "config":
        if "-reload" in opts:
            return c.cmd_config_reload()
        error("unsupported config option")
        return 1
    if cmd == "stat" and "-reload" in opts:
        return c.cmd_stat_reload()
    if cmd == "javascript":
        return _javascript(rest, args)
    if cmd == "tracking":
        return c.cmd_tracking()
    if known(full_name(cmd)):
        return _foreground(cmd, opts)
    error(f"XSV-350003 Unknown command or module '{cmd}'")
    return 1
