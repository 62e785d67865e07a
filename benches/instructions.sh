#!/usr/bin/env bash
# Instructions per operation, counted by callgrind (repeatable where times on a shared machine
# are not): each workload runs with 1 and with 3 repetitions, and the difference over the two
# extra ones, divided by their operations, is one operation's count.
#
# Usage: benches/instructions.sh [WHAT N ...]   default: every workload below
#   decide|decide-floor|request|request-floor N   per request of tenant N (1000 per repetition)
#   load N                                       per load of tenant N
#   lint 0 | parse 0                             per pass over the 10000-statement text
# Needs valgrind; reads ../shared/bench/workload (or BENCH_WORKLOAD).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "error: valgrind is missing (Debian: apt-get install valgrind)" >&2; exit 2; }
binary=$(cargo bench --bench instructions --no-run --message-format=json 2>/dev/null \
  | sed -n 's/.*"executable":"\([^"]*instructions[^"]*\)".*/\1/p' | tail -1)
[ -x "$binary" ] || { echo "error: the instructions bench did not build" >&2; exit 1; }
if [ $# -eq 0 ]; then
  set -- decide 10 decide-floor 10 request 10 request-floor 10 decide 10000 decide-floor 10000 \
    request 10000 request-floor 10000 load 10 load 10000 parse 0 lint 0
fi
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$binary" "$@" 2>&1 | sed -n 's/.*refs: *//p' | tr -d ,; }
while [ $# -ge 2 ]; do
  what=$1 n=$2
  shift 2
  case $what in decide*|request*) per=1000 ;; *) per=1 ;; esac
  one=$(count "$what" "$n" 1)
  three=$(count "$what" "$n" 3)
  printf '%-14s N=%-6s %12d instructions per operation\n' "$what" "$n" $(( (three - one) / (2 * per) ))
done
