# Shared by the example scripts (sourced): installing Debian packages that are missing, and
# waiting for a server to answer.

install() { # PACKAGE...
  local runner=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "error: $* is missing and there is no sudo to install it" >&2; exit 2; }
    runner=(sudo)
  fi
  "${runner[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${runner[@]}" apt-get install -y -qq "$@" >/dev/null
}

wait_for() { # URL
  for _ in $(seq 100); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "error: nothing answers at $1" >&2
  return 1
}
