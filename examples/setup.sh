# What the example gateways' test scripts share; sourced, not run. Installs Debian's nginx-light
# and curl when missing, builds warden when target/debug/warden is missing, makes a work
# directory that is removed (and the processes in `pids` stopped) on exit, picks a base port of
# our own, and defines `wait_for URL`. Sets: root, nginx, warden, tenant, work, pids, base.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

install() {
  local runner=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "error: $* is missing and there is no sudo to install it" >&2; exit 2; }
    runner=(sudo)
  fi
  "${runner[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${runner[@]}" apt-get install -y -qq "$@" >/dev/null
}
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || install nginx-light
command -v curl >/dev/null || install curl
nginx=$(command -v nginx || echo /usr/sbin/nginx)

warden="${WARDEN:-$root/target/debug/warden}"
[ -x "$warden" ] || cargo build --locked -q
tenant="$root/policies/example"

work="$(mktemp -d)"
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Ports of our own, so that the test runs beside anything else on the machine.
base=$((20000 + RANDOM % 20000))

wait_for() { # URL
  for _ in $(seq 100); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "error: nothing answers at $1" >&2
  return 1
}
