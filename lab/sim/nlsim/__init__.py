"""Simulated Adobe Campaign Classic v7 `nlserver` (lab only; stdlib only).

Owns: the behaviour of one lab host's nlserver binary, its watchdog and module processes.
Must not: import anything outside the standard library (the package directory is copied into the lab
directory and run as the lab login user with `/usr/bin/python3 -I -S <lab>/sim/nlsim/__main__.py`),
touch anything outside its host directory except the sockets of its own host address and the lab
PostgreSQL database. Modules import one another relatively only, so the copy works without `lab`.

Layout (each module imports only the ones above it):
  pids       /proc start times, pid files, verified stop (also used by the lab orchestrator)
  formats    redir log line and file name, modules' autoStart flags (also used by the lab orchestrator)
  common     host paths and identity, process state, console, syslog client, config readers
  db         the PostgreSQL wire client (md5 auth, simple query)
  tracking   redir log consolidation into NmsTrackingLogRcp
  web        web@default: /r/test, logon page, SOAP xtk:session#Logon
  workflows  wfserver@<instance>: workflow jobs, export, periodic tracking
  modules    the other module main loops and the body of a module process
  watchdog   the watchdog process and detached spawning
  commands   the nlserver commands (pdump, monitor, start/stop, shutdown, javascript, tracking, ...)
  foreign    lab-started foreign processes (port squatter, connection-dropping proxy)
  cli        argument dispatch
"""
