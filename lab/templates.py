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
  <syslogd autoStart="false" port="6666" maxFileSizeMb="10"/>
  <web autoStart="false" httpPort="8080" controlPort="8005"/>
  <watchdog processRestartTime="06:00"/>
</serverconf>
"""
CONFIG_DEFAULT = """<?xml version='1.0'?>
<serverconf>
  <syslogd autoStart="true" address="{addr}" port="6666" maxFileSizeMb="10"/>
  <web autoStart="true" address="{addr}" httpPort="8080" controlPort="8005"/>
  <trackinglogd autoStart="true"/>
</serverconf>
"""
CONFIG_INSTANCE = """<?xml version='1.0'?>
<serverconf>
  <shared>
    <dataStore>
      <dataSource name="default">
        <dbcnx provider="PostgreSQL" server="{db_host}" port="{db_port}" dbName="campaign_{host}" login="{host}"/>
      </dataSource>
    </dataStore>
  </shared>
  <wfserver autoStart="true"/>
  <mta autoStart="true" statServerAddress="{addr}"/>
  <stat autoStart="true" port="7777"/>
  <inMail autoStart="true"/>
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
"""
