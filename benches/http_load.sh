#!/usr/bin/env bash
# Load on `warden serve`: wrk against forward-auth (`GET /v1/auth`) with a valid token on
# loopback, the example tenant, request logs to a file. Prints wrk's requests per second and
# latency percentiles. Load generator and server share the machine.
#
# Usage: benches/http_load.sh [DURATION] [CONNECTIONS]     (default 20s, 32)
# Needs wrk (Debian: apt-get install wrk); builds the release binary.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
duration=${1:-20s}
connections=${2:-32}
command -v wrk >/dev/null || { echo "error: wrk is missing (Debian: apt-get install wrk)" >&2; exit 2; }
# The binary cargo builds, wherever its target directory is (CARGO_TARGET_DIR, .cargo/config).
warden=$(cargo build --release --locked --bin warden --message-format=json-render-diagnostics \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[ -x "$warden" ] || { echo "error: cargo build gave no warden binary" >&2; exit 2; }
tenant="$root/policies/example"

work="$(mktemp -d)"
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

token=$("$warden" token create --tenant "$tenant" --db "$work/warden.db" --as alice@acme.example \
  --name load --scope app-engine:apps:run --account-wide --never-expires 2>/dev/null | sed -n 1p)
# On a port the kernel picks; warden prints where it listens.
"$warden" serve --tenant "$tenant" --db "$work/warden.db" --listen 127.0.0.1:0 2>"$work/requests.log" &
server=$!
address=""
for _ in $(seq 300); do
  address=$(sed -n 's|.*listening on http://\([0-9.:]*\).*|\1|p' "$work/requests.log" | head -n 1)
  [ -n "$address" ] && curl -sf -o /dev/null "http://$address/healthz" && break
  kill -0 "$server" 2>/dev/null || { echo "error: warden serve ended:" >&2; cat "$work/requests.log" >&2; exit 1; }
  sleep 0.1
done

url="http://$address/v1/auth?permission=app-engine:apps:run&environment=staging"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url")
[ "$status" = 200 ] || { echo "error: the check answers $status, not 200" >&2; exit 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "wrk -t1 -c$connections -d$duration --latency GET /v1/auth (allowed, 200)"
wrk -t1 -c"$connections" -d"$duration" --latency -H "Authorization: Bearer $token" "$url"
echo "request log lines written: $(wc -l < "$work/requests.log")"
