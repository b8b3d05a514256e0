# The start of one lab host with systemd as its PID 1. Started by lab/boot.ts, roughly as
#   nsenter --net=/run/netns/tskv-LAB.HOST unshare --mount --uts --ipc --pid --fork \
#     setpriv --bounding-set -sys_time,-sys_module env -i \
#     /bin/bash host-systemd.sh HOST PUBKEY CGROUP DISK HIDDEN-DIRS...
# so it is PID 1 of the host's own PID namespace (and its network, mount, UTS and IPC namespaces),
# can never regain CAP_SYS_TIME, and cannot load kernel modules into this machine's kernel. It
# moves itself into the host's cgroup CGROUP (made by lab/boot.ts under the lab's own subtree)
# with a cgroup namespace rooted there, mounts the host's root (lab/host-root.sh) and pivots into
# it, makes the host unique on its first boot, and becomes systemd. /run/tskv-lab/systemd marks
# the handover (or /run/tskv-lab/failed a failure before it); readiness is systemd's to tell.
set -eEu
if [ -z "${TSKV_LAB_CGROUPNS:-}" ]; then
  echo $$ >"$3/cgroup.procs"
  TSKV_LAB_CGROUPNS=1 exec unshare --cgroup /bin/bash "$0" "$@"
fi
# shellcheck source=lab/host-root.sh
. "$(dirname "$0")/host-root.sh"
host=$1
pubkey=$2
shift 3
hostname "$host"
mount_root systemd "$@"

trap 'echo "line $LINENO" >/run/tskv-lab/failed' ERR
if [ -n "$first_boot" ]; then prepare_host "$host" "$pubkey"; fi
# The first boot with systemd on this disk (also on a disk an init-less host used before: the host
# gained systemd, as in a move from the supervisor to systemd).
if [ ! -e /var/lib/tskv-lab/prepared-systemd ]; then
  # Enabled units: those of a bare Debian server with sshd and firewalld. Whatever else this
  # machine enables (etcd, postgresql, docker, its periodic apt/man-db/fstrim/e2scrub timers that
  # would wake up at random in a test...) is disabled in the host.
  keep=" ssh.service firewalld.service getty@tty1.service remote-fs.target systemd-pstore.service systemd-timesyncd.service "
  for link in /etc/systemd/system/*.wants/* /etc/systemd/system/*.requires/*; do
    [ -L "$link" ] || continue
    case "$keep" in *" ${link##*/} "*) ;; *) rm -f "$link" ;; esac
  done
  # Generators: those of a bare server's systemd. Others (this machine's postgresql-generator;
  # cryptsetup, integritysetup, veritysetup, gpt-auto and hibernate-resume, for block devices a
  # lab host has none of) are masked: they only cost boot time.
  keep=" systemd-fstab-generator systemd-getty-generator systemd-rc-local-generator systemd-sysv-generator systemd-debug-generator systemd-run-generator systemd-system-update-generator "
  mkdir -p /etc/systemd/system-generators
  for gen in /lib/systemd/system-generators/* /usr/lib/systemd/system-generators/* /etc/systemd/system-generators/*; do
    [ -e "$gen" ] || continue
    case "$keep" in *" ${gen##*/} "*) ;; *) ln -sfn /dev/null "/etc/systemd/system-generators/${gen##*/}" ;; esac
  done
  # Masked units: a getty on /dev/console fails (it is /dev/null here) and would leave the host
  # degraded; the file systems of this machine's kernel internals (debug, tracing, configfs, fuse
  # control) have no business in a host.
  for unit in console-getty.service sys-kernel-debug.mount sys-kernel-tracing.mount \
    sys-kernel-config.mount sys-fs-fuse-connections.mount; do
    ln -sf /dev/null "/etc/systemd/system/$unit"
  done
  # The root is mounted before systemd starts: nothing of this machine's fstab belongs to a host.
  echo '# tskv lab host: the root file system is set up before systemd starts' >/etc/fstab
  mark_prepared
  touch /var/lib/tskv-lab/prepared-systemd
fi
trap - ERR
echo systemd >/run/tskv-lab/systemd
exec env -i container=tskv-lab SYSTEMD_PROC_CMDLINE=systemd.unified_cgroup_hierarchy=1 /lib/systemd/systemd
