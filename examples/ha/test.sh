#!/usr/bin/env bash
# Starts PostgreSQL (Debian's package, as `nobody` when run as root), two `warden serve`
# instances on it and nginx in front of both, all on loopback, and checks the whole: tokens made
# through nginx, checks answered by either instance, a disable through one instance refused by
# the other within a second, one instance killed while nginx serves on through the other.
# Usage: examples/ha/test.sh   (from anywhere; builds warden when target/debug/warden is missing;
# installs postgresql, nginx-light and curl when missing)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../setup.sh
. "$here/../setup.sh"
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
[ -n "$(pg_bin)" ] || install postgresql
pg="$(pg_bin)"

# PostgreSQL refuses to run as root: its files and processes are nobody's then.
as_owner=()
if [ "$(id -u)" = 0 ]; then
  chown nobody "$work"
  as_owner=(runuser -u nobody --)
fi
stop_postgres() {
  [ ! -d "$work/pg" ] || "${as_owner[@]}" "$pg/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
}
trap 'stop_postgres; cleanup' EXIT
nginx_port=$base a_port=$((base + 1)) b_port=$((base + 2)) pg_port=$((base + 3))

# PostgreSQL: its superuser migrates, the role `warden` serves.
admin_password="admin-$RANDOM$RANDOM" service_password="service-$RANDOM$RANDOM"
echo "$admin_password" > "$work/admin-password"
chmod 644 "$work/admin-password"
"${as_owner[@]}" "$pg/initdb" -D "$work/pg" -U warden_admin -A scram-sha-256 --auth-local=trust -N \
  --pwfile="$work/admin-password" >"$work/initdb.log"
"${as_owner[@]}" "$pg/pg_ctl" -D "$work/pg" -w -l "$work/pg.log" \
  -o "-p $pg_port -k $work -c listen_addresses=127.0.0.1" start >/dev/null
admin() { PGPASSWORD=$admin_password "$pg/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U warden_admin "$@"; }
admin -d postgres -c "CREATE ROLE warden LOGIN PASSWORD '$service_password'"
admin -d postgres -c "CREATE DATABASE warden"
url="postgres://warden@127.0.0.1:$pg_port/warden?sslmode=disable"
PGPASSWORD=$admin_password "$warden" db migrate --db "postgres://warden_admin@127.0.0.1:$pg_port/warden?sslmode=disable" \
  --grant warden 2>>"$work/cli.log"
export PGPASSWORD=$service_password

# alice's token for the API (the first token of a deployment is made with the CLI).
runner=$("$warden" token create --tenant "$tenant" --db "$url" --as alice@acme.example --name runner \
  --scope app-engine:apps:run --scope platform-token:tokens:write --account-wide --never-expires 2>>"$work/cli.log" | sed -n 1p)

"$warden" serve --tenant "$tenant" --db "$url" --listen "127.0.0.1:$a_port" 2>"$work/a.log" &
a_pid=$!
pids+=("$a_pid")
"$warden" serve --tenant "$tenant" --db "$url" --listen "127.0.0.1:$b_port" 2>"$work/b.log" &
pids+=($!)

wait_for "http://127.0.0.1:$a_port/healthz"
wait_for "http://127.0.0.1:$b_port/healthz"

mkdir -p "$work/tmp"
sed -e "s/127.0.0.1:8080/127.0.0.1:$nginx_port/; s/127.0.0.1:8081/127.0.0.1:$a_port/; s/127.0.0.1:8082/127.0.0.1:$b_port/" \
  "$here/nginx.conf" > "$work/nginx.conf"
"$nginx" -p "$work" -c "$work/nginx.conf" -e stderr -g 'daemon off;' 2>"$work/nginx.log" &
pids+=($!)
wait_for "http://127.0.0.1:$nginx_port/healthz"

failures=0
fail() { echo "FAIL  $*" >&2; failures=$((failures + 1)); }
# status URL [curl arguments]: the HTTP status, the body in $work/body
status() { local url=$1; shift; curl -s -o "$work/body" -w '%{http_code}' "$@" "$url"; }
check() { # WHERE TOKEN: forward-auth for running apps in staging
  status "$1/v1/auth?permission=app-engine:apps:run&environment=staging" -H "Authorization: Bearer $2"
}
lb="http://127.0.0.1:$nginx_port" a="http://127.0.0.1:$a_port" b="http://127.0.0.1:$b_port"
tokens="/iam/v1/accounts/acme/platform-tokens"
json=(-H "Authorization: Bearer $runner" -H "Content-Type: application/json")

got=$(status "$lb$tokens" -X POST "${json[@]}" \
  -d '{"name": "through nginx", "scope": ["app-engine:apps:run"], "resource": ["urn:dtaccount:acme"], "expirationDate": null}')
[ "$got" = 201 ] && echo "ok    a token made through nginx" || fail "create through nginx: $got $(cat "$work/body")"
victim=$(sed -e 's/.*"token":"\([^"]*\)".*/\1/' "$work/body")
id=$(echo "$victim" | cut -d. -f1,2)

all_allowed=yes
for _ in 1 2 3 4 5 6; do [ "$(check "$lb" "$victim")" = 200 ] || all_allowed=no; done
[ "$all_allowed" = yes ] && echo "ok    six checks through nginx allowed" || fail "a check through nginx was refused"
for instance in "$a" "$b"; do
  [ "$(check "$instance" "$victim")" = 200 ] || fail "$instance does not allow the new token"
done
# Request lines reach a log that is no terminal in batches, at most 50 ms late: wait up to a second.
logged() { for _ in $(seq 20); do grep -q "/v1/auth" "$1" && return 0; sleep 0.05; done; return 1; }
logged "$work/a.log" && logged "$work/b.log" \
  && echo "ok    both instances answered" || fail "nginx did not spread the checks over both instances"

# Disabled through A; B has the token cached and must drop it within a second.
got=$(status "$a$tokens/$id/status" -X PUT "${json[@]}" -d '{"status": "INACTIVE"}')
[ "$got" = 204 ] || fail "disable through A: $got $(cat "$work/body")"
refused=no
for _ in $(seq 20); do
  if [ "$(check "$b" "$victim")" = 403 ]; then refused=yes; break; fi
  sleep 0.05
done
[ "$refused" = yes ] && echo "ok    disabled through A, refused by B within a second" || fail "B still allows the disabled token"
[ "$(check "$lb" "$victim")" = 403 ] && echo "ok    refused through nginx" || fail "nginx still allows the disabled token"

# One instance gone: nginx serves on through the other.
kill -9 "$a_pid"
wait "$a_pid" 2>/dev/null || true
served=yes
for _ in 1 2 3 4; do [ "$(check "$lb" "$runner")" = 200 ] || served=no; done
[ "$served" = yes ] && echo "ok    A killed, checks through nginx still allowed" || fail "nginx did not fail over to B"
got=$(status "$lb$tokens" -X POST "${json[@]}" \
  -d '{"name": "after A", "scope": ["app-engine:apps:run"], "resource": ["urn:dtaccount:acme"], "expirationDate": null}')
[ "$got" = 201 ] && echo "ok    A killed, a token made through nginx" || fail "create after A was killed: $got $(cat "$work/body")"

# The last request lines reach the log within 50 ms: look once they are all there.
sleep 0.2
for log in a b cli; do
  if grep -q -e "$service_password" -e "$admin_password" -e "${runner##*.}" "$work/$log.log"; then
    fail "a password or a token secret is in the $log log"
  fi
done

if [ "$failures" -ne 0 ]; then
  for log in a b nginx pg; do echo "--- $log log" >&2; cat "$work/$log.log" >&2; done
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "two warden instances behind nginx on PostgreSQL: every check passed"
