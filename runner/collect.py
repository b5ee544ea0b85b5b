"""Evidence before the fix: one bundle per host of what the host says, taken read-only.

A bundle is a local ``.tar.gz`` (mode 600, in a directory created 700) holding ``MANIFEST.json``
(per file: name, the command or host path it came from, size, sha256, status ``ok``/``failed``/
``timeout``/``truncated`` and a note), ``README.txt`` (what each file is) and the files: ``nlserver
pdump``, ``pdump -who``, ``monitor -missing``, ``monitor`` (Adobe's XML indicators,
production/using/monitoring-processes.md), the build (the banner Campaign prints first), each
selected module's log since the module started (the rotated file ``_2.log`` first, through the
``log_errors_since_start`` command of :mod:`runner.actions.logs`), ``config-<instance>.xml``,
``config-default.xml``, ``serverConf.xml`` and ``customer.sh`` with their secrets replaced by
``***`` (secret attributes such as ``password="..."``, ``export ...PASSWORD=...``, and every value the
run's :class:`runner.redact.Redactor` knows, in every file), ``df -P``, the memory, and the host's
recent runs from its anchor file (:mod:`runner.anchor`).

Bounded by host vars: ``collect_timeout`` per command, ``collect_max_bytes`` per file (cut on the
host: a file over it ends ``truncated``, the note says where), ``collect_total_max_bytes`` per bundle,
and ``collect_budget`` for the bundle taken before a disruptive step (what is not read once it is
spent is noted). A command that fails or times out, a file that cannot be read, a host that drops:
noted in the manifest, never raised. A bundle whose files are not all read (failed or timed out) is
``partial``.

Owns: the bundle's items, their commands, the shaping of what the host answered (caps, redaction,
the log since the module's start), the manifest, README and tar file (:func:`write_bundle`), and the
taking of a bundle through a connected host run (:func:`take`, :func:`collect_hosts`): each command
in the Campaign account with its environment (:func:`runner.wire.run_as`, :func:`runner.wire.sourced`),
on the run's own session, and one audit event per bundle. Must not: print, or change a host.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shlex
import tarfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from runner import anchor, campaign, errorcodes, hostvars
from runner.actions import ACTIONS, Context, Skip
from runner.actions.logs import rotated
from runner.audit import default_path
from runner.channels import MAX_OUTPUT
from runner.errors import CommandTimeout, ConnectionLost
from runner.events import Event
from runner.outcomes import HostStatus
from runner.redact import REDACTED, Redactor
from runner.report import HostOutcome
from runner.wire import Result, as_sent

if TYPE_CHECKING:
    from runner.audit import AuditLog
    from runner.inventory import Host
    from runner.worker import HostRun, Worker

ENV = "REMEDIATE_BUNDLES"


def default_dir() -> Path:
    """Where bundles go unless told: $REMEDIATE_BUNDLES, else `bundles/` beside the default audit log
    ($REMEDIATE_AUDIT_LOG's directory, or $XDG_STATE_HOME/remediate), never the current directory."""
    env = os.environ.get(ENV)
    return Path(env) if env else default_path().parent / "bundles"


FORMAT = 1
ANCHOR_LINES = 50  # the host's most recent runs kept from its anchor file
RC_MARK = "@@collect rc"
SIGPIPE_CODES = (141, 13)  # a writer stopped by head -c (sh: 128 + SIGPIPE)
START_SLACK = 0.5  # seconds: a log line stamped this much before the process's start is still its own
_SLACK = 64 * 1024  # log bytes read beyond the cap: lines from before the module's start are left out here
LOG_ACTION = "log_errors_since_start"  # the log-reading command of runner.actions.logs
ABSENT = "@@absent"  # a log the host does not have (neither it nor its rotated file): a fact, not a failure
BANNER = re.compile(r"Application server for Adobe Campaign", re.IGNORECASE)  # what nlserver prints first


class Status(StrEnum):
    """What became of one file of a bundle."""

    OK = "ok"
    FAILED = "failed"  # could not be read: the command failed, the file is not there, the host dropped
    TIMEOUT = "timeout"  # the command ran past collect_timeout (stopped on the host)
    TRUNCATED = "truncated"  # cut at collect_max_bytes or collect_total_max_bytes (the note says which)


MISSING = frozenset({Status.FAILED, Status.TIMEOUT})  # a file in one of these makes the bundle partial


# -- limits ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """The bounds of one bundle, from the host's vars (``collect_*``)."""

    timeout: float
    max_bytes: int
    total_max_bytes: int
    budget: float | None = None  # seconds for the whole bundle (before a disruptive step); None: no budget

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "collect_timeout": self.timeout,
            "collect_max_bytes": self.max_bytes,
            "collect_total_max_bytes": self.total_max_bytes,
        }
        if self.budget is not None:
            out["collect_budget"] = self.budget
        return out


LIMIT_VARS = ("collect_timeout", "collect_max_bytes", "collect_total_max_bytes", "collect_budget")


def limits(var: Callable[[str], Any], *, budget: bool) -> Limits:
    """The host's limits (``var``: a host's or a context's ``var``); ValueError naming a var that is not a
    whole number above 0."""
    values: dict[str, int] = {}
    for name in LIMIT_VARS:
        value = var(name)
        if value is None:
            value = hostvars.default(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} is {value!r}: not a whole number above 0")
        values[name] = value
    return Limits(
        float(values["collect_timeout"]),
        values["collect_max_bytes"],
        values["collect_total_max_bytes"],
        float(values["collect_budget"]) if budget else None,
    )


# -- what a bundle holds -----------------------------------------------------------------------------

Keep = Literal["head", "tail"]
Shape = Literal["text", "config", "customer", "log", "anchors"]


@dataclass(frozen=True)
class Item:
    """One file of a bundle: where it comes from on the host and how its answer is kept."""

    name: str  # the path inside the bundle
    source: str  # the command or host path, as the manifest names it
    what: str  # one line for README.txt
    command: str | None  # the read-only shell text (None: the item could not be built, see ``problem``)
    keep: Keep = "head"  # which end of a long answer is kept
    shape: Shape = "text"
    problem: str = ""  # why there is no command


# Adobe's log files beside a module's own <module>.log (production/using/log-files.md), each bounded by
# the start of the module that writes it; the utilities run inside workflows: wfserver's logs.
_EXTRA_LOGS = {"web": ("webmdl",), "wfserver": ("runwf",), "mta": ("mtachild",)}
_UTILITY_LOGS = ("wfserver", "runwf")


def log_files(module: str) -> list[tuple[str, str]]:
    """(the daemon whose start bounds it, the log's name without .log) for a module."""
    if module in campaign.UTILITIES:
        return [("wfserver", name) for name in _UTILITY_LOGS]
    return [(module, module)] + [(module, extra) for extra in _EXTRA_LOGS.get(module, ())]


def _log_path(daemon: str, name: str, ctx: Context) -> str:
    folder = "default" if daemon in campaign.MULTI_INSTANCE or daemon == "watchdog" else ctx.var("instance")
    return f"{ctx.var('var_dir')}/{folder}/log/{name}.log"


def items(ctx: Context, modules: Sequence[str]) -> list[Item]:
    """What a bundle of this host holds, small files first, the logs last (the largest)."""
    nlserver = ctx.nlserver
    root = str(ctx.var("nl6_root"))
    out = [
        Item("pdump.txt", "nlserver pdump", "the running Campaign processes (nlserver pdump)", f"{nlserver} pdump"),
        Item(
            "pdump-who.txt",
            "nlserver pdump -who",
            "the processes, the connections in progress and the database pool (nlserver pdump -who)",
            f"{nlserver} pdump -who",
        ),
        Item(
            "monitor-missing.txt",
            "nlserver monitor -missing",
            "the modules the configuration starts that are not running (nlserver monitor -missing)",
            f"{nlserver} monitor -missing",
        ),
        Item(
            "monitor.xml",
            "nlserver monitor",
            "Campaign's indicators on its modules and the system, in XML (nlserver monitor, "
            "production/using/monitoring-processes.md)",
            f"{nlserver} monitor",
        ),
        Item("df.txt", "df -P", "disk use of every file system (df -P)", "df -P"),
        Item(
            "memory.txt",
            "free (else /proc/meminfo)",
            "memory (free, or /proc/meminfo where free is not installed)",
            "if command -v free >/dev/null 2>&1; then free; else cat /proc/meminfo; fi",
        ),
    ]
    configs: list[tuple[str, str, Shape]] = [(f"{root}/conf/serverConf.xml", "conf/serverConf.xml", "config")]
    configs.append((f"{root}/conf/config-default.xml", "conf/config-default.xml", "config"))
    if ctx.host.instance:
        name = f"config-{ctx.host.instance}.xml"
        configs.append((f"{root}/conf/{name}", f"conf/{name}", "config"))
    configs.append((f"{root}/customer.sh", "customer.sh", "customer"))
    for path, name, shape in configs:
        what = "the site's environment (customer.sh)" if shape == "customer" else f"the server configuration {name}"
        out.append(Item(name, path, f"{what}, secrets replaced by {REDACTED}", f"cat {shlex.quote(path)}", shape=shape))
    where = anchor.anchor_file(ctx.host)
    out.append(
        Item(
            "anchors.jsonl",
            where,
            f"the host's last {ANCHOR_LINES} runs of remediate (its audit anchors: run id, time, operator, module, "
            "outcome, chain head)",
            f"{anchor.read_command(where)} | tail -n {ANCHOR_LINES}",
            keep="tail",
            shape="anchors",
        )
    )
    seen: set[str] = set()
    for module in modules:
        for daemon, name in log_files(module):
            if name in seen:
                continue
            seen.add(name)
            out.append(_log_item(ctx, daemon, name))
    return out


def _log_item(ctx: Context, daemon: str, name: str) -> Item:
    bundle_name = f"logs/{name}.log"
    try:
        path = _log_path(daemon, name, ctx)
        read = ACTIONS[LOG_ACTION].build({"module": daemon, "file": path, "lines": 10**7}, ctx)
    except Skip as exc:
        return Item(bundle_name, f"{name}.log", f"{name}.log", None, keep="tail", shape="log", problem=str(exc))
    what = (
        f"{path} (and {name}_2.log, its rotated file) since {campaign.process_name(daemon, ctx.host.instance)} "
        "started; the last lines when it is not running"
    )
    files = [f for f in (path, rotated(path)) if f]
    absent = " && ".join(f"[ ! -e {shlex.quote(f)} ]" for f in files)
    command = f"if {absent}; then echo {ABSENT}; exit 0; fi; {read}"
    return Item(bundle_name, path, what, command, keep="tail", shape="log")


def host_command(item: Item, limit: int) -> str:
    """The text sent for one item: its command in a subshell, its exit code on stderr after a marker,
    its output cut on the host to ``limit`` bytes (from the start, or the end for ``tail`` items)."""
    assert item.command is not None
    cut = "tail" if item.keep == "tail" else "head"
    return f'{{ ( {item.command} ); echo "{RC_MARK} $?" >&2; }} | {cut} -c {int(limit)}'


# -- shaping what the host answered ------------------------------------------------------------------

# an XML attribute whose name says it holds a secret (Adobe's serverconf: password, internalPassword,
# trackingPassword, authIMSClientSecret, authPrivateKey, phishbowlServiceAPIKey ...); the allow*Password
# switches (allowEmptyPassword, allowUserPassword) are settings, not secrets
_ATTR = re.compile(r"""(?P<name>[A-Za-z_][\w.:-]*)(?P<eq>\s*=\s*)(?P<q>["'])(?P<value>.*?)(?P=q)""", re.S)
_SECRET_ATTR = re.compile(r"(password|passwd|secret|privatekey|apikey|token|passphrase)$|^key$", re.I)
_EXPORT = re.compile(r"^(?P<head>\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=)(?P<value>.*)$")
_SECRET_ENV = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|PASSPHRASE|(^|_)KEY($|_)|(^|_)PWD$)", re.I)


def secret_attribute(name: str) -> bool:
    local = name.rsplit(":", 1)[-1]
    return bool(_SECRET_ATTR.search(local)) and not local.lower().startswith("allow")


def redact_config(text: str) -> tuple[str, list[str]]:
    """The config with each secret attribute's value replaced by ``***`` (an empty one stays empty, it
    says no secret is set); and the values replaced, so they are replaced everywhere else too."""
    found: list[str] = []

    def one(match: re.Match[str]) -> str:
        if not secret_attribute(match["name"]) or not match["value"]:
            return match[0]
        found.append(match["value"])
        return f"{match['name']}{match['eq']}{match['q']}{REDACTED}{match['q']}"

    return _ATTR.sub(one, text), found


def redact_customer(text: str) -> tuple[str, list[str]]:
    """customer.sh with the value of each ``NAME=``/``export NAME=`` whose name says secret replaced."""
    found: list[str] = []
    lines = []
    for line in text.split("\n"):
        match = _EXPORT.match(line)
        if match and _SECRET_ENV.search(match["name"]) and match["value"].strip():
            value = match["value"].strip()
            found.append(value)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                found.append(value[1:-1])
            line = f"{match['head']}{REDACTED}"
        lines.append(line)
    return "\n".join(lines), found


def _epoch(stamp: str) -> float | None:
    try:
        return datetime.fromisoformat(stamp.strip()).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _line_time(line: str) -> float | None:
    from runner.campaign_formats import ParseError, parse_log_line

    try:
        return _epoch(parse_log_line(line).timestamp.rstrip("Z"))
    except ParseError:
        return None


def since_start(out: str) -> tuple[str, str, bool]:
    """The log lines of the ``log_errors_since_start`` command's answer written since the module's
    process started (every line read when it is not running), a note, and whether lines since the start
    were left unread (the answer was cut on the host before the first of them)."""
    log, mark, started = out.rpartition("@@uptime\n")
    if not mark:
        log, started = out, ""
    head, found, body = log.partition("@@log\n")
    if not found:  # cut on the host: the first line may be a part of one
        body = head.split("\n", 1)[1] if "\n" in head else ""
    try:
        start = float(started.strip())
    except ValueError:
        return body, "the module is not running: its last lines, whatever their time", False
    kept: list[str] = []
    keeping = not found  # cut on the host: what is left is all recent
    first: float | None = None
    for line in body.splitlines(keepends=True):
        when = _line_time(line)
        if when is not None:
            first = when if first is None else first
            keeping = when >= start - START_SLACK
        if keeping:
            kept.append(line)
    stamp = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    unread = not found and (first is None or first > start)
    return "".join(kept), f"lines since the module started ({stamp})", unread


def _cut(data: bytes, cap: int, keep: Keep) -> bytes:
    """``data`` cut to ``cap`` bytes at a line boundary where one is near (the end kept for ``tail``)."""
    if keep == "tail":
        piece = data[-cap:] if cap else b""
        newline = piece.find(b"\n")
        return piece[newline + 1 :] if 0 <= newline < len(piece) - 1 and newline < 4096 else piece
    piece = data[:cap]
    newline = piece.rfind(b"\n")
    return piece[: newline + 1] if newline >= 0 and len(piece) - newline < 4096 else piece


@dataclass
class Entry:
    """One file of a bundle as taken: its bytes, status and note."""

    item: Item
    data: bytes = b""
    status: Status = Status.OK
    note: str = ""

    def manifest(self) -> dict[str, Any]:
        return {
            "name": self.item.name,
            "source": self.item.source,
            "size": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "status": str(self.status),
            "note": self.note,
        }


def _split_rc(stderr: str) -> tuple[int | None, str]:
    rc: int | None = None
    rest = []
    for line in stderr.splitlines():
        if line.startswith(RC_MARK):
            try:
                rc = int(line[len(RC_MARK) :].strip())
            except ValueError:
                rc = None
        else:
            rest.append(line)
    return rc, "\n".join(rest).strip()


def shape(item: Item, res: Result, cap: int, redactor: Redactor) -> Entry:
    """What to keep of one command's answer: cut to ``cap`` bytes, secrets replaced, the status."""
    rc, err = _split_rc(res.stderr)
    text = res.stdout
    notes: list[str] = []
    status = Status.OK
    if rc is None:
        status = Status.FAILED
        notes.append(f"no exit status (exit {res.exit_code}){': ' + err[:300] if err else ''}")
    elif rc in SIGPIPE_CODES and item.keep == "head":
        pass  # the cut below says so
    elif rc != 0:
        status = Status.FAILED
        notes.append(f"exit {rc}{': ' + err[:300] if err else ''}")
    if item.shape == "log" and status is Status.OK and text.strip() == ABSENT:
        return Entry(item, b"", Status.OK, "no such log on this host (nor its rotated file)")
    unread = False
    if item.shape == "log" and status is Status.OK:
        text, note, unread = since_start(text)
        notes.append(note)
    if item.shape == "config":
        text, found = redact_config(text)
        redactor.add(found)
    elif item.shape == "customer":
        text, found = redact_customer(text)
        redactor.add(found)
    data = redactor.text(text).encode("utf-8")
    if len(data) > cap or (rc in SIGPIPE_CODES and item.keep == "head"):
        data = _cut(data, cap, item.keep)
        if status is Status.OK:
            status = Status.TRUNCATED
        where = "its last" if item.keep == "tail" else "its first"
        notes.append(f"cut to {where} {len(data)} bytes (collect_max_bytes {cap})")
    elif unread and status is Status.OK:
        status = Status.TRUNCATED
        notes.append(f"the older lines since the start were not read (collect_max_bytes {cap})")
    return Entry(item, data, status, "; ".join(n for n in notes if n))


def build_entry(pdump: Entry) -> Entry:
    """The build: the banner Campaign prints before its answer (``Application server for Adobe Campaign
    Classic (7.X YY.R build XXX@SHA1) of DD/MM/YYYY``), as ``nlserver pdump`` printed it."""
    item = Item(
        "build.txt",
        "the banner of nlserver pdump",
        "the Campaign build, from the banner nlserver prints first (version, build, date)",
        None,
    )
    lines = [line for line in pdump.data.decode("utf-8", "replace").splitlines() if BANNER.search(line)]
    if lines:
        return Entry(item, (lines[0].strip() + "\n").encode("utf-8"))
    why = f"nlserver pdump printed no banner ({pdump.status}{': ' + pdump.note if pdump.note else ''})"
    return Entry(item, b"", Status.FAILED, why)


# -- taking the files on a host ----------------------------------------------------------------------

Send = Callable[[str, float], Result]  # runs one read-only text on the host; raises CommandTimeout, ConnectionLost


def gather(
    wanted: Sequence[Item],
    send: Send | None,
    lim: Limits,
    redactor: Redactor,
    *,
    down: str = "",
    clock: Callable[[], float] = time.monotonic,
) -> list[Entry]:
    """Run each item's command through ``send`` (None: the host was not reached, ``down`` says why),
    within the limits; every failure is an entry's status and note, never an exception."""
    entries: list[Entry] = []
    start = clock()
    total = 0
    for item in wanted:
        if item.command is None:
            entries.append(Entry(item, b"", Status.FAILED, f"not read: {item.problem}"))
            continue
        if send is None or down:
            entries.append(Entry(item, b"", Status.FAILED, f"not read: {down or 'the host was not reached'}"))
            continue
        left = lim.budget - (clock() - start) if lim.budget is not None else None
        if left is not None and left <= 0:
            entries.append(Entry(item, b"", Status.FAILED, f"not read: collect_budget of {lim.budget:g}s spent"))
            continue
        room = lim.total_max_bytes - total
        if room <= 0:
            note = f"not read: the bundle reached collect_total_max_bytes ({lim.total_max_bytes})"
            entries.append(Entry(item, b"", Status.TRUNCATED, note))
            continue
        cap = min(lim.max_bytes, room, MAX_OUTPUT // 2)  # what one command's answer can carry back, whole
        read = min(cap * 2 + _SLACK, MAX_OUTPUT - _SLACK) if item.shape == "log" else cap + 1
        timeout = max(1.0, min(lim.timeout, left)) if left is not None else lim.timeout
        try:
            res = send(host_command(item, max(read, cap + 1)), timeout)
        except CommandTimeout as exc:
            entries.append(Entry(item, b"", Status.TIMEOUT, exc.render()))
            continue
        except ConnectionLost as exc:
            down = f"the connection was lost ({exc.render()})"
            entries.append(Entry(item, b"", Status.FAILED, down))
            continue
        entry = shape(item, res, cap, redactor)
        if cap < lim.max_bytes and entry.status is Status.TRUNCATED:
            entry.note = entry.note.replace(
                f"(collect_max_bytes {cap})", f"(collect_total_max_bytes {lim.total_max_bytes}: {cap} left)"
            )
        total += len(entry.data)
        entries.append(entry)
        if item.name == "pdump.txt":
            entries.append(build_entry(entry))
    return entries


# -- the bundle --------------------------------------------------------------------------------------


@dataclass
class Bundle:
    """A bundle as written: where, its hash, whether it is partial, and its manifest."""

    host: str
    path: Path | None
    sha256: str | None
    partial: bool
    manifest: dict[str, Any] = field(default_factory=dict)
    error: str = ""  # why no bundle could be written (path is None)

    def line(self) -> str:
        """The line printed for it."""
        if self.path is None:
            return f"{self.host}: no bundle written: {self.error}"
        bad = [f["name"] for f in self.manifest.get("files", []) if f["status"] in MISSING]
        more = f" (not read: {', '.join(bad)})" if bad else ""
        return f"{self.host}: {self.path}  sha256 {self.sha256}  partial: {str(self.partial).lower()}{more}"


def readme(entries: Sequence[Entry], host: str) -> str:
    lines = [
        f"Evidence bundle of {host}, taken read-only by remediate before any change.",
        "MANIFEST.json lists every file: where it came from (command or host path), size, sha256, status",
        "(ok, failed, timeout, truncated) and a note. Secrets in the configuration files are replaced by ***.",
        "",
    ]
    width = max((len(e.item.name) for e in entries), default=0)
    lines += [f"{e.item.name:<{width}}  {e.item.what}" for e in entries]
    return "\n".join(lines) + "\n"


def error_codes(entries: Sequence[Entry]) -> list[dict[str, str]]:
    """The Campaign message codes found in the bundle's logs (:func:`runner.errorcodes.find_codes`), each
    with what Adobe's table says of it."""
    text = "".join(e.data.decode("utf-8", "replace") for e in entries if e.item.shape == "log")
    return [{"code": code, "description": errorcodes.describe(code)} for code in errorcodes.find_codes(text)]


def manifest(entries: Sequence[Entry], meta: Mapping[str, Any], lim: Limits) -> dict[str, Any]:
    files = [e.manifest() for e in entries]
    doc: dict[str, Any] = {
        "format": FORMAT,
        **meta,
        "partial": any(e.status in MISSING for e in entries),
        "limits": lim.as_dict(),
        "files": files,
    }
    doc["error_codes"] = error_codes(entries)
    return doc


def bundle_name(host: str, label: str, when: datetime) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{host}-{label}")
    return f"{safe}-{when.strftime('%Y%m%dT%H%M%SZ')}"


def write_bundle(directory: Path, name: str, entries: Sequence[Entry], doc: Mapping[str, Any]) -> tuple[Path, str]:
    """Write ``<directory>/<name>.tar.gz`` (mode 600; the directory is created 700 when missing), its
    files under ``<name>/``; return its path and sha256. Never overwrites: a name taken gets ``-2``..."""
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
        os.chmod(directory, 0o700)
    body = io.BytesIO()
    stamp = time.time()
    parts = [
        ("MANIFEST.json", (json.dumps(doc, indent=2) + "\n").encode("utf-8")),
        ("README.txt", readme(entries, str(doc.get("host", ""))).encode("utf-8")),
        *((e.item.name, e.data) for e in entries),
    ]
    with (
        gzip.GzipFile(fileobj=body, mode="wb", mtime=int(stamp)) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for member, data in parts:
            info = tarfile.TarInfo(f"{name}/{member}")
            info.size = len(data)
            info.mtime = int(stamp)
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
    data = body.getvalue()
    for attempt in range(1, 1000):
        path = directory / (f"{name}.tar.gz" if attempt == 1 else f"{name}-{attempt}.tar.gz")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return path.resolve(), hashlib.sha256(data).hexdigest()
    raise OSError(f"{directory}: no free name for {name}.tar.gz")


# -- through a run's connection ----------------------------------------------------------------------


def _send_for(run: HostRun) -> Send:
    def send(text: str, timeout: float) -> Result:
        assert run.session is not None
        return run.session.run(as_sent(text, run.host, run.become), timeout)

    return send


def take(
    audit: AuditLog,
    run: HostRun,
    modules: Sequence[str],
    directory: Path,
    *,
    label: str,
    budget: bool = False,
    step: str | None = None,
) -> Bundle:
    """Take one host's bundle through its run (connected or not) and record it (``bundle.collected``, or
    ``bundle.failed`` when it cannot be written). Never raises for what the host does."""
    host = run.host.name
    module_field = modules[0] if len(modules) == 1 else label
    try:
        lim = limits(run.ctx.var, budget=budget)
    except (ValueError, Skip) as exc:
        message = f"no bundle taken: {exc}"
        audit.emit(Event.BUNDLE_FAILED, host=host, module=module_field, step=step, message=message)
        return Bundle(host, None, None, True, error=str(exc))
    started = datetime.now(UTC)
    wanted = _items_or_note(run.ctx, modules)
    down = ""
    if run.session is None:
        why = run.outcome.message or "no connection"
        lost = run.outcome.status is HostStatus.UNREACHABLE
        down = f"the host was not reached ({why})" if lost else f"nothing was sent ({why})"
    entries = gather(wanted, _send_for(run) if run.session is not None else None, lim, audit.redact, down=down)
    meta = {
        "host": host,
        "modules": list(modules),
        "step": step,
        "run_id": audit.run_id,
        "operator": audit.operator_name,
        "host_key": run.outcome.host_key,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "reached": run.session is not None,
        "settings_not_read": (run.facts.problems if run.facts is not None else [run.outcome.message]) or None,
    }
    doc = manifest(entries, meta, lim)
    name = bundle_name(host, label, started)
    try:
        path, digest = write_bundle(directory, name, entries, doc)
    except OSError as exc:
        message = f"no bundle written in {directory}: {exc.strerror or exc}"
        audit.emit(Event.BUNDLE_FAILED, host=host, module=module_field, step=step, message=message)
        return Bundle(host, None, None, True, doc, error=message)
    missing = [f["name"] for f in doc["files"] if f["status"] in MISSING]
    cut = [f["name"] for f in doc["files"] if f["status"] == Status.TRUNCATED]
    spent = lim.budget is not None and any("collect_budget" in f["note"] for f in doc["files"])
    audit.emit(
        Event.BUNDLE_COLLECTED,
        host=host,
        module=module_field,
        step=step,
        path=str(path),
        sha256=digest,
        partial=doc["partial"],
        files=len(doc["files"]),
        not_read=missing or None,
        truncated=cut or None,
        message=f"collect_budget of {lim.budget:g}s spent: the rest of the bundle was skipped" if spent else None,
    )
    return Bundle(host, path, digest, doc["partial"], doc)


def _items_or_note(ctx: Context, modules: Sequence[str]) -> list[Item]:
    try:
        return items(ctx, modules)
    except Skip as exc:  # a var the bundle's paths need is missing: every item says so
        return [Item(name, name, name, None, problem=str(exc)) for name in ("pdump.txt",)]


def before_disruption(worker: Worker, run: HostRun, module: str, step: str, directory: Path | None = None) -> Bundle:
    """The bundle taken before a disruptive step (after its confirmation), within ``collect_budget``."""
    return take(worker.audit, run, [module], directory or default_dir(), label=module, budget=True, step=step)


DRY_RUN_NOTE = "would take an evidence bundle first (remediate collect; --no-collect: none)"


def collect_hosts(
    hosts: Sequence[Host],
    worker: Worker,
    modules: Sequence[str],
    directory: Path,
    *,
    forks: int,
) -> list[tuple[HostOutcome, Bundle]]:
    """``remediate collect``: connect to each host (hosts in parallel), read its settings, take its bundle.

    A complete bundle ends its host ``healthy``, a partial one ``failed``, a host not reached
    ``unreachable`` (its bundle says what was not read)."""
    from runner.worker import HostRun

    def one(host: Host) -> tuple[HostOutcome, Bundle]:
        run = HostRun(host, Context(host, {}, run_id=worker.audit.run_id), HostOutcome(host.name))
        try:
            if worker.connect(run, "collect"):
                worker.read_facts(run, "collect")  # XTK_VAR_DIR ...; what it could not read stays the default
            else:  # not reached, or refused (the Campaign account out of reach): nothing is sent
                worker.close([run])
                run.session = None
            bundle = take(worker.audit, run, modules, directory, label="collect")
        finally:
            worker.close([run])
        if run.outcome.status in (HostStatus.UNREACHABLE, HostStatus.FAILED) and run.session is None:
            pass
        elif bundle.path is None or bundle.partial:
            run.outcome.status = HostStatus.FAILED
        else:
            run.outcome.status = HostStatus.HEALTHY
        run.outcome.message = bundle.line()
        return run.outcome, bundle

    if not hosts:
        return []
    with ThreadPoolExecutor(max_workers=min(max(forks, 1), len(hosts))) as pool:
        return list(pool.map(one, hosts))


def check_limits(hosts: Iterable[Host]) -> list[str]:
    """What is wrong with each host's ``collect_*`` vars (checked before anything is run)."""
    problems = []
    for host in hosts:
        try:
            limits(host.var, budget=True)
        except ValueError as exc:
            problems.append(f"{host.name}: {exc}")
    return problems
