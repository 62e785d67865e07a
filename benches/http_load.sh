#!/usr/bin/env bash
# Load on `warden serve` beside nginx, in the same run: wrk against nginx answering `return 200`
# (the floor: an HTTP server that does nothing) and then against warden's forward-auth
# (`GET /v1/auth`) with a valid token on loopback, the example tenant, request logs to a file.
# Prints wrk's requests per second and latency percentiles for both, and warden's requests per
# second as a share of nginx's. Load generator and servers share the machine; both servers use
# every core (nginx `worker_processes auto`, warden's multi-threaded runtime). Each server's CPU
# time per request (user + system, from /proc) is printed too: unlike requests per second, it
# holds when other work shares the cores.
#
# Usage: benches/http_load.sh [DURATION] [CONNECTIONS]     (default 20s, 32)
# Needs wrk and nginx (Debian: apt-get install wrk nginx); builds the release binary.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
duration=${1:-20s}
connections=${2:-32}
command -v wrk >/dev/null || { echo "error: wrk is missing (Debian: apt-get install wrk)" >&2; exit 2; }
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "error: nginx is missing (Debian: apt-get install nginx)" >&2; exit 2; }
# The binary cargo builds, wherever its target directory is (CARGO_TARGET_DIR, .cargo/config).
warden=$(cargo build --release --locked --bin warden --message-format=json-render-diagnostics \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
[ -x "$warden" ] || { echo "error: cargo build gave no warden binary" >&2; exit 2; }
tenant="$root/policies/example"

work="$(mktemp -d)"
server=""
floor=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ -n "$floor" ] && kill "$floor" 2>/dev/null && wait "$floor" 2>/dev/null
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

# Beside warden's port, which the kernel picked free.
nginx_port=$((${address##*:} + 1))
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen 127.0.0.1:$nginx_port; location / { return 200; } }
}
NGINX
"$nginx" -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>"$work/nginx/stderr" &
floor=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && break; sleep 0.1; done
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$nginx_port/v1/auth")
[ "$status" = 200 ] || { echo "error: nginx answers $status, not 200: $(cat "$work/nginx/stderr")" >&2; exit 1; }

# Clock ticks of user and system time the processes have used.
ticks() { local total=0 pid; for pid in "$@"; do total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat"))); done; echo "$total"; }
# wrk against URL, its output to FILE, then the CPU time PIDS used per request answered.
load() { # FILE URL PID...
  local out=$1 url=$2; shift 2
  local before; before=$(ticks "$@")
  wrk -t1 -c"$connections" -d"$duration" --latency -H "Authorization: Bearer $token" "$url" | tee "$out"
  local used=$(($(ticks "$@") - before)) answered
  answered=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$out")
  awk -v t="$used" -v hz="$(getconf CLK_TCK)" -v n="$answered" 'BEGIN { printf "%.2f\n", t / hz * 1e6 / n }' >"$out.cpu"
  echo "server CPU time per request: $(cat "$out.cpu") µs"
}
# nginx's workers, the children of its master process.
workers=$(pgrep -P "$floor" | tr '\n' ' ')

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
# The same request line and headers to both, so both read the same bytes.
query="/v1/auth?permission=app-engine:apps:run&environment=staging"
echo "wrk -t1 -c$connections -d$duration --latency GET /v1/auth on nginx (return 200)"
# shellcheck disable=SC2086 # one pid per worker
load "$work/nginx.txt" "http://127.0.0.1:$nginx_port$query" $workers
echo
echo "wrk -t1 -c$connections -d$duration --latency GET /v1/auth on warden (allowed, 200)"
load "$work/warden.txt" "$url" "$server"
echo "request log lines written: $(wc -l < "$work/requests.log")"
rate() { sed -n 's/^Requests\/sec: *//p' "$1"; }
awk -v w="$(rate "$work/warden.txt")" -v n="$(rate "$work/nginx.txt")" \
  'BEGIN { printf "warden %.0f req/s, nginx %.0f req/s: warden/nginx = %.2f\n", w, n, w / n }'
awk -v w="$(cat "$work/warden.txt.cpu")" -v n="$(cat "$work/nginx.txt.cpu")" \
  'BEGIN { printf "CPU time per request: warden %.2f µs, nginx %.2f µs: warden/nginx = %.2f\n", w, n, w / n }'
