#!/usr/bin/env bash
# Starts real nginx (Debian's package; installed when missing) with basic auth in front of
# warden's token pages on loopback, and checks them with curl as a browser would use them:
# signed in through nginx, a token generated and shown once, the header from any other peer
# or a client refused, a form from another origin refused.
# Usage: examples/ui/test.sh   (from anywhere; builds warden when target/debug/warden is missing)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../setup.sh
. "$here/../setup.sh"
nginx_port=$base warden_port=$((base + 1))
site="http://127.0.0.1:$nginx_port"

"$warden" serve --tenant "$tenant" --db "$work/warden.db" --listen "127.0.0.1:$warden_port" \
  --ui-user-header X-Forwarded-Email --trusted-proxies 127.0.0.2/32 --public-origin "$site" \
  2>"$work/warden.log" &
pids+=($!)
wait_for "http://127.0.0.1:$warden_port/healthz"

# The stand-in for SSO: two people, their emails as user names. ({PLAIN} is for this test only.)
printf '%s\n' 'heidi@acme.example:{PLAIN}heidi-secret' 'grace@acme.example:{PLAIN}grace-secret' > "$work/htpasswd"
mkdir -p "$work/tmp"
sed -e "s/127.0.0.1:8000/127.0.0.1:$nginx_port/; s/127.0.0.1:8080/127.0.0.1:$warden_port/" \
  "$here/nginx.conf" > "$work/nginx.conf"
"$nginx" -p "$work" -c "$work/nginx.conf" -e stderr -g 'daemon off;' 2>"$work/nginx.log" &
pids+=($!)
wait_for "$site/ui/"

failures=0
fail() { echo "FAIL  $*" >&2; failures=$((failures + 1)); }
# page WHAT STATUS TEXT -- curl arguments: the answer's status, and TEXT in its body
page() {
  local what=$1 status=$2 text=$3; shift 4
  local got
  got=$(curl -s -o "$work/body" -D "$work/headers" -w '%{http_code}' "$@")
  if [ "$got" = "$status" ] && { [ -z "$text" ] || grep -qF -- "$text" "$work/body"; }; then
    echo "ok    $what: $got"
  else
    fail "$what: expected $status with \"$text\", got $got"
    cat "$work/body" >&2; echo >&2
  fi
}
heidi=(-u 'heidi@acme.example:heidi-secret')
grace=(-u 'grace@acme.example:grace-secret')

page "nobody signed in at nginx" 401 "" -- "$site/ui/tokens"
page "heidi through nginx" 200 "Signed in as <strong>heidi@acme.example</strong>" -- "${heidi[@]}" "$site/ui/tokens"
page "a header heidi sends herself is replaced" 200 "Signed in as <strong>heidi@acme.example</strong>" -- \
  "${heidi[@]}" -H "X-Forwarded-Email: grace@acme.example" "$site/ui/tokens"
page "the header straight to warden, not from nginx" 401 "Not signed in" -- \
  -H "X-Forwarded-Email: grace@acme.example" "http://127.0.0.1:$warden_port/ui/tokens"
page "grace, an admin, manages every token" 200 "Manage users tokens" -- "${grace[@]}" "$site/ui/manage"
page "heidi is no admin" 403 "platform-token:tokens:manage" -- "${heidi[@]}" "$site/ui/manage"

# Generate a token as the page's form does; the secret is shown once, after a redirect.
page "the Generate form" 200 "Generate platform token" -- "${heidi[@]}" "$site/ui/tokens/new"
form_token=$(grep -o 'name="form_token" value="[^"]*"' "$work/body" | head -1 | sed 's/.*value="//; s/"$//')
generate=(--data-urlencode "form_token=$form_token" --data-urlencode "name=CI runner" -d expires=never
  -d resource=account -d owner=me -d scope=app-engine:apps:run)
page "a form from another origin" 403 "Form refused" -- "${heidi[@]}" -H "Origin: http://evil.example" \
  "${generate[@]}" "$site/ui/tokens"
page "generate" 303 "" -- "${heidi[@]}" -H "Origin: $site" "${generate[@]}" "$site/ui/tokens"
shown=$(tr -d '\r' < "$work/headers" | awk -F': ' 'tolower($1) == "location" { print $2 }')
page "the one-time page" 200 "Copy your new token" -- "${heidi[@]}" "$site$shown"
grep -qi '^cache-control: no-store' "$work/headers" || fail "the one-time page may be cached"
grep -qi "^content-security-policy: default-src 'self'" "$work/headers" || fail "no content security policy"
secret=$(grep -o 'id="secret"[^>]*value="[^"]*"' "$work/body" | sed 's/.*value="//; s/"$//')
[ "${#secret}" = 96 ] || fail "no token on the one-time page"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $secret" \
  "http://127.0.0.1:$warden_port/v1/auth?permission=app-engine:apps:run&environment=staging")
[ "$status" = 200 ] && echo "ok    the new token works: 200" || fail "the new token: $status"
page "the one-time page again" 410 "Nothing to show" -- "${heidi[@]}" "$site$shown"
if grep -qF "${secret##*.}" "$work/body"; then fail "the secret was shown twice"; fi
page "the same form again" 400 "sent already" -- "${heidi[@]}" -H "Origin: $site" "${generate[@]}" "$site/ui/tokens"
page "the token is listed" 200 "CI runner" -- "${heidi[@]}" "$site/ui/tokens"

if grep -qF "${secret##*.}" "$work/warden.log" "$work/nginx.log"; then
  fail "a token secret is in a log"
fi
if [ "$failures" -ne 0 ]; then
  echo "--- warden log" >&2; cat "$work/warden.log" >&2
  echo "--- nginx log" >&2; cat "$work/nginx.log" >&2
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "nginx + warden's token pages: every check passed"
