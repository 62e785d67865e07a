#!/usr/bin/env bash
# Starts real nginx (Debian's package; installed when missing), warden and the stand-in
# application, and checks 200, 401 and 403 through nginx's auth_request.
# Usage: examples/nginx/test.sh   (from anywhere; builds warden, or takes the binary in $WARDEN)
#
# Nothing here races: warden listens on a port the kernel picks (it prints it), nginx and the
# application listen on Unix sockets in a fresh directory (no port another program could hold),
# and the checks begin once warden, nginx and the application each answer.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../setup.sh
. "$here/../setup.sh"

# Tokens of alice (SRE: app-engine admin in staging; logs in prod except secret namespaces):
# one that may run apps, read logs and manage tokens, one to disable, one without the scope.
token() { # NAME SCOPE...
  local name=$1; shift
  local scopes=()
  for scope in "$@"; do scopes+=(--scope "$scope"); done
  "$warden" token create --tenant "$tenant" --db "$work/warden.db" --as alice@acme.example \
    --name "$name" "${scopes[@]}" --account-wide --never-expires 2>>"$work/cli.log" | sed -n 1p
}
runner=$(token runner app-engine:apps:run storage:logs:read platform-token:tokens:write)
victim=$(token victim app-engine:apps:run)
other=$(token other document:documents:read)

serve "$work/warden.log" --tenant "$tenant" --db "$work/warden.db"
api="http://$warden_address"

# The example's configuration with the addresses of this run: warden where it listens, nginx
# and the application on sockets in the work directory.
front="$work/nginx.sock" application="$work/application.sock"
mkdir -p "$work/tmp"
cp "$here/warden-check.conf" "$work/"
sed -e "s|listen 127.0.0.1:8000|listen unix:$front|; s|listen 127.0.0.1:8001|listen unix:$application|; s|127.0.0.1:8080|$warden_address|" \
  "$here/nginx.conf" > "$work/nginx.conf"
sed -e "s|http://127.0.0.1:8001|http://unix:$application:|" "$here/warden-pass.conf" > "$work/warden-pass.conf"
"$nginx" -p "$work" -c "$work/nginx.conf" -e stderr -g 'daemon off;' 2>"$work/nginx.log" &
pids+=($!)
# answers SOCKET URL: something answers HTTP there.
answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$1" "$2")" != 000 ]; }
wait_until nginx "$!" "$work/nginx.log" answers "$front" http://nginx/
wait_until "the application" "${pids[-1]}" "$work/nginx.log" answers "$application" http://application/

failures=0
# expect WHAT STATUS [REASON] -- curl arguments
expect() {
  local what=$1 status=$2 reason=$3; shift 4
  local headers="$work/headers" body="$work/body"
  local got
  got=$(curl -s -o "$body" -D "$headers" -w '%{http_code}' "$@")
  local got_reason
  got_reason=$(tr -d '\r' < "$headers" | awk -F': ' 'tolower($1) == "x-warden-reason" { print $2 }')
  if [ "$got" = "$status" ] && { [ -z "$reason" ] || [ "$got_reason" = "$reason" ]; }; then
    echo "ok    $what: $got ${got_reason:-}"
  else
    echo "FAIL  $what: expected $status ${reason:-}, got $got ${got_reason:-}" >&2
    cat "$headers" "$body" >&2
    failures=$((failures + 1))
  fi
}

via=(--unix-socket "$front")
app="http://nginx"
# A forged token: the real one with its last character changed, so that its checksum fails.
forged="${runner%?}$([ "${runner: -1}" = A ] && echo B || echo A)"
expect "no token" 401 "" -- "${via[@]}" "$app/apps/deploy"
grep -qi '^www-authenticate: Bearer realm="warden"' "$work/headers" \
  || { echo "FAIL  no token: no bare WWW-Authenticate challenge" >&2; failures=$((failures + 1)); }
expect "a forged token" 401 "" -- "${via[@]}" -H "Authorization: Bearer $forged" "$app/apps/deploy"
grep -qi '^www-authenticate: Bearer error="invalid_token"' "$work/headers" \
  || { echo "FAIL  a forged token: no invalid_token challenge" >&2; failures=$((failures + 1)); }
expect "a valid token" 200 "ok" -- "${via[@]}" -H "Authorization: Bearer $runner" "$app/apps/deploy"
grep -q "hello alice@acme.example from /apps/deploy" "$work/body" \
  || { echo "FAIL  the application did not get the user from warden" >&2; failures=$((failures + 1)); }
expect "a token without the scope" 403 "insufficient_scope" -- "${via[@]}" -H "Authorization: Bearer $other" "$app/apps/deploy"
expect "a smuggled permission header" 403 "insufficient_scope" -- "${via[@]}" \
  -H "Authorization: Bearer $other" -H "X-Warden-Permission: document:documents:read" "$app/apps/deploy"
expect "the owner's policies decide (logs in prod: only some namespaces)" 403 "conditional" -- "${via[@]}" \
  -H "Authorization: Bearer $runner" "$app/logs/today"

# Disable a token through warden's API: refused at once.
id=$(echo "$victim" | cut -d. -f1,2)
expect "the victim before" 200 "ok" -- "${via[@]}" -H "Authorization: Bearer $victim" "$app/apps/deploy"
expect "disable it over the API" 204 "" -- -X PUT -H "Authorization: Bearer $runner" -H "Content-Type: application/json" \
  -d '{"status": "INACTIVE"}' "$api/iam/v1/accounts/acme/platform-tokens/$id/status"
expect "the victim after" 403 "token_disabled" -- "${via[@]}" -H "Authorization: Bearer $victim" "$app/apps/deploy"

# The last request lines reach the log within 50 ms: look once they are all there.
sleep 0.2
if grep -q "${runner##*.}" "$work/warden.log"; then
  echo "FAIL  a token secret is in warden's log" >&2
  failures=$((failures + 1))
fi

if [ "$failures" -ne 0 ]; then
  echo "--- warden log" >&2; cat "$work/warden.log" >&2
  echo "--- nginx log" >&2; cat "$work/nginx.log" >&2
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "nginx + warden: every check passed"
