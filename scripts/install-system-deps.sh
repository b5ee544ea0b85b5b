#!/bin/sh
# Install the system packages the Campaign lab needs (Debian 12), idempotently.
# As root: installs openssh-server, postgresql, curl, iproute2, procps, prometheus-node-exporter (the
# monitoring test serves remediate check results through it), prometheus-alertmanager (the silence tests
# start their own on loopback), iptables (the network tests'
# bastion-only rule), sudo (the become: sudo test: root reaching the Campaign account) (apt-get update only when a
# package is missing), makes sure no Debian-started sshd/postgresql service can collide with the lab
# (the lab uses its own addresses 127.0.X.K:2222 and 127.0.X.250:5432; Debian's services use :22 and
# localhost:5432 and are stopped/disabled here if the packages were just installed), and creates the
# unprivileged lab login user `neolane`.
# As a normal user: only checks that the tools exist and lists what is missing.
set -eu

PKGS="openssh-server openssh-client postgresql curl iproute2 procps python3 iptables prometheus-node-exporter sudo prometheus-alertmanager"
TOOLS="/usr/sbin/sshd ssh ssh-keygen psql /usr/lib/postgresql/15/bin/initdb /usr/lib/postgresql/15/bin/pg_ctl curl ss ps timeout find stat /usr/bin/prometheus-alertmanager"

missing_tools() {
    out=""
    for t in $TOOLS; do
        case "$t" in
            /*) [ -x "$t" ] || out="$out $t" ;;
            *) command -v "$t" >/dev/null 2>&1 || out="$out $t" ;;
        esac
    done
    echo "$out"
}

if [ "$(id -u)" -ne 0 ]; then
    m="$(missing_tools)"
    if [ -n "$m" ]; then
        echo "missing:$m" >&2
        echo "run as root: sh scripts/install-system-deps.sh (installs: $PKGS)" >&2
        exit 1
    fi
    echo "all lab tools present (the lab will log in as $(id -un))"
    exit 0
fi

need=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
    export DEBIAN_FRONTEND=noninteractive
    # keep package installation from starting services (no policy-rc.d of our own is left behind)
    created_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' 2>/dev/null | head -1)" ] \
        || ! apt-get install -y --no-install-recommends $need; then
        apt-get update
        apt-get install -y --no-install-recommends $need
    fi
    [ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        for s in ssh postgresql prometheus-node-exporter prometheus-alertmanager; do
            systemctl disable --now "$s" >/dev/null 2>&1 || true
        done
    fi
fi

if ! id neolane >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash neolane
    echo "created user neolane"
fi

m="$(missing_tools)"
if [ -n "$m" ]; then
    echo "still missing:$m" >&2
    exit 1
fi
echo "lab system dependencies OK"
