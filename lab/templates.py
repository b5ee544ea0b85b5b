"""Text of the files `up` writes for a lab host: Campaign configs, the nlserver wrapper, env.sh, sshd_config.

Owns: the templates and nothing else (plain `str.format` fields). Must not: import anything.
"""

SERVERCONF = """<?xml version='1.0'?>
<!-- Campaign server configuration of lab host {host} -->
<serverconf>
  <shared>
    <dataStore hosts="*" lang="en_GB">
      <dataSource name="default"/>
    </dataStore>
  </shared>
  <syslogd autoStart="false" maxFileSizeMb="10"/>
  <web autoStart="false" httpPort="8080" controlPort="8005"/>
  <watchdog processRestartTime="06:00"/>
</serverconf>
"""
CONFIG_DEFAULT = """<?xml version='1.0'?>
<serverconf>
  <syslogd autoStart="true" maxFileSizeMb="10"/>
  <web args="-tomcat" autoStart="true" httpPort="8080" controlPort="8005"/>
  <!-- to start if the machine is also a redirection server -->
  <trackinglogd autoStart="{redirection}"/>
</serverconf>
"""
# one instance's modules (installation/using/the-server-configuration-file.md); dbcnx names the lab's database
# with dbName and port, which Adobe's samples leave out (its login there is the lab's role, no password: .pgpass)
CONFIG_INSTANCE = """<?xml version='1.0'?>
<serverconf>
  <shared>
    <dataStore hosts="*"{export_attr}>
      <dataSource name="default">
        <dbcnx provider="postgresql" server="{db_host}" port="{db_port}" dbName="{db_name}" login="{db_user}"/>
      </dataSource>
    </dataStore>
  </shared>
  <wfserver autoStart="true"/>
  <mta autoStart="{mta}" statServerAddress="{stat_server}"/>
  <stat autoStart="{stat}" port="7777"/>
  <inMail autoStart="{inmail}" popMailPeriodSec="{pop_period}"/>
</serverconf>
"""
NLSERVER = """#!/bin/sh
# Simulated Adobe Campaign nlserver of lab host {host}
NL6_ROOT='{nl6}'
export NL6_ROOT
[ -n "$PGPASSFILE" ] || PGPASSFILE='{nl6}/.pgpass'
export PGPASSFILE
exec {python} -I -S '{entry}' "$@"
"""
ENV_SH = """# Campaign environment of lab host {host} (POSIX sh, prints nothing)
NL6_ROOT='{nl6}'
export NL6_ROOT
PATH='{nl6}/bin':"$PATH"
export PATH
PGPASSFILE='{nl6}/.pgpass'
export PGPASSFILE
PGHOST='{db_host}'
PGPORT='{db_port}'
PGDATABASE='campaign_{host}'
PGUSER='{host}'
export PGHOST PGPORT PGDATABASE PGUSER
[ -f '{nl6}/customer.sh' ] && . '{nl6}/customer.sh'
:
"""
# The lab's record of what a host receives (`up` with REMEDIATE_LAB_RECORD=1; lab/README.md "Records"): sshd
# puts rec/ first on every session's PATH (lab/sshd.py), and so does env.sh, which also appends one line per
# sourcing to run/env-sourced.log; rec/sh records each session's script and each command run through `sh`.
ENV_RECORD_SH = """# lab record: this sourcing (epoch ns, shell pid, parent pid); the commands run through sh after it
printf '%s\\t%s\\t%s\\n' "$(date +%s%N)" "$$" "$PPID" 2>/dev/null >>'{h}/run/env-sourced.log'
PATH='{h}/rec':"$PATH"
export PATH
:
"""
RECORD_SH = """#!/bin/sh
# Lab record of lab host {host}. A session's script (sh -c 'eval "$(cat)"' reading it on stdin): one line T in
# run/sessions.log (epoch ns, pid, the command line that started the shell, the script in base64), then the
# script runs as it would have; a session's own `sh -c TEXT` (started by sshd): one line C there (TEXT in
# base64). Any other command run through sh: one line at its start in run/commands.log (S, epoch ns, pid,
# parent pid, its text on one line) and one at its end (E, epoch ns, pid, exit code).
# Either runs under /bin/sh with the same arguments, stdin, stdout, stderr and exit code.
if [ "$1" = -c ] && [ "$2" = 'eval "$(cat)"' ] && [ $# -eq 2 ]; then
  s=$(cat; echo .)
  s=${{s%.}}
  line=$(tr '\\0' ' ' </proc/$PPID/cmdline 2>/dev/null)
  printf 'T\\t%s\\t%s\\t%s\\t%s\\n' "$(date +%s%N)" "$$" "$line" "$(printf '%s' "$s" | base64 -w0)" \\
    2>/dev/null >>'{h}/run/sessions.log'
  printf '%s' "$s" | /bin/sh -c 'eval "$(cat)"'
  exit $?
fi
read -r parent </proc/$PPID/comm 2>/dev/null || parent=
if [ "$1" = -c ] && [ $# -eq 2 ] && [ "$parent" = sshd ]; then
  printf 'C\\t%s\\t%s\\t%s\\t%s\\n' "$(date +%s%N)" "$$" "sh -c" "$(printf '%s' "$2" | base64 -w0)" \\
    2>/dev/null >>'{h}/run/sessions.log'
  exec /bin/sh "$@"
fi
log='{h}/run/commands.log'
case $1 in
  -c) text=$(printf '%s' "$2" | tr '\\t\\n' '  ') ;;
  -*|'') text="sh $*" ;;
  *) text=$(tr '\\t\\n' '  ' <"$1" 2>/dev/null) ;;
esac
printf 'S\\t%s\\t%s\\t%s\\t%s\\n' "$(date +%s%N)" "$$" "$PPID" "${{text% }}" 2>/dev/null >>"$log"
/bin/sh "$@"
rc=$?
printf 'E\\t%s\\t%s\\t%s\\n' "$(date +%s%N)" "$$" "$rc" 2>/dev/null >>"$log"
exit $rc
"""
# syslogd's address and port are TRACE_ADDR's (production/using/configuration.md). Every lab host shares one
# machine, so each names its own: its address (on the loopback interface) and 6666, Adobe's "(local)" port.
CUSTOMER_SH = "# site customisations (sourced by env.sh)\nexport TRACE_ADDR={trace_addr}\n"
VAR_DIR_SH = "export XTK_VAR_DIR={var_dir}\n"  # the var/ tree moved (installation/using/configuring-campaign-server.md)
# the Java integration a broken site has (production/using/failure-to-connect.md: a Tomcat Java error)
BROKEN_JAVA = "# Java for the web module (Tomcat's JSP bridge)\nexport JAVA_HOME=/usr/lib/jvm/{jvm}\n"
SSHD_CONFIG = """# sshd of lab host (runs as {user}, no privilege separation)
ListenAddress {addr}:{port}
HostKey {key}
PidFile none
AuthorizedKeysFile {h}/ssh/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AllowUsers {user}
PermitRootLogin no
X11Forwarding no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
LogLevel ERROR
Subsystem sftp internal-sftp
# where this host's Campaign install is, for a session that has no inventory (remediate's discovery
# reads $NL6_ROOT first, as a server whose login environment sets it)
SetEnv NL6_ROOT={h}/nl6
"""
