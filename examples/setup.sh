# What the example gateways' test scripts share; sourced, not run. Installs Debian's nginx-light
# and curl when missing, builds warden unless $WARDEN names a binary (asking cargo where it puts
# it, so that CARGO_TARGET_DIR and .cargo/config are honoured; the binary the tests use, so that
# after `cargo test` nothing is built again), makes a work directory that is
# removed (and the processes in `pids` stopped) on exit, picks a base port of our own, and
# defines `wait_for URL`, `wait_until WHAT PID LOG COMMAND…` and `serve LOG ARGS…`.
# Sets: root, nginx, warden, tenant, work, pids, base.
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

warden="${WARDEN:-$(cargo test --locked --no-run --message-format=json-render-diagnostics \
  | grep -o '"executable":"[^"]*/warden"' | sed 's/.*:"//; s/"$//' | tail -n 1)}"
[ -x "$warden" ] || { echo "error: no warden binary (the build failed, or \$WARDEN is wrong: '$warden')" >&2; exit 2; }
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

# Ports of our own, so that the test runs beside anything else on the machine (a port the kernel
# picks, as `serve` does, or a Unix socket, never collides).
base=$((20000 + RANDOM % 20000))

wait_for() { # URL
  for _ in $(seq 300); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "error: nothing answers at $1" >&2
  return 1
}

# wait_until WHAT PID LOG COMMAND...: until COMMAND succeeds (30 s at most); fails at once when
# the process PID has ended, showing its LOG.
wait_until() {
  local what=$1 pid=$2 log=$3; shift 3
  for _ in $(seq 300); do
    "$@" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "error: $what ended before it was ready:" >&2; cat "$log" >&2; exit 1
    fi
    sleep 0.1
  done
  echo "error: $what is not ready after 30 s:" >&2; cat "$log" >&2; exit 1
}

# serve LOG ARGS...: `warden serve ARGS` on a loopback port the kernel picks, its log in LOG;
# returns once it answers /healthz, with its host:port in `warden_address`.
serve() {
  local log=$1; shift
  "$warden" serve "$@" --listen 127.0.0.1:0 2>"$log" &
  pids+=($!)
  wait_until warden "$!" "$log" grep -q "listening on http://" "$log"
  warden_address=$(sed -n 's|.*listening on http://\([0-9.:]*\).*|\1|p' "$log" | head -n 1)
  wait_until warden "${pids[-1]}" "$log" curl -sf -o /dev/null "http://$warden_address/healthz"
}
