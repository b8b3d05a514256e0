#!/bin/sh
# Installs the Debian packages the lab needs (as root), only those missing.
# Package post-install scripts must not start services on this machine (sshd, firewalld would
# change its network and firewall): a policy-rc.d that forbids starts is put in place for the
# install when the machine has none, and removed afterwards; on a systemd machine the units of
# the packages installed here are disabled again, so nothing of the lab starts at boot either.
# The lab hosts run these programs themselves, inside their own namespaces.
set -eu

PACKAGES="openssh-server openssh-client firewalld dbus nftables faketime libfaketime socat iproute2 util-linux procps sudo etcd-server etcd-client zsh"

missing=""
for pkg in $PACKAGES; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  case "$status" in
    "install ok installed") ;;
    *) missing="$missing $pkg" ;;
  esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "lab-deps: missing Debian packages:$missing (run as root to install them)" >&2
  exit 1
fi

echo "lab-deps: installing$missing" >&2
policy=/usr/sbin/policy-rc.d
created_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# tskv lab-deps: no service starts during package install\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=yes
fi
cleanup() { if [ -n "$created_policy" ]; then rm -f "$policy"; fi; }
trap cleanup EXIT INT TERM

export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! apt-get install -y -q --no-install-recommends $missing >/dev/null; then
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

if [ -d /run/systemd/system ]; then
  for pkg in $missing; do
    case "$pkg" in
      openssh-server) units="ssh.service ssh.socket" ;;
      firewalld) units="firewalld.service" ;;
      etcd-server) units="etcd.service" ;;
      nftables) units="nftables.service" ;;
      *) units="" ;;
    esac
    # shellcheck disable=SC2086
    if [ -n "$units" ]; then systemctl disable $units >/dev/null 2>&1 || true; fi
  done
fi
