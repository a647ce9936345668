#!/usr/bin/env bash
# The services steward's integration tests run against, on 127.0.0.1 only:
#   - a throwaway PostgreSQL cluster (superuser steward/steward) with a `superset` metadata database
#     and a `warehouse` database holding the content data (finance, sales, audit schemas);
#   - a real Apache Superset (pinned version) on that metadata database, seeded through its REST API
#     with the warehouse database, five datasets, three charts and two dashboards; a copy of the
#     seeded database is kept as `superset_content_template`;
#   - two SQLite metadata files made by that same Superset: `superset-sqlite.db` (after its own
#     `db upgrade` + `fab create-admin` + `init`) and `superset-sqlite-content.db` (the same, then
#     seeded like the PostgreSQL one by a second, short-lived Superset server on the file);
#   - a second Superset server that stays up on `superset-sqlite-live.db`, a copy of the content
#     file, for tests that write into SQLite and read back through Superset's REST API;
#   - an SMTP server (aiosmtpd, scripts/smtp_sink.py) that requires STARTTLS and AUTH, and a
#     second one speaking TLS from the first byte (SMTPS), with their own CA; both store every
#     message they accept as a JSON file the tests read back.
#
#   bash scripts/services.sh start   # (re)start everything; writes $STATE_DIR/env
#   bash scripts/services.sh stop    # stop everything and remove $STATE_DIR (safe when nothing runs)
#   bash scripts/services.sh env     # print the env file's path and contents
#   bash scripts/services.sh report  # after a failed test run: which services still run, the
#                                    # tail of each log and PostgreSQL's errors
#
# Tests read the connection details from the env file: `. "$(bash scripts/services.sh env-path)"`.
#
# Environment (all optional):
#   STEWARD_SERVICES_DIR   state directory (data, logs, pid, env file)   default /tmp/steward-services
#   STEWARD_CACHE_DIR      cache for the Superset venv and the initialised metadata database
#                                                                         default ~/.cache/steward
#   STEWARD_PG_PORT        PostgreSQL port; default: first free of 55432..55441
#   STEWARD_SUPERSET_PORT  Superset port;   default: first free of 58088..58097
#   STEWARD_SQLITE_SUPERSET_PORT  the short-lived Superset on SQLite; default: first free of 58188..58197
#   STEWARD_SQLITE_LIVE_SUPERSET_PORT  the Superset on the live SQLite file; default: first free of 58288..58297
#   STEWARD_SMTP_PORT      the SMTP server (STARTTLS);  default: first free of 52525..52534
#   STEWARD_SMTPS_PORT     the SMTP server (TLS from the first byte);  default: first free of 52545..52554
#   STEWARD_SUPERSET_VERSION  the Superset release to run: 5.0.0, 6.0.0 or 6.1.0;  default 6.1.0
#   STEWARD_NO_METADB_CACHE=1  always run `superset db upgrade/create-admin/init` and the SQLite
#                          seeding (no cached dump or SQLite files)
set -euo pipefail

# The Superset releases steward supports (the compatibility table in README.md); the services run
# one of them, 6.1.0 unless STEWARD_SUPERSET_VERSION names another (scripts/test.sh runs each).
SUPPORTED_SUPERSET_VERSIONS=(5.0.0 6.0.0 6.1.0)
SUPERSET_VERSION=${STEWARD_SUPERSET_VERSION:-6.1.0}
# Everything pip installs into the venv; part of the venv's cache key. Superset pins its
# dependencies only in its repository's requirements files, so a plain install takes the newest
# of each: what each release needs held back is pinned here.
case $SUPERSET_VERSION in
  5.0.0) SUPERSET_PIP_PACKAGES=("apache-superset==${SUPERSET_VERSION}" psycopg2-binary "marshmallow>=3.18,<4" "flask-caching==2.3.1") ;;
  6.0.0 | 6.1.0) SUPERSET_PIP_PACKAGES=("apache-superset==${SUPERSET_VERSION}" psycopg2-binary rich cachetools "flask-caching==2.3.1") ;;
  *)
    printf '[services] error: STEWARD_SUPERSET_VERSION=%s is not a supported Superset release (%s)\n' \
      "$SUPERSET_VERSION" "${SUPPORTED_SUPERSET_VERSIONS[*]}" >&2
    exit 2
    ;;
esac

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE_DIR=${STEWARD_SERVICES_DIR:-/tmp/steward-services}
CACHE_DIR=${STEWARD_CACHE_DIR:-${HOME:-/root}/.cache/steward}
MARKER=.steward-services
ENV_FILE=$STATE_DIR/env
PG_DATA=$STATE_DIR/pg
PG_USER=steward
# Not a word that occurs in steward's messages: every occurrence of a password is masked in output.
PG_PASSWORD=stw-pg-3c9f
ADMIN_USER=admin
ADMIN_PASSWORD=admin
SMTP_USER=steward-mailer
# Not a word that occurs in steward's messages (the tests look for it in every output).
SMTP_PASSWORD=stw-smtp-7d1e
# The SMTP server's Python packages (its venv's cache key).
SMTP_PIP_PACKAGES=("aiosmtpd==1.4.6")

log() { printf '[services] %s\n' "$*" >&2; }
# shellcheck source=scripts/lib/processes.sh
source "$ROOT/scripts/lib/processes.sh"
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }
secs_since() { local d=$(($(now_ms) - $1)); printf '%d.%01ds' $((d / 1000)) $(((d % 1000) / 100)); }

# ---------------------------------------------------------------------------------------------
# PostgreSQL helpers

pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [[ -n $d && -x $d/initdb ]] && printf '%s\n' "$d"
}

# ensure_chromium: Debian's headless Chromium, which PNG and PDF reports are taken with.
ensure_chromium() {
  CHROMIUM=$(command -v chromium || true)
  if [[ -z $CHROMIUM ]]; then
    [[ $EUID -eq 0 ]] || die "Chromium is missing; install it with: sudo apt-get install -y chromium"
    log "installing Chromium with apt (for PNG and PDF reports)"
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 ||
      { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; } ||
      die "apt-get install chromium failed"
    CHROMIUM=$(command -v chromium || true)
    [[ -n $CHROMIUM ]] || die "apt-get installed chromium but no chromium is on PATH"
  fi
  # It must start here (a container without /dev/shm or a writable profile makes it exit at
  # once): said now, with its own words, rather than as a failed screenshot test later.
  local profile out
  profile=$(mktemp -d)
  if ! out=$(timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --disable-crash-reporter --no-first-run --user-data-dir="$profile" --dump-dom \
    'data:text/html,<p>steward</p>' 2>&1); then
    rm -rf -- "$profile"
    printf '%s\n' "$out" | tail -n 20 >&2
    die "$CHROMIUM does not start headless (above: what it said)"
  fi
  rm -rf -- "$profile"
  [[ $out == *"<p>steward</p>"* ]] || { printf '%s\n' "$out" | tail -n 20 >&2; die "$CHROMIUM started but rendered nothing"; }
}

ensure_pg_binaries() {
  PG_BIN=$(pg_bindir || true)
  if [[ -z ${PG_BIN:-} ]]; then
    [[ $EUID -eq 0 ]] || die "PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) are missing; install them with: sudo apt-get install -y postgresql"
    log "installing PostgreSQL with apt (server binaries missing)"
    # Keep the package's own cluster from being started: we run our own.
    local policy_added=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_added=1
    fi
    local rc=0
    {
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null 2>&1 ||
        { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }
    } || rc=$?
    [[ $policy_added -eq 1 ]] && rm -f /usr/sbin/policy-rc.d
    [[ $rc -eq 0 ]] || die "apt-get install postgresql failed (exit $rc)"
    PG_BIN=$(pg_bindir || true)
    [[ -n ${PG_BIN:-} ]] || die "apt-get installed postgresql but no /usr/lib/postgresql/*/bin/initdb exists"
  fi
  PSQL=$PG_BIN/psql
  [[ -x $PSQL ]] || PSQL=$(command -v psql || true)
  [[ -n $PSQL && -x $PSQL ]] || die "psql not found"
}

# Run a command as the owner of the cluster (postgres refuses to run as root).
as_pg() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_url() { printf 'postgres://%s:%s@127.0.0.1:%s/%s' "$PG_USER" "$PG_PASSWORD" "$PG_PORT" "$1"; }

psql_db() { # psql_db DB [psql args...]
  local db=$1
  shift
  PGPASSWORD=$PG_PASSWORD "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$db" "$@"
}

# ---------------------------------------------------------------------------------------------
# Ports

pick_port() { # pick_port WHAT EXPLICIT DEFAULT
  local what=$1 explicit=$2 first=$3 p
  if [[ -n $explicit ]]; then
    port_busy "$explicit" && die "$what port $explicit (set explicitly) is already in use: $(ss -Hltnp "sport = :$explicit" 2>/dev/null | head -n 1)"
    printf '%s\n' "$explicit"
    return
  fi
  for ((p = first; p < first + 10; p++)); do
    if ! port_busy "$p"; then
      [[ $p -ne $first ]] && log "$what: port $first is busy, using $p"
      printf '%s\n' "$p"
      return
    fi
  done
  die "$what: ports $first..$((first + 9)) are all in use; set the port explicitly"
}

# ---------------------------------------------------------------------------------------------
# stop

stop_services() {
  if [[ ! -d $STATE_DIR ]]; then
    return 0
  fi
  if [[ ! -e $STATE_DIR/$MARKER ]]; then
    if [[ -z $(ls -A "$STATE_DIR" 2>/dev/null) ]]; then
      rmdir "$STATE_DIR"
      return 0
    fi
    die "$STATE_DIR exists but was not created by this script (no $MARKER); refusing to touch it"
  fi
  # The SQLite job first (so it starts nothing more), then the Supersets.
  stop_group "$STATE_DIR/sqlite-job.pid" "the SQLite Superset job"
  stop_group "$STATE_DIR/superset-sqlite.pid" "Superset on SQLite"
  stop_group "$STATE_DIR/superset-sqlite-live.pid" "Superset on the live SQLite file"
  stop_group "$STATE_DIR/superset.pid" "Superset"
  stop_group "$STATE_DIR/smtp.pid" "the SMTP server"
  stop_group "$STATE_DIR/smtps.pid" "the SMTP server (TLS)"
  # PostgreSQL.
  if [[ -f $PG_DATA/postmaster.pid ]]; then
    local bin
    bin=$(cat "$STATE_DIR/pg_bin" 2>/dev/null || pg_bindir || true)
    local pgpid
    pgpid=$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)
    if [[ -n $bin ]]; then
      log "stopping PostgreSQL"
      as_pg "$bin/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 >/dev/null 2>&1 || true
    fi
    if [[ $pgpid =~ ^[0-9]+$ ]] && kill -0 "$pgpid" 2>/dev/null; then
      # pg_ctl failed or missing: the postmaster is ours (its pid file is in our data dir).
      kill -INT "$pgpid" 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do
        kill -0 "$pgpid" 2>/dev/null || break
        sleep 0.1
      done
      kill -KILL "$pgpid" 2>/dev/null || true
    fi
  fi
  rm -rf -- "$STATE_DIR"
}

# ---------------------------------------------------------------------------------------------
# start

start_postgres() {
  mkdir -p "$STATE_DIR"
  chmod 755 "$STATE_DIR"
  touch "$STATE_DIR/$MARKER"
  printf '%s\n' "$PG_BIN" >"$STATE_DIR/pg_bin"
  mkdir -p "$PG_DATA"
  if [[ $EUID -eq 0 ]]; then
    chown postgres: "$PG_DATA"
    runuser -u postgres -- test -w "$PG_DATA" ||
      die "user postgres cannot write $PG_DATA (is a parent of $STATE_DIR closed to it?); set STEWARD_SERVICES_DIR elsewhere, e.g. under /tmp"
  fi
  chmod 700 "$PG_DATA"
  local pwfile=$STATE_DIR/pg-pwfile
  printf '%s\n' "$PG_PASSWORD" >"$pwfile"
  : >"$STATE_DIR/postgres.log"
  [[ $EUID -eq 0 ]] && chown postgres: "$pwfile" "$STATE_DIR/postgres.log"
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" --pwfile="$pwfile" -A scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 --no-sync >"$STATE_DIR/initdb.log" 2>&1 ||
    { tail -n 30 "$STATE_DIR/initdb.log" >&2; die "initdb failed"; }
  rm -f "$pwfile"
  # A disposable test cluster: durability off, TCP on 127.0.0.1 only, no Unix socket.
  cat >>"$PG_DATA/postgresql.conf" <<EOF

# steward test services
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
EOF
  as_pg "$PG_BIN/pg_ctl" start -D "$PG_DATA" -w -t 60 -l "$STATE_DIR/postgres.log" >/dev/null ||
    { tail -n 30 "$STATE_DIR/postgres.log" >&2; die "PostgreSQL did not start"; }
  psql_db postgres -c 'CREATE DATABASE superset' -c 'CREATE DATABASE warehouse'
}

seed_warehouse() {
  psql_db warehouse <<'SQL'
CREATE SCHEMA finance;
CREATE SCHEMA sales;
CREATE SCHEMA audit;

CREATE TABLE finance.invoices (
  id int PRIMARY KEY, region text, amount numeric, status text, period_closed bool, issued_on date);
INSERT INTO finance.invoices VALUES
  (1, 'EMEA', 1200.00, 'open',  false, '2024-01-15'),
  (2, 'EMEA',  830.50, 'paid',  true,  '2023-12-02'),
  (3, 'AMER', 4100.00, 'open',  false, '2024-02-01'),
  (4, 'AMER',  299.99, 'void',  true,  '2023-11-20'),
  (5, 'APAC', 1750.00, 'paid',  true,  '2023-12-28'),
  (6, 'APAC',  640.00, 'open',  false, '2024-02-10');

CREATE TABLE finance.payments (
  id int PRIMARY KEY, region text, amount numeric, status text, paid_on date);
INSERT INTO finance.payments VALUES
  (1, 'EMEA',  830.50, 'settled', '2023-12-20'),
  (2, 'APAC', 1750.00, 'settled', '2024-01-05'),
  (3, 'AMER',  500.00, 'pending', '2024-02-12'),
  (4, 'EMEA',  100.00, 'failed',  '2024-02-14');

CREATE TABLE sales.accounts (
  id int PRIMARY KEY, owner text, team text, region text, name text);
INSERT INTO sales.accounts VALUES
  (1, 'alice', 'enterprise', 'EMEA', 'Acme GmbH'),
  (2, 'bob',   'enterprise', 'AMER', 'Globex Inc'),
  (3, 'carol', 'midmarket',  'APAC', 'Initech Pty'),
  (4, 'dave',  'midmarket',  'EMEA', 'Umbrella SA');

CREATE TABLE sales.opportunities (
  id int PRIMARY KEY, account_id int, owner text, team text, stage text, amount numeric);
INSERT INTO sales.opportunities VALUES
  (1, 1, 'alice', 'enterprise', 'prospecting', 25000),
  (2, 1, 'alice', 'enterprise', 'negotiation', 90000),
  (3, 2, 'bob',   'enterprise', 'closed_won',  120000),
  (4, 3, 'carol', 'midmarket',  'qualification', 15000),
  (5, 4, 'dave',  'midmarket',  'closed_lost', 8000);

CREATE TABLE audit.journal_entries (
  id int PRIMARY KEY, confidential bool, debit numeric, credit numeric, posted_on date);
INSERT INTO audit.journal_entries VALUES
  (1, false, 1200.00,    0.00, '2024-01-15'),
  (2, false,    0.00, 1200.00, '2024-01-15'),
  (3, true,  50000.00,   0.00, '2024-01-31'),
  (4, true,     0.00, 50000.00, '2024-01-31');
SQL
}

ensure_venv() {
  VENV=$CACHE_DIR/superset-${SUPERSET_VERSION}-venv
  local want have=""
  want=$(printf '%s\n' "${SUPERSET_PIP_PACKAGES[@]}" "$(python3 --version 2>&1)")
  [[ -f $VENV/.steward-complete ]] && have=$(cat "$VENV/.steward-complete")
  if [[ $have == "$want" && -x $VENV/bin/superset ]]; then
    return 0
  fi
  log "installing Superset ${SUPERSET_VERSION} into $VENV (a few minutes; cached afterwards)"
  command -v python3 >/dev/null || die "python3 is required"
  rm -rf -- "$VENV"
  mkdir -p "$CACHE_DIR"
  if ! python3 -m venv "$VENV" 2>"$CACHE_DIR/venv.log"; then
    rm -rf -- "$VENV"
    [[ $EUID -eq 0 && $(command -v python3) == /usr/bin/python3 ]] &&
      { DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null 2>&1 || true; }
    python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install -y python3-venv)"
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check "${SUPERSET_PIP_PACKAGES[@]}" >"$CACHE_DIR/pip-install-${SUPERSET_VERSION}.log" 2>&1 ||
    { tail -n 40 "$CACHE_DIR/pip-install-${SUPERSET_VERSION}.log" >&2; rm -rf -- "$VENV"; die "pip install of Superset ${SUPERSET_VERSION} failed (log: $CACHE_DIR/pip-install-${SUPERSET_VERSION}.log)"; }
  printf '%s\n' "$want" >"$VENV/.steward-complete"
}

# superset_config_file FILE URI: Superset's config for the metadata database at URI. Everything but
# the URI line is the same for every metadata database (the caches' keys hash it without that line).
superset_config_file() {
  cat >"$1" <<EOF
# Written by steward's scripts/services.sh for the integration tests. Not for production.
SECRET_KEY = "steward-test-secret-key-not-for-production-0123456789"
SQLALCHEMY_DATABASE_URI = "$2"
WTF_CSRF_ENABLED = False
FEATURE_FLAGS = {"ALERT_REPORTS": True, "ENABLE_TEMPLATE_PROCESSING": True, "EMBEDDED_SUPERSET": True}
# Guest tokens for embedded dashboards (steward guest-token); guests act with Gamma's permissions.
GUEST_TOKEN_JWT_SECRET = "steward-test-guest-token-secret-not-for-production-0123"
GUEST_TOKEN_JWT_AUDIENCE = "steward-test-superset"
GUEST_ROLE_NAME = "Gamma"
PREVENT_UNSAFE_DB_CONNECTIONS = False
# Tests log in often and from many threads.
AUTH_RATE_LIMITED = False
RATELIMIT_ENABLED = False
TALISMAN_ENABLED = False
CONTENT_SECURITY_POLICY_WARNING = False
EOF
  # Superset 5.0 has no security REST API of its own (roles, users, their permissions): the
  # tests read those through Flask-AppBuilder's.
  if [[ $SUPERSET_VERSION == 5.0.0 ]]; then
    printf 'FAB_ADD_SECURITY_API = True\n' >>"$1"
  fi
}

use_superset_config() { # use_superset_config CONFIG HOME
  export SUPERSET_CONFIG_PATH=$1
  export FLASK_APP=superset
  export SUPERSET_HOME=$2
  mkdir -p "$SUPERSET_HOME"
}

write_superset_config() {
  SUPERSET_CONFIG=$STATE_DIR/superset_config.py
  superset_config_file "$SUPERSET_CONFIG" "postgresql://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/superset"
  use_superset_config "$SUPERSET_CONFIG" "$STATE_DIR/superset-home"
}

# What a metadata database made by `db upgrade` + `create-admin` + `init` depends on: the Superset
# version, the config (feature flags change `init`'s permissions; the URI line is left out) and
# the admin account.
metadb_key_input() { # metadb_key_input EXTRA...
  printf '%s\n' "${SUPERSET_PIP_PACKAGES[@]}" "$ADMIN_USER" "$ADMIN_PASSWORD" "$@"
  grep -v '^SQLALCHEMY_DATABASE_URI' "$SUPERSET_CONFIG"
}

superset_cli() { # superset_cli LOGNAME args...
  local name=$1
  shift
  "$VENV/bin/superset" "$@" >>"$STATE_DIR/superset-$name.log" 2>&1 ||
    { tail -n 40 "$STATE_DIR/superset-$name.log" >&2; die "superset $* failed (log: $STATE_DIR/superset-$name.log)"; }
}

# Initialise the metadata database: restore a cached dump of a freshly initialised one, or run
# db upgrade / create-admin / init (and cache the result). Sets METADB_HOW.
init_metadb() {
  local key dump
  key=$(metadb_key_input "$("$PG_BIN/pg_dump" --version)" | sha256sum | cut -c1-16)
  dump=$CACHE_DIR/superset-${SUPERSET_VERSION}-metadb-$key.dump
  if [[ ${STEWARD_NO_METADB_CACHE:-0} != 1 && -s $dump ]]; then
    if PGPASSWORD=$PG_PASSWORD "$PG_BIN/pg_restore" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d superset \
      --no-owner --exit-on-error "$dump" >"$STATE_DIR/pg_restore.log" 2>&1; then
      METADB_HOW="restored cached dump"
      return 0
    fi
    log "restoring $dump failed; initialising from scratch:"
    tail -n 10 "$STATE_DIR/pg_restore.log" >&2
    rm -f "$dump"
    psql_db postgres -c 'DROP DATABASE superset' -c 'CREATE DATABASE superset'
  fi
  superset_cli init db upgrade
  superset_cli init fab create-admin --username "$ADMIN_USER" --firstname A --lastname U \
    --email a@x.io --password "$ADMIN_PASSWORD"
  superset_cli init init
  METADB_HOW="db upgrade + create-admin + init"
  if [[ ${STEWARD_NO_METADB_CACHE:-0} != 1 ]]; then
    mkdir -p "$CACHE_DIR"
    PGPASSWORD=$PG_PASSWORD "$PG_BIN/pg_dump" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -Fc -f "$dump.tmp.$$" superset &&
      mv -f "$dump.tmp.$$" "$dump" || { rm -f "$dump.tmp.$$"; log "warning: could not cache the metadata dump"; }
    # Dumps made under an older config are never used again.
    find "$CACHE_DIR" -maxdepth 1 -name "superset-${SUPERSET_VERSION}-metadb-*.dump" ! -name "${dump##*/}" -delete 2>/dev/null || true
  fi
}

start_superset() { # start_superset PORT NAME: a server on the current config; NAME.pid, NAME.log
  : >"$STATE_DIR/$2.log"
  setsid "$VENV/bin/superset" run -h 127.0.0.1 -p "$1" --with-threads \
    >>"$STATE_DIR/$2.log" 2>&1 </dev/null &
  echo $! >"$STATE_DIR/$2.pid"
}

wait_superset() { # wait_superset PORT NAME
  local url=http://127.0.0.1:$1/health log=$STATE_DIR/$2.log deadline=$((SECONDS + 180)) pid
  pid=$(cat "$STATE_DIR/$2.pid")
  while :; do
    if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" 2>/dev/null || true) == 200 ]]; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 60 "$log" >&2
      die "Superset exited during startup (log: $log)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 60 "$log" >&2
      die "Superset did not answer 200 on $url within 180 s (log: $log)"
    fi
    sleep 0.5
  done
}

seed_superset() { # seed_superset PORT NAME: the content the tests refer to, through the REST API
  "$VENV/bin/python" "$ROOT/scripts/superset_seed.py" \
    --url "http://127.0.0.1:$1" --username "$ADMIN_USER" --password "$ADMIN_PASSWORD" \
    --warehouse-uri "postgresql://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${PG_PORT}/warehouse" ||
    { tail -n 40 "$STATE_DIR/$2.log" >&2; die "seeding Superset ($2) failed"; }
}

# ---------------------------------------------------------------------------------------------
# Superset on SQLite: run in the background (`_sqlite-job`, its own process group) while the
# PostgreSQL Superset starts. Makes $SQLITE_PRISTINE with Superset's own db upgrade + create-admin
# + init, then $SQLITE_CONTENT: a copy seeded through a second, short-lived Superset server.

SQLITE_PRISTINE=$STATE_DIR/superset-sqlite.db
SQLITE_CONTENT=$STATE_DIR/superset-sqlite-content.db
SQLITE_LIVE=$STATE_DIR/superset-sqlite-live.db
SQLITE_LIVE_CONFIG=$STATE_DIR/superset_sqlite_live_config.py

# A cached copy of a file: a temporary name, then renamed (other checkouts share the cache).
cache_put() { # cache_put FILE CACHED PATTERN (older files matching PATTERN are removed)
  [[ ${STEWARD_NO_METADB_CACHE:-0} == 1 ]] && return 0
  mkdir -p "$CACHE_DIR"
  cp "$1" "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2" || { rm -f "$2.tmp.$$"; log "warning: could not cache $2"; }
  find "$CACHE_DIR" -maxdepth 1 -name "$3" ! -name "${2##*/}" -delete 2>/dev/null || true
}

cache_get() { # cache_get CACHED FILE
  [[ ${STEWARD_NO_METADB_CACHE:-0} != 1 && -s $1 ]] && cp "$1" "$2"
}

# The content file's warehouse connection names the PostgreSQL port of the run that seeded it.
point_warehouse_at_port() { # point_warehouse_at_port FILE
  "$VENV/bin/python" - "$1" "$PG_PORT" <<'PY'
import re, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for id_, uri in c.execute("SELECT id, sqlalchemy_uri FROM dbs").fetchall():
    c.execute("UPDATE dbs SET sqlalchemy_uri = ? WHERE id = ?",
              (re.sub(r"@127\.0\.0\.1:\d+/", "@127.0.0.1:%s/" % sys.argv[2], uri), id_))
c.commit()
PY
}

sqlite_job() {
  trap 'exit 143' TERM
  trap 'stop_group "$STATE_DIR/superset-sqlite.pid" "Superset on SQLite"' EXIT
  VENV=$CACHE_DIR/superset-${SUPERSET_VERSION}-venv
  local t key ckey cached ccached timings=()
  SUPERSET_CONFIG=$STATE_DIR/superset_sqlite_config.py
  superset_config_file "$SUPERSET_CONFIG" "sqlite:///$SQLITE_PRISTINE"
  use_superset_config "$SUPERSET_CONFIG" "$STATE_DIR/superset-sqlite-home"
  key=$(metadb_key_input sqlite "$("$VENV/bin/python" -c 'import sqlite3; print(sqlite3.sqlite_version)')" |
    sha256sum | cut -c1-16)
  ckey=$( {
    printf '%s\n' "$key"
    cat "$ROOT/scripts/superset_seed.py"
    declare -f seed_warehouse
  } | sha256sum | cut -c1-16)
  cached=$CACHE_DIR/superset-${SUPERSET_VERSION}-sqlite-init-$key.db
  ccached=$CACHE_DIR/superset-${SUPERSET_VERSION}-sqlite-content-$ckey.db

  t=$(now_ms)
  if cache_get "$cached" "$SQLITE_PRISTINE"; then
    timings+=("sqlite $(secs_since "$t") (cached file)")
  else
    rm -f "$SQLITE_PRISTINE"
    superset_cli sqlite-init db upgrade
    superset_cli sqlite-init fab create-admin --username "$ADMIN_USER" --firstname A --lastname U \
      --email a@x.io --password "$ADMIN_PASSWORD"
    superset_cli sqlite-init init
    cache_put "$SQLITE_PRISTINE" "$cached" "superset-${SUPERSET_VERSION}-sqlite-init-*.db"
    timings+=("sqlite $(secs_since "$t") (db upgrade + create-admin + init)")
  fi
  chmod a-w "$SQLITE_PRISTINE"

  t=$(now_ms)
  if cache_get "$ccached" "$SQLITE_CONTENT"; then
    point_warehouse_at_port "$SQLITE_CONTENT"
    timings+=("sqlite-content $(secs_since "$t") (cached file)")
  else
    cp "$SQLITE_PRISTINE" "$SQLITE_CONTENT"
    chmod u+w "$SQLITE_CONTENT"
    superset_config_file "$SUPERSET_CONFIG" "sqlite:///$SQLITE_CONTENT"
    local deadline=$((SECONDS + 600))
    until [[ -e $STATE_DIR/warehouse.ready ]]; do
      ((SECONDS < deadline)) || die "the warehouse database was not ready within 600 s"
      sleep 0.5
    done
    SQLITE_SUPERSET_PORT=$(pick_port "Superset on SQLite" "${STEWARD_SQLITE_SUPERSET_PORT:-}" 58188)
    start_superset "$SQLITE_SUPERSET_PORT" superset-sqlite
    wait_superset "$SQLITE_SUPERSET_PORT" superset-sqlite
    seed_superset "$SQLITE_SUPERSET_PORT" superset-sqlite
    stop_group "$STATE_DIR/superset-sqlite.pid" "Superset on SQLite"
    cache_put "$SQLITE_CONTENT" "$ccached" "superset-${SUPERSET_VERSION}-sqlite-content-*.db"
    timings+=("sqlite-content $(secs_since "$t") (server on 127.0.0.1:$SQLITE_SUPERSET_PORT + seed)")
  fi

  # The server that stays up (stopped by `stop`) on a copy of the content file.
  t=$(now_ms)
  cp "$SQLITE_CONTENT" "$SQLITE_LIVE"
  superset_config_file "$SQLITE_LIVE_CONFIG" "sqlite:///$SQLITE_LIVE"
  use_superset_config "$SQLITE_LIVE_CONFIG" "$STATE_DIR/superset-sqlite-home"
  local live_port
  live_port=$(pick_port "Superset on the live SQLite file" "${STEWARD_SQLITE_LIVE_SUPERSET_PORT:-}" 58288)
  start_superset "$live_port" superset-sqlite-live
  wait_superset "$live_port" superset-sqlite-live
  printf '%s\n' "$live_port" >"$STATE_DIR/superset-sqlite-live.port"
  timings+=("sqlite-live $(secs_since "$t") (server on 127.0.0.1:$live_port)")
  local IFS=,
  printf '%s\n' "${timings[*]}" >"$STATE_DIR/sqlite-job.timings"
}

start_sqlite_job() {
  rm -f "$STATE_DIR/warehouse.ready"
  PG_PORT=$PG_PORT setsid bash "$0" _sqlite-job \
    >"$STATE_DIR/sqlite-job.log" 2>&1 </dev/null &
  SQLITE_JOB=$!
  echo "$SQLITE_JOB" >"$STATE_DIR/sqlite-job.pid"
}

wait_sqlite_job() {
  local rc=0
  wait "$SQLITE_JOB" || rc=$?
  rm -f "$STATE_DIR/sqlite-job.pid"
  [[ $rc -eq 0 ]] || { tail -n 40 "$STATE_DIR/sqlite-job.log" >&2; die "making the SQLite metadata files failed (exit $rc; log: $STATE_DIR/sqlite-job.log)"; }
}

# ---------------------------------------------------------------------------------------------
# The SMTP server: its own venv (cached), a CA and a server certificate for 127.0.0.1.

ensure_smtp_venv() {
  SMTP_VENV=$CACHE_DIR/smtp-venv
  local want have=""
  want=$(printf '%s\n' "${SMTP_PIP_PACKAGES[@]}" "$(python3 --version 2>&1)")
  [[ -f $SMTP_VENV/.steward-complete ]] && have=$(cat "$SMTP_VENV/.steward-complete")
  [[ $have == "$want" && -x $SMTP_VENV/bin/python ]] && return 0
  log "installing the SMTP server (aiosmtpd) into $SMTP_VENV"
  rm -rf -- "$SMTP_VENV"
  python3 -m venv "$SMTP_VENV" || die "python3 -m venv failed (on Debian: apt-get install -y python3-venv)"
  "$SMTP_VENV/bin/pip" install -q --disable-pip-version-check "${SMTP_PIP_PACKAGES[@]}" >"$CACHE_DIR/pip-install-smtp.log" 2>&1 ||
    { tail -n 30 "$CACHE_DIR/pip-install-smtp.log" >&2; rm -rf -- "$SMTP_VENV"; die "pip install of aiosmtpd failed"; }
  printf '%s\n' "$want" >"$SMTP_VENV/.steward-complete"
}

start_smtp() {
  command -v openssl >/dev/null || die "openssl is required (apt-get install -y openssl)"
  ensure_smtp_venv
  local dir=$STATE_DIR/smtp
  mkdir -p "$dir/maildir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=steward test SMTP CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" >/dev/null 2>&1 || die "openssl could not make the SMTP CA"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$dir/server.key" \
    -out "$dir/server.csr" >/dev/null 2>&1 || die "openssl could not make the SMTP key"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$dir/ext.cnf"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/ext.cnf" -out "$dir/server.crt" >/dev/null 2>&1 || die "openssl could not sign the SMTP certificate"
  printf '%s\n' "$SMTP_PASSWORD" >"$dir/password"
  chmod 600 "$dir/password" "$dir/ca.key" "$dir/server.key"
  SMTP_PORT=$(pick_port SMTP "${STEWARD_SMTP_PORT:-}" 52525)
  start_smtp_sink smtp "$SMTP_PORT"
  SMTPS_PORT=$(pick_port SMTPS "${STEWARD_SMTPS_PORT:-}" 52545)
  start_smtp_sink smtps "$SMTPS_PORT" --implicit-tls
}

start_smtp_sink() { # start_smtp_sink NAME PORT [--implicit-tls]: NAME.pid, NAME.log
  local dir=$STATE_DIR/smtp name=$1 port=$2 i
  shift 2
  setsid "$SMTP_VENV/bin/python" "$ROOT/scripts/smtp_sink.py" --port "$port" \
    --cert "$dir/server.crt" --key "$dir/server.key" --user "$SMTP_USER" \
    --password-file "$dir/password" --maildir "$dir/maildir" "$@" >"$STATE_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE_DIR/$name.pid"
  for ((i = 0; i < 100; i++)); do
    port_busy "$port" && return 0
    kill -0 "$(cat "$STATE_DIR/$name.pid")" 2>/dev/null || { cat "$STATE_DIR/$name.log" >&2; die "the SMTP server ($name) exited"; }
    sleep 0.1
  done
  die "the SMTP server ($name) did not listen on 127.0.0.1:$port"
}

write_env() {
  local tmp=$ENV_FILE.tmp
  {
    printf 'export %s=%q\n' \
      STEWARD_TEST_PG_URL "$(pg_url postgres)" \
      STEWARD_TEST_SUPERSET_DB_URL "$(pg_url superset)" \
      STEWARD_TEST_SUPERSET_TEMPLATE superset_template \
      STEWARD_TEST_SUPERSET_CONTENT_TEMPLATE superset_content_template \
      STEWARD_TEST_SUPERSET_SQLITE "$SQLITE_PRISTINE" \
      STEWARD_TEST_SUPERSET_SQLITE_CONTENT "$SQLITE_CONTENT" \
      STEWARD_TEST_SUPERSET_SQLITE_LIVE "$SQLITE_LIVE" \
      STEWARD_TEST_SUPERSET_SQLITE_LIVE_URL "http://127.0.0.1:$(cat "$STATE_DIR/superset-sqlite-live.port")" \
      STEWARD_TEST_SUPERSET_SQLITE_LIVE_CONFIG "$SQLITE_LIVE_CONFIG" \
      STEWARD_TEST_SUPERSET_VERSION "$SUPERSET_VERSION" \
      STEWARD_TEST_WAREHOUSE_URL "$(pg_url warehouse)" \
      STEWARD_TEST_SUPERSET_URL "http://127.0.0.1:$SUPERSET_PORT" \
      STEWARD_TEST_SUPERSET_ADMIN "$ADMIN_USER" \
      STEWARD_TEST_SUPERSET_PASSWORD "$ADMIN_PASSWORD" \
      STEWARD_TEST_PSQL "$PSQL" \
      STEWARD_TEST_SUPERSET_BIN "$VENV/bin/superset" \
      STEWARD_TEST_SUPERSET_CONFIG "$SUPERSET_CONFIG" \
      STEWARD_TEST_SUPERSET_SECRET_KEY "$(sed -n "s/^SECRET_KEY = \"\(.*\)\"$/\1/p" "$SUPERSET_CONFIG")" \
      STEWARD_TEST_GUEST_TOKEN_SECRET "$(sed -n "s/^GUEST_TOKEN_JWT_SECRET = \"\(.*\)\"$/\1/p" "$SUPERSET_CONFIG")" \
      STEWARD_TEST_GUEST_TOKEN_AUDIENCE "$(sed -n "s/^GUEST_TOKEN_JWT_AUDIENCE = \"\(.*\)\"$/\1/p" "$SUPERSET_CONFIG")" \
      STEWARD_TEST_SMTP_PORT "$SMTP_PORT" \
      STEWARD_TEST_SMTPS_PORT "$SMTPS_PORT" \
      STEWARD_TEST_SMTP_USER "$SMTP_USER" \
      STEWARD_TEST_SMTP_PASSWORD "$SMTP_PASSWORD" \
      STEWARD_TEST_SMTP_CA "$STATE_DIR/smtp/ca.crt" \
      STEWARD_TEST_SMTP_MAILDIR "$STATE_DIR/smtp/maildir" \
      STEWARD_TEST_CHROMIUM "$CHROMIUM" \
      STEWARD_TEST_PG_LOG "$STATE_DIR/postgres.log"
  } >"$tmp"
  mv -f "$tmp" "$ENV_FILE"
}

start_services() {
  command -v curl >/dev/null || die "curl is required"
  local t0 t timings=()
  t0=$(now_ms)

  t=$(now_ms)
  if [[ -e $STATE_DIR/$MARKER ]]; then
    stop_services
    timings+=("stop-previous $(secs_since "$t")")
    t=$(now_ms)
  else
    stop_services
  fi
  ensure_pg_binaries
  PG_PORT=$(pick_port PostgreSQL "${STEWARD_PG_PORT:-}" 55432)
  start_postgres
  timings+=("postgres $(secs_since "$t")")

  t=$(now_ms)
  ensure_venv
  timings+=("venv $(secs_since "$t")")

  # On failure, nothing started here keeps running (`stop` also stops it).
  trap '[[ $? -eq 0 ]] || { stop_group "$STATE_DIR/sqlite-job.pid" "the SQLite Superset job"; stop_group "$STATE_DIR/superset-sqlite.pid" "Superset on SQLite"; stop_group "$STATE_DIR/superset-sqlite-live.pid" "Superset on the live SQLite file"; }' EXIT
  start_sqlite_job

  t=$(now_ms)
  write_superset_config
  init_metadb
  # A pristine copy (Superset's schema, seeded roles, admin; no content) that tests clone into
  # scratch databases with CREATE DATABASE … TEMPLATE superset_template.
  psql_db postgres -q -c 'CREATE DATABASE superset_template TEMPLATE superset'
  timings+=("metadb $(secs_since "$t") ($METADB_HOW)")

  t=$(now_ms)
  # Picked just before use: other checkouts on this machine pick ports too.
  SUPERSET_PORT=$(pick_port Superset "${STEWARD_SUPERSET_PORT:-}" 58088)
  start_superset "$SUPERSET_PORT" superset
  seed_warehouse # while Superset boots
  touch "$STATE_DIR/warehouse.ready"
  wait_superset "$SUPERSET_PORT" superset
  timings+=("superset-up $(secs_since "$t")")

  t=$(now_ms)
  seed_superset "$SUPERSET_PORT" superset
  # The seeded database, for tests that want Superset-made content (Superset holds connections
  # to `superset`, so a dump rather than a TEMPLATE clone).
  psql_db postgres -c 'CREATE DATABASE superset_content_template'
  PGPASSWORD=$PG_PASSWORD "$PG_BIN/pg_dump" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" --no-owner --no-privileges superset |
    psql_db superset_content_template >/dev/null
  timings+=("seed $(secs_since "$t")")

  t=$(now_ms)
  start_smtp
  timings+=("smtp $(secs_since "$t")")
  t=$(now_ms)
  ensure_chromium
  timings+=("chromium $(secs_since "$t")")

  t=$(now_ms)
  wait_sqlite_job
  timings+=("sqlite-wait $(secs_since "$t")" "$(cat "$STATE_DIR/sqlite-job.timings")")

  write_env
  local IFS=,
  log "up in $(secs_since "$t0"): postgres 127.0.0.1:$PG_PORT, superset http://127.0.0.1:$SUPERSET_PORT; ${timings[*]}; env: $ENV_FILE"
}

# After a failed test run: which of the services still run and what their logs say last, so a
# failure that is a service's (a crashed Superset, an exhausted connection limit) shows in CI.
# The logs are the test services' own: no secret of a user's is in them.
report_services() {
  [[ -d $STATE_DIR ]] || { log "report: nothing in $STATE_DIR"; return 0; }
  local pidfile pid name
  for pidfile in "$STATE_DIR"/*.pid "$PG_DATA/postmaster.pid"; do
    [[ -f $pidfile ]] || continue
    pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
    name=$(basename "$pidfile" .pid)
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      log "report: $name (pid $pid) is running"
    else
      log "report: $name (pid $pid) is NOT running"
    fi
  done
  # Short: CI shows the end of the output, and the failed tests' list is just above.
  local file
  for file in "$STATE_DIR"/superset.log "$STATE_DIR"/superset-sqlite-live.log; do
    [[ -s $file ]] || continue
    # A traceback's own first line says nothing: its last line (the exception) does.
    log "report: $(basename "$file"): its last 8 errors and exceptions, then its last 4 lines"
    grep -E ':(ERROR|CRITICAL):|^[A-Za-z_][A-Za-z0-9_.]*(Error|Exception)(:|$)' "$file" |
      tail -n 8 | cut -c1-300 >&2 || true
    tail -n 4 "$file" | cut -c1-300 >&2
  done
  if [[ -s $STATE_DIR/postgres.log ]]; then
    log "report: PostgreSQL's last 10 errors and fatal messages"
    grep -E 'FATAL|PANIC|ERROR|too many' "$STATE_DIR/postgres.log" | tail -n 10 | cut -c1-300 >&2 || true
  fi
}

case ${1:-} in
  start) start_services ;;
  stop) stop_services ;;
  report) report_services ;;
  _sqlite-job) sqlite_job ;; # internal: started by `start`
  env)
    [[ -f $ENV_FILE ]] || die "no env file at $ENV_FILE (run: bash scripts/services.sh start)"
    printf '# %s\n' "$ENV_FILE"
    cat "$ENV_FILE"
    ;;
  env-path) printf '%s\n' "$ENV_FILE" ;;
  *)
    echo "usage: $0 start|stop|report|env|env-path" >&2
    exit 2
    ;;
esac
