#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests.
#
#   scripts/throwaway-postgres.sh start <dir> [port]
#       Creates <dir> (it must be missing or empty), runs initdb in <dir>/data and starts a server that
#       listens only on 127.0.0.1:<port> (default: the first free port in 55432..55499), with scram
#       password auth for user `postgres` (random password) and its unix socket in <dir>/socket.
#       The server log is <dir>/data/server.log. Waits until the server accepts connections, then prints
#       exactly one line on stdout:  postgres://postgres:<password>@127.0.0.1:<port>/postgres
#       Everything else goes to stderr. Durability is turned off (fsync=off): the data is disposable.
#   scripts/throwaway-postgres.sh stop <dir>
#       Stops that server fast and removes <dir>. Does nothing (successfully) when <dir> is gone.
#   scripts/throwaway-postgres.sh bindir
#       Prints the PostgreSQL bin directory that would be used.
#
# Binaries: `pg_config --bindir` when it holds initdb, else the highest /usr/lib/postgresql/*/bin.
# As root the server runs as the `postgres` user (via runuser); otherwise as the current user.
# Exit codes: 0 ok, 2 usage, 3 no PostgreSQL binaries found, 1 anything else.
set -euo pipefail

MARKER=".throwaway-postgres"   # file in <dir> that marks it as ours (stop refuses to delete anything else)

say() { printf 'throwaway-postgres: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() {
  echo "usage: $0 start <dir> [port] | stop <dir> | bindir" >&2
  exit 2
}

# Milliseconds since the epoch (for the timing lines).
now_ms() { date +%s%3N; }

find_bindir() {
  local dir candidate
  if command -v pg_config >/dev/null 2>&1; then
    dir=$(pg_config --bindir 2>/dev/null || true)
    if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then
      printf '%s\n' "$dir"
      return 0
    fi
  fi
  candidate=$(
    for d in /usr/lib/postgresql/*/bin; do
      [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] && printf '%s\n' "$d"
    done | sort -V | tail -n 1
  )
  if [[ -n "$candidate" ]]; then
    printf '%s\n' "$candidate"
    return 0
  fi
  return 1
}

require_bindir() {
  if ! BINDIR=$(find_bindir); then
    say "error: no PostgreSQL server binaries found (looked for initdb via \`pg_config --bindir\`" \
      "and in /usr/lib/postgresql/*/bin). Install them, e.g. \`apt-get install -y postgresql\`."
    exit 3
  fi
}

# Runs a command as the user that owns the cluster: `postgres` when we are root, else ourselves.
# The working directory is / so that the postgres user never trips over an unreadable cwd.
RUNUSER=""
find_runuser() {
  local r
  for r in "$(command -v runuser 2>/dev/null || true)" /usr/sbin/runuser /sbin/runuser; do
    if [[ -n "$r" && -x "$r" ]]; then RUNUSER=$r; return 0; fi
  done
  die "running as root but \`runuser\` (util-linux) is missing; it is needed to run PostgreSQL as 'postgres'"
}

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    [[ -n "$RUNUSER" ]] || find_runuser
    (cd / && "$RUNUSER" -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

port_is_free() {
  local port=$1
  if command -v node >/dev/null 2>&1; then
    node -e '
      const s = require("net").createServer();
      s.once("error", () => process.exit(1));
      s.listen(Number(process.argv[1]), "127.0.0.1", () => s.close(() => process.exit(0)));
    ' "$port" 2>/dev/null
  else
    # Nobody accepting a connection is a good enough hint without node.
    ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# Escapes a value for a single-quoted postgresql.conf string.
conf_quote() { printf "'%s'" "${1//\'/\'\'}"; }

cmd_start() {
  local dir=${1:-} port=${2:-}
  [[ -n "$dir" ]] || usage
  if [[ -n "$port" && ! "$port" =~ ^[0-9]+$ ]]; then die "port must be a number, got '$port'"; fi
  require_bindir

  if [[ $(id -u) -eq 0 ]] && ! id -u postgres >/dev/null 2>&1; then
    die "running as root but there is no 'postgres' user to run the server as" \
      "(initdb refuses to run as root); create one or run this script as a normal user"
  fi

  if [[ -e "$dir" ]]; then
    [[ -d "$dir" ]] || die "$dir exists and is not a directory"
    [[ -z "$(ls -A "$dir")" ]] || die "$dir is not empty; give a new or empty directory"
  else
    mkdir -p "$dir"
  fi
  dir=$(cd "$dir" && pwd -P)
  printf 'BINDIR=%q\n' "$BINDIR" >"$dir/$MARKER"

  local data="$dir/data" socket="$dir/socket" pwfile="$dir/pwfile"
  mkdir -p "$socket"
  local password
  password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  (umask 077 && printf '%s\n' "$password" >"$pwfile")

  if [[ $(id -u) -eq 0 ]]; then
    chown -R postgres: "$dir"
    chmod 700 "$dir"
    if ! as_owner test -w "$dir" -a -x "$dir"; then
      rm -rf "$dir"
      die "the postgres user cannot write to $dir (a parent directory is probably not searchable by it);" \
        "use a directory under /tmp"
    fi
  fi

  say "using $BINDIR ($("$BINDIR/postgres" --version 2>/dev/null || echo 'unknown version'))"

  local t0 t1 t2
  t0=$(now_ms)
  if ! as_owner "$BINDIR/initdb" --pgdata="$data" --username=postgres --pwfile="$pwfile" \
      --auth-local=scram-sha-256 --auth-host=scram-sha-256 --encoding=UTF8 --locale=C \
      --no-sync >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2 || true
    rm -rf "$dir"
    die "initdb failed"
  fi
  rm -f "$pwfile"
  t1=$(now_ms)
  say "initdb took $((t1 - t0)) ms"

  {
    echo
    echo "# added by scripts/throwaway-postgres.sh: a disposable test server"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = $(conf_quote "$socket")"
    echo "password_encryption = 'scram-sha-256'"
    echo "max_connections = 200"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
    echo "log_min_messages = warning"
  } >>"$data/postgresql.conf"

  # Try the requested port, or free-looking ports in turn (another process may grab one between the
  # check and the bind, so a failed start moves on to the next candidate).
  local candidates=() started="" log="$data/server.log"
  if [[ -n "$port" ]]; then
    candidates=("$port")
  else
    local p
    for ((p = 55432; p <= 55499; p++)); do candidates+=("$p"); done
  fi
  local tries=0
  for port in "${candidates[@]}"; do
    if [[ ${#candidates[@]} -gt 1 ]]; then
      port_is_free "$port" || continue
      ((tries += 1))
      [[ $tries -le 5 ]] || break
    fi
    t1=$(now_ms)
    if as_owner "$BINDIR/pg_ctl" --pgdata="$data" --log="$log" --wait --timeout=60 \
        -o "-p $port" start >&2; then
      started=$port
      break
    fi
    say "server did not start on port $port; log:"
    tail -n 20 "$log" >&2 || true
    as_owner "$BINDIR/pg_ctl" --pgdata="$data" -m immediate stop >/dev/null 2>&1 || true
  done
  if [[ -z "$started" ]]; then
    rm -rf "$dir"
    if [[ ${#candidates[@]} -eq 1 ]]; then
      die "could not start PostgreSQL on 127.0.0.1:${candidates[0]} (see the log above)"
    fi
    die "could not start PostgreSQL on any free port in ${candidates[0]}..${candidates[-1]} (see the log above)"
  fi
  port=$started
  printf 'PORT=%q\n' "$port" >>"$dir/$MARKER"

  # pg_ctl --wait already waited for "ready"; make sure TCP on 127.0.0.1 answers as well.
  local i
  for ((i = 0; i < 100; i++)); do
    if "$BINDIR/pg_isready" --quiet --host=127.0.0.1 --port="$port" --username=postgres; then break; fi
    sleep 0.1
  done
  if ((i == 100)); then
    tail -n 20 "$log" >&2 || true
    cmd_stop "$dir"
    die "server started but does not accept TCP connections on 127.0.0.1:$port"
  fi
  t2=$(now_ms)
  say "server start took $((t2 - t1)) ms; listening on 127.0.0.1:$port, data in $data"

  printf 'postgres://postgres:%s@127.0.0.1:%s/postgres\n' "$password" "$port"
}

cmd_stop() {
  local dir=${1:-}
  [[ -n "$dir" ]] || usage
  if [[ ! -e "$dir" ]]; then
    say "$dir does not exist; nothing to stop"
    return 0
  fi
  [[ -f "$dir/$MARKER" ]] || die "$dir was not made by this script (no $MARKER); refusing to touch it"
  dir=$(cd "$dir" && pwd -P)
  local data="$dir/data" BINDIR="" PORT=""
  # shellcheck disable=SC1090
  source "$dir/$MARKER"
  if [[ -z "$BINDIR" || ! -x "$BINDIR/pg_ctl" ]]; then BINDIR=$(find_bindir || true); fi

  if [[ -f "$data/postmaster.pid" ]]; then
    local pid
    pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
    if [[ -n "$BINDIR" ]]; then
      as_owner "$BINDIR/pg_ctl" --pgdata="$data" -m fast --wait --timeout=20 stop >&2 ||
        as_owner "$BINDIR/pg_ctl" --pgdata="$data" -m immediate --wait --timeout=10 stop >&2 || true
    fi
    # Last resort: the postmaster's pid from its own pid file (only if it still is a postgres process).
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
        grep -qa postgres "/proc/$pid/cmdline" 2>/dev/null; then
      say "postmaster $pid still running; sending SIGQUIT"
      kill -QUIT "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$dir"
  say "stopped${PORT:+ server on port $PORT} and removed $dir"
}

case "${1:-}" in
  start) shift; [[ $# -ge 1 && $# -le 2 ]] || usage; cmd_start "$@" ;;
  stop) shift; [[ $# -eq 1 ]] || usage; cmd_stop "$@" ;;
  bindir) require_bindir; printf '%s\n' "$BINDIR" ;;
  *) usage ;;
esac
