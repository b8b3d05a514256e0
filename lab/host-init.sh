# The init process (PID 1) of one lab host without an init system. Started by lab/boot.ts, roughly as
#   nsenter --net=/run/netns/tskv-LAB.HOST unshare --mount --uts --ipc --pid --fork \
#     setpriv --bounding-set -sys_time env -i /bin/bash host-init.sh HOST PUBKEY DISK HIDDEN-DIRS...
# so everything here already lives in the host's own network, mount, UTS, IPC and PID namespaces
# and can never regain CAP_SYS_TIME. It mounts the host's root (lab/host-root.sh: an overlay of /
# on the host's disk DISK) and pivots into it, makes the host unique on its first boot, starts
# dbus, firewalld and sshd, writes /run/tskv-lab/ready (or /run/tskv-lab/failed) and then waits
# forever.
set -eEu
# shellcheck source=lab/host-root.sh
. "$(dirname "$0")/host-root.sh"
host=$1
pubkey=$2
shift 2
hostname "$host"
mount_root none "$@"

trap 'echo "line $LINENO" >/run/tskv-lab/failed' ERR
if [ -n "$first_boot" ]; then
  prepare_host "$host" "$pubkey"
  mark_prepared
fi

mkdir -p /run/dbus /run/sshd /var/log
dbus-daemon --system --fork
firewalld
FAKETIME_SKIP_CMDS=sshd /usr/sbin/sshd

# Ready once firewalld answers on the bus (it takes a few seconds to come up).
until firewall-cmd --state >/dev/null 2>&1; do
  if ! pgrep -x firewalld >/dev/null && ! pgrep -f /usr/sbin/firewalld >/dev/null; then
    echo "firewalld exited (see /var/log/firewalld)" >/run/tskv-lab/failed
    exit 1
  fi
done
trap - ERR
echo ready >/run/tskv-lab/ready

# PID 1 of the host: reap orphans, wait forever.
trap 'exit 0' TERM
while :; do
  sleep infinity &
  wait || true
done
