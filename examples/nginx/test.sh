#!/usr/bin/env bash
# Starts real nginx (Debian's package; installed when missing), warden and the stand-in
# application on loopback, and checks 200, 401 and 403 through nginx's auth_request.
# Usage: examples/nginx/test.sh   (from anywhere; builds warden when target/debug/warden is missing)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../setup.sh
. "$here/../setup.sh"
nginx_port=$base app_port=$((base + 1)) warden_port=$((base + 2))

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

"$warden" serve --tenant "$tenant" --db "$work/warden.db" --listen "127.0.0.1:$warden_port" 2>"$work/warden.log" &
pids+=($!)
wait_for "http://127.0.0.1:$warden_port/healthz"

mkdir -p "$work/tmp"
cp "$here/warden-check.conf" "$here/warden-pass.conf" "$work/"
sed -e "s/127.0.0.1:8000/127.0.0.1:$nginx_port/; s/127.0.0.1:8001/127.0.0.1:$app_port/g; s/127.0.0.1:8080/127.0.0.1:$warden_port/" \
  "$here/nginx.conf" > "$work/nginx.conf"
sed -i "s/127.0.0.1:8001/127.0.0.1:$app_port/" "$work/warden-pass.conf"
"$nginx" -p "$work" -c "$work/nginx.conf" -e stderr -g 'daemon off;' 2>"$work/nginx.log" &
pids+=($!)
wait_for "http://127.0.0.1:$nginx_port/"

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

app="http://127.0.0.1:$nginx_port"
expect "no token" 401 "" -- "$app/apps/deploy"
grep -qi '^www-authenticate: Bearer realm="warden"' "$work/headers" \
  || { echo "FAIL  no token: no bare WWW-Authenticate challenge" >&2; failures=$((failures + 1)); }
expect "a forged token" 401 "" -- -H "Authorization: Bearer ${runner%?}A" "$app/apps/deploy"
grep -qi '^www-authenticate: Bearer error="invalid_token"' "$work/headers" \
  || { echo "FAIL  a forged token: no invalid_token challenge" >&2; failures=$((failures + 1)); }
expect "a valid token" 200 "ok" -- -H "Authorization: Bearer $runner" "$app/apps/deploy"
grep -q "hello alice@acme.example from /apps/deploy" "$work/body" \
  || { echo "FAIL  the application did not get the user from warden" >&2; failures=$((failures + 1)); }
expect "a token without the scope" 403 "insufficient_scope" -- -H "Authorization: Bearer $other" "$app/apps/deploy"
expect "a smuggled permission header" 403 "insufficient_scope" -- \
  -H "Authorization: Bearer $other" -H "X-Warden-Permission: document:documents:read" "$app/apps/deploy"
expect "the owner's policies decide (logs in prod: only some namespaces)" 403 "conditional" -- \
  -H "Authorization: Bearer $runner" "$app/logs/today"

# Disable a token through warden's API: refused at once.
id=$(echo "$victim" | cut -d. -f1,2)
expect "the victim before" 200 "ok" -- -H "Authorization: Bearer $victim" "$app/apps/deploy"
expect "disable it over the API" 204 "" -- -X PUT -H "Authorization: Bearer $runner" -H "Content-Type: application/json" \
  -d '{"status": "INACTIVE"}' "http://127.0.0.1:$warden_port/iam/v1/accounts/acme/platform-tokens/$id/status"
expect "the victim after" 403 "token_disabled" -- -H "Authorization: Bearer $victim" "$app/apps/deploy"

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
