#!/usr/bin/env bash
# make deps: the Debian packages `make test` needs besides its virtualenv. Checks each tool; as
# root, installs the missing packages with apt-get (one update first); otherwise names them and
# fails. Nothing missing: prints nothing and changes nothing.
#   python3 python3-venv  the virtualenv (`make setup`); /usr/bin/python3 runs frr-reload.py
#   frr frr-pythontools   tests/test_frr.py checks frr.conf with vtysh, zebra and bgpd; the lab's
#                         switches run them, Pulumi's SwitchConfig reloads with frr-reload.py
#   iproute2 lldpd iputils-ping   the lab's namespaces and veth cables, LLDP, pings
#   openssh-server openssh-client the lab's servers run sshd; bring-up reaches them with ssh
#   openssl               the lab's switches keep their user's password as a crypt hash
#   chromium              tests/test_report.py opens the HTML report in headless Chromium
#   graphviz              `dot` draws docs/architecture
#   git                   tests/test_diff.py compares revisions of a cluster file
#   network-manager netplan.io   tests/test_hostnet.py reads the rendered host network files
#                         with `nmcli --offline` (no daemon) and `netplan generate --root-dir`;
#                         installed without recommends (no ModemManager, wpasupplicant, ...)
#                         and no daemon is started (none runs without systemd as PID 1)
#   dnf                   tests/test_mirror.py reads the rendered .repo with dnf's own parser
#                         (python3-dnf); apt-get reads the .sources
set -euo pipefail
PYTHON=${PYTHON:-python3}

need() {  # need PACKAGE CHECK...: PACKAGE is missing unless CHECK succeeds
  local pkg=$1
  shift
  if ! "$@" >/dev/null 2>&1; then
    case " ${missing[*]-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
  fi
}
has() { command -v "$1"; }

check() {
  missing=()
  need python3 has "$PYTHON"
  need python3 test -x /usr/bin/python3
  need python3-venv "$PYTHON" -c 'import ensurepip; ensurepip.version()'
  need frr has vtysh
  need frr test -x /usr/lib/frr/zebra -a -x /usr/lib/frr/bgpd
  need frr-pythontools test -x /usr/lib/frr/frr-reload.py
  need iproute2 has ip
  need lldpd has lldpd
  need lldpd has lldpcli
  need iputils-ping has ping
  need openssh-server test -x /usr/sbin/sshd
  need openssh-client has ssh
  need openssh-client has ssh-keygen
  need openssl has openssl
  need chromium test -x /usr/bin/chromium
  need graphviz has dot
  need git has git
  need network-manager has nmcli
  need netplan.io has netplan
  need dnf test -x /usr/bin/dnf
  need dnf /usr/bin/python3 -c 'import dnf'
}
LEAN=" network-manager netplan.io "  # installed with --no-install-recommends

check
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$EUID" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "make deps: missing Debian packages: ${missing[*]}" >&2
  echo "install them as root, then run make test again:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "make deps: installing ${missing[*]}"
apt-get update -qq
full=() lean=()
for pkg in "${missing[@]}"; do
  case "$LEAN" in *" $pkg "*) lean+=("$pkg") ;; *) full+=("$pkg") ;; esac
done
if [ ${#full[@]} -ne 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${full[@]}"
fi
if [ ${#lean[@]} -ne 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${lean[@]}"
fi
check
if [ ${#missing[@]} -ne 0 ]; then
  echo "make deps: still missing after apt-get install: ${missing[*]}" >&2
  exit 1
fi
