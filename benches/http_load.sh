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
cargo build --release --locked -q
warden="$root/target/release/warden"
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
port=$((20000 + RANDOM % 20000))
"$warden" serve --tenant "$tenant" --db "$work/warden.db" --listen "127.0.0.1:$port" 2>"$work/requests.log" &
server=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done

url="http://127.0.0.1:$port/v1/auth?permission=app-engine:apps:run&environment=staging"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url")
[ "$status" = 200 ] || { echo "error: the check answers $status, not 200" >&2; exit 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "wrk -t1 -c$connections -d$duration --latency GET /v1/auth (allowed, 200)"
wrk -t1 -c"$connections" -d"$duration" --latency -H "Authorization: Bearer $token" "$url"
echo "request log lines written: $(wc -l < "$work/requests.log")"
