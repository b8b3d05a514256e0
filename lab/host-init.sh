# The init process (PID 1) of one lab host. Started by lab/boot.ts, roughly as
#   nsenter --net=/run/netns/tskv-LAB.HOST unshare --mount --uts --ipc --pid --fork \
#     setpriv --bounding-set -sys_time env -i /bin/bash host-init.sh HOST PUBKEY HIDDEN-DIRS...
# so everything here already lives in the host's own network, mount, UTS, IPC and PID namespaces
# and can never regain CAP_SYS_TIME. It builds an overlay copy of / (upper on a tmpfs), pivots
# into it, makes the host unique (hostname, machine-id, SSH host keys), starts dbus, firewalld
# and sshd, writes /run/tskv-lab/ready (or /run/tskv-lab/failed) and then waits forever.
set -eu
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
host=$1
pubkey=$2
shift 2

hostname "$host"

# The overlay root. The staging tmpfs is mounted in this (private) mount namespace only.
stage=/tmp
mount -t tmpfs -o mode=755 tskv-lab-stage "$stage"
mkdir "$stage/upper" "$stage/work" "$stage/root"
mount -t overlay tskv-lab-root -o "lowerdir=/,upperdir=$stage/upper,workdir=$stage/work" "$stage/root"
r=$stage/root
mount --rbind /dev "$r/dev"
mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm"
mount -t proc proc "$r/proc"
mount -t sysfs sysfs "$r/sys"
mount -t tmpfs -o mode=755 tmpfs "$r/run"
mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
mount -t tmpfs -o mode=700 tmpfs "$r/root"
# Hide the project checkout and anything else of the operator's (tskv must arrive over SSH).
for dir in "$@"; do
  if [ -d "$r$dir" ]; then mount -t tmpfs -o mode=755 tmpfs "$r$dir"; fi
done

cd "$r"
mkdir -p .tskv-oldroot
pivot_root . .tskv-oldroot
cd /
umount -l /.tskv-oldroot
rmdir /.tskv-oldroot

mkdir -p /run/tskv-lab
trap 'echo "line $LINENO" >/run/tskv-lab/failed' ERR

# Nothing of tskv's runtime or etcd may be on the host: deploys must bring their own.
for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin; do
  rm -f "$dir/node" "$dir/nodejs" "$dir/npm" "$dir/npx" "$dir/corepack" \
    "$dir/etcd" "$dir/etcdctl" "$dir/etcdutl"
done
# What this machine's etcd-server package left besides the binaries: a bare host has none of it.
rm -f /etc/default/etcd /etc/init.d/etcd /etc/rc?.d/[SK][0-9][0-9]etcd \
  /lib/systemd/system/etcd.service /etc/systemd/system/*.wants/etcd.service
rm -rf /var/lib/etcd
if getent passwd etcd >/dev/null; then userdel etcd 2>/dev/null || true; fi
if getent group etcd >/dev/null; then groupdel etcd 2>/dev/null || true; fi
rm -f /etc/ld.so.preload /etc/faketimerc

echo "$host" >/etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$host" >/etc/hosts
rm -f /etc/machine-id /var/lib/dbus/machine-id
dbus-uuidgen --ensure=/etc/machine-id
ln -sf /etc/machine-id /var/lib/dbus/machine-id

# root's home: the lab's key only.
cp /etc/skel/.bashrc /etc/skel/.profile /root/ 2>/dev/null || true
mkdir -m 700 /root/.ssh
printf '%s\n' "$pubkey" >/root/.ssh/authorized_keys
chmod 600 /root/.ssh/authorized_keys

# Fresh SSH host keys: this machine's keys must not be shared by the hosts.
rm -f /etc/ssh/ssh_host_*
ssh-keygen -A >/dev/null
cat >/etc/ssh/sshd_config.d/00-tskv-lab.conf <<'CONF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
CONF

# Firewall: firewalld's shipped defaults, zone public (ssh allowed, 2379/2380 rejected).
rm -f /etc/firewalld/zones/*.xml /etc/firewalld/zones/*.xml.old
sed -i 's/^DefaultZone=.*/DefaultZone=public/' /etc/firewalld/firewalld.conf
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
