# The root file system of one lab host, shared by its two kinds of init: sourced by
# lab/host-init.sh (no init system) and lab/host-systemd.sh (systemd as PID 1), which already run
# in the host's own network, mount, UTS, IPC and PID namespaces, without CAP_SYS_TIME.
#
# The host's disk is an overlay over this machine's / whose upper and work dirs live on this
# machine, in .lab/<lab>/disks/<host>/, outside the host's mount namespace: when the host is
# killed and booted again (lab reboot) it finds its disk as it left it, while /run and /tmp are new
# tmpfs. The overlay is `volatile` (fsync is a no-op, as on the tmpfs upper the lab used before):
# the machine under it does not crash when a host does, so no write is lost. The first boot on a
# disk makes the host unique (prepare_host); later boots keep its hostname, machine-id and keys.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Set by the first step of each kind's init: where the disk is and whether this is its first boot.
disk=
first_boot=

# upper_dir_like UPPER DIR: creates DIR (and its missing parents) in the upper dir UPPER with the
# owner and mode they have on this machine (a merged directory takes the upper one's).
upper_dir_like() {
  [ -d "$1$2" ] && return 0
  upper_dir_like "$1" "$(dirname "$2")"
  mkdir "$1$2"
  chown --reference="$2" "$1$2"
  chmod --reference="$2" "$1$2"
}

# hide_in_upper UPPER DIR...: makes each DIR (of this machine) an empty, opaque directory in the
# upper dir UPPER: the host sees it empty, and what it writes there stays on its disk. A DIR
# inside another one, or missing on this machine, is skipped.
hide_in_upper() {
  upper=$1
  shift
  opaque=()
  for dir in "$@"; do
    [ -d "$dir" ] || continue
    inside=""
    for other in "$@"; do
      case "$dir" in "$other"/*) inside=yes ;; esac
    done
    [ -z "$inside" ] || continue
    upper_dir_like "$upper" "$dir"
    opaque+=("$upper$dir")
  done
  if [ "${#opaque[@]}" -gt 0 ]; then
    /usr/bin/python3 -c 'import os, sys
for p in sys.argv[1:]: os.setxattr(p, "trusted.overlay.opaque", b"y")' "${opaque[@]}"
  fi
}

# mount_root KIND DISK HIDDEN...: mounts the host's root on a staging tmpfs and pivots into it.
# KIND: none (this machine's /dev, proc and sysfs, as the lab always had) or systemd (a container's
# view: its own small /dev, /proc/sys and sysfs read-only but for the host's network settings, and
# the host's own cgroup2 subtree at /sys/fs/cgroup).
mount_root() {
  kind=$1
  disk=$2
  shift 2
  upper=$disk/upper
  if [ -e "$upper/var/lib/tskv-lab/prepared" ]; then first_boot=""; else first_boot=yes; fi
  mkdir -p "$upper" "$disk/work"
  # The checkout and the operator's files are hidden (tskv must arrive over SSH).
  if [ -n "$first_boot" ]; then hide_in_upper "$upper" /root "$@"; fi
  # A volatile overlay leaves this behind on purpose, and refuses to mount again while it is there.
  rm -rf "$disk/work/work/incompat/volatile"

  # The staging tmpfs is mounted in this (private) mount namespace only, beside the disk: on /tmp it
  # would hide a checkout that lives under /tmp, and with it the disk.
  stage=$disk/stage
  mkdir -p "$stage"
  mount -t tmpfs -o mode=755 tskv-lab-stage "$stage"
  r=$stage/root
  mkdir "$r"
  if ! mount -t overlay tskv-lab-root -o "lowerdir=/,upperdir=$upper,workdir=$disk/work,volatile" "$r"; then
    echo "cannot mount the host's disk: $disk must be on a file system overlayfs takes as upper dir (ext4, xfs, btrfs, tmpfs)" >&2
    exit 1
  fi
  case "$kind" in
    none)
      mount --rbind /dev "$r/dev"
      mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm"
      mount -t proc proc "$r/proc"
      mount -t sysfs sysfs "$r/sys"
      ;;
    systemd)
      # No device of this machine but the harmless ones; /dev/console goes nowhere (systemd's
      # status lines are in the host's journal). Each bind is read-only: the devices still read
      # and write, but the host cannot chown or chmod this machine's device nodes (systemd makes
      # its console root:tty 0620, which on a writable bind was this machine's /dev/null).
      mount -t tmpfs -o mode=755,size=4m tmpfs "$r/dev"
      for node in null zero full random urandom tty console; do
        touch "$r/dev/$node"
        if [ "$node" = console ]; then src=/dev/null; else src=/dev/$node; fi
        mount --bind "$src" "$r/dev/$node"
        mount -o remount,bind,ro "$r/dev/$node"
      done
      mkdir "$r/dev/pts" "$r/dev/shm"
      mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$r/dev/pts"
      ln -s pts/ptmx "$r/dev/ptmx"
      ln -s /proc/self/fd "$r/dev/fd"
      for i in 0:stdin 1:stdout 2:stderr; do ln -s "/proc/self/fd/${i%%:*}" "$r/dev/${i#*:}"; done
      mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm"
      # /proc/sys holds this machine's kernel settings (systemd-sysctl would change them):
      # read-only, but for /proc/sys/net, which is the host's own network namespace.
      mount -t proc proc "$r/proc"
      mount --bind "$r/proc/sys" "$r/proc/sys"
      mount --bind "$r/proc/sys/net" "$r/proc/sys/net"
      mount -o remount,bind,ro "$r/proc/sys"
      mount -t sysfs -o ro sysfs "$r/sys"
      mount -t cgroup2 cgroup2 "$r/sys/fs/cgroup"
      ;;
    *)
      echo "unknown init kind '$kind'" >&2
      exit 1
      ;;
  esac
  mount -t tmpfs -o mode=755 tmpfs "$r/run"
  mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"

  cd "$r"
  mkdir -p .tskv-oldroot
  pivot_root . .tskv-oldroot
  cd /
  umount -l /.tskv-oldroot
  rmdir /.tskv-oldroot
  mkdir -p /run/tskv-lab
}

# prepare_host HOST PUBKEY: what makes a host a bare server of its own, done on its first boot.
prepare_host() {
  host=$1
  pubkey=$2
  # Nothing of tskv's runtime or etcd may be on the host: deploys must bring their own.
  for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin; do
    rm -f "$dir/node" "$dir/nodejs" "$dir/npm" "$dir/npx" "$dir/corepack" \
      "$dir/etcd" "$dir/etcdctl" "$dir/etcdutl"
  done
  # What this machine's etcd-server package left besides the binaries: a bare host has none of it.
  rm -f /etc/default/etcd /etc/init.d/etcd /etc/rc?.d/[SK][0-9][0-9]etcd \
    /lib/systemd/system/etcd.service /etc/systemd/system/etcd2.service \
    /etc/systemd/system/*.wants/etcd.service
  rm -rf /var/lib/etcd
  if getent passwd etcd >/dev/null; then userdel etcd 2>/dev/null || true; fi
  if getent group etcd >/dev/null; then groupdel etcd 2>/dev/null || true; fi
  rm -f /etc/ld.so.preload /etc/faketimerc

  echo "$host" >/etc/hostname
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$host" >/etc/hosts
  rm -f /etc/machine-id /var/lib/dbus/machine-id
  dbus-uuidgen --ensure=/etc/machine-id
  ln -sf /etc/machine-id /var/lib/dbus/machine-id

  # root's home (empty so far): the lab's key only.
  chmod 700 /root
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
}

# The first boot is complete: later boots on this disk skip prepare_host.
mark_prepared() {
  mkdir -p /var/lib/tskv-lab
  touch /var/lib/tskv-lab/prepared
}
