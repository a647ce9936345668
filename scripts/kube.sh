#!/usr/bin/env bash
# A real Kubernetes control plane on 127.0.0.1, for steward's operator tests and for trying the
# operator without a cluster: etcd, kube-apiserver (RBAC on, ServiceAccount tokens, admission
# webhooks) and kube-controller-manager (garbage collection, Jobs, ServiceAccount tokens), with no
# kubelet (Pods never run). The binaries, and kubectl, are built with Go from the published Go
# modules pinned in scripts/kube/go.mod (k8s.io/kubernetes with its staging modules, etcd's
# server), once per pin, and cached under $STEWARD_CACHE_DIR/kube/<pin>/.
#
#   bash scripts/kube.sh build   # build the binaries if the pin changed; print their directory
#   bash scripts/kube.sh start   # (re)start the control plane; writes $STATE_DIR/env
#   bash scripts/kube.sh stop    # stop it and remove $STATE_DIR (safe when nothing runs)
#   bash scripts/kube.sh env     # print the env file's path and contents
#
# The env file sets KUBECONFIG (the cluster admin: a client certificate in system:masters),
# STEWARD_KUBECTL (the pinned kubectl), STEWARD_KUBE_SERVER, STEWARD_KUBE_CA, STEWARD_KUBE_AUDIT_LOG
# (every request, JSON lines), STEWARD_KUBE_DIR and STEWARD_TEST_KUBE=1:
#   . /tmp/steward-kube/env && "$STEWARD_KUBECTL" get namespaces
#
# Environment (all optional):
#   STEWARD_KUBE_DIR        state directory (certs, etcd data, logs, pids, env)  default /tmp/steward-kube
#   STEWARD_CACHE_DIR       cache root for the binaries                           default ~/.cache/steward
#   STEWARD_KUBE_PORT       kube-apiserver's port; default: first free of 56443..56452
#   STEWARD_ETCD_PORT       etcd's client port;   default: first free of 52379..52388 (peer: +1000)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODULE_DIR=$ROOT/scripts/kube
STATE_DIR=${STEWARD_KUBE_DIR:-/tmp/steward-kube}
CACHE_DIR=${STEWARD_CACHE_DIR:-${HOME:-/root}/.cache/steward}
MARKER=.steward-kube
ENV_FILE=$STATE_DIR/env
# The binaries the tests use, from the module's tool lines and etcd's entry point.
BINARIES=(etcd kube-apiserver kube-controller-manager kubectl)

log() { printf '[kube] %s\n' "$*" >&2; }
# shellcheck source=scripts/lib/processes.sh
source "$ROOT/scripts/lib/processes.sh"
die() { printf '[kube] error: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }
secs_since() { local d=$(($(now_ms) - $1)); printf '%d.%01ds' $((d / 1000)) $(((d % 1000) / 100)); }

# ---------------------------------------------------------------------------------------------
# build

# The pin: the Kubernetes release named in go.mod and a digest of go.mod, go.sum and etcd's main,
# so any change to them builds again into a directory of its own.
pin() {
  local release digest
  release=$(sed -n 's/^[[:space:]]*k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' "$MODULE_DIR/go.mod" | head -n 1)
  [[ -n $release ]] || die "scripts/kube/go.mod names no k8s.io/kubernetes release"
  digest=$(cat "$MODULE_DIR/go.mod" "$MODULE_DIR/go.sum" "$MODULE_DIR/etcd/main.go" | sha256sum | cut -c1-12)
  printf '%s-%s\n' "$release" "$digest"
}

bin_dir() { printf '%s/kube/%s/bin\n' "$CACHE_DIR" "$(pin)"; }

built() { # built DIR: every binary is there and runs
  local b
  for b in "${BINARIES[@]}"; do
    [[ -x $1/$b ]] || return 1
  done
  "$1/kubectl" version --client >/dev/null 2>&1
}

build() {
  local dir tmp started
  dir=$(bin_dir)
  if built "$dir"; then
    printf '%s\n' "$dir"
    return
  fi
  command -v go >/dev/null 2>&1 || die "building the control plane needs Go (go >= 1.24 on PATH)"
  mkdir -p "$(dirname "$dir")"
  # Older pins' binaries are dropped: only the pinned release is ever run.
  find "$CACHE_DIR/kube" -mindepth 1 -maxdepth 1 -type d ! -name "$(pin)" -exec rm -rf {} + 2>/dev/null || true
  tmp=$(mktemp -d "$(dirname "$dir")/.build.XXXXXX")
  trap 'rm -rf "$tmp"' RETURN
  started=$(now_ms)
  log "building ${BINARIES[*]} from scripts/kube/go.mod ($(pin); once, cached in $dir)"
  # A build cache of its own, removed after: the build is once per pin, and a shared cache
  # would keep gigabytes of Kubernetes' compiled packages on disk for nothing.
  (
    cd "$MODULE_DIR"
    GOCACHE="$tmp/.gocache" GOFLAGS=-buildvcs=false go build -mod=readonly -trimpath -ldflags='-s -w' -o "$tmp/" \
      ./etcd k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kubectl
  ) >&2 || die "go build of the control plane failed (scripts/kube/go.mod)"
  rm -rf "$tmp/.gocache"
  built "$tmp" || die "the control plane binaries were built but do not run"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  log "built in $(secs_since "$started")"
  printf '%s\n' "$dir"
}

# ---------------------------------------------------------------------------------------------
# ports and processes

pick_port() { # pick_port WHAT EXPLICIT DEFAULT
  local what=$1 explicit=$2 first=$3 p
  if [[ -n $explicit ]]; then
    port_busy "$explicit" && die "$what port $explicit (set explicitly) is already in use"
    printf '%s\n' "$explicit"
    return
  fi
  for ((p = first; p < first + 10; p++)); do
    port_busy "$p" || port_busy $((p + 1000)) || { printf '%s\n' "$p"; return; }
  done
  die "$what: ports $first..$((first + 9)) are all in use; set the port explicitly"
}

# Starts COMMAND in a process group of its own (setsid), logs to NAME.log, pid in NAME.pid.
start_group() { # start_group NAME COMMAND...
  local name=$1
  shift
  setsid "$@" >"$STATE_DIR/$name.log" 2>&1 </dev/null &
  printf '%s\n' "$!" >"$STATE_DIR/$name.pid"
}

stop() {
  [[ -d $STATE_DIR ]] || return 0
  [[ -f $STATE_DIR/$MARKER ]] || die "$STATE_DIR exists but was not made by this script; not touching it"
  stop_group "$STATE_DIR/kube-controller-manager.pid" kube-controller-manager
  stop_group "$STATE_DIR/kube-apiserver.pid" kube-apiserver
  stop_group "$STATE_DIR/etcd.pid" etcd
  rm -rf "$STATE_DIR"
}

# ---------------------------------------------------------------------------------------------
# certificates: one CA signs the API server's serving certificate and the clients' certificates

cert() { # cert NAME SUBJECT [SAN]: NAME.key + NAME.crt signed by the CA
  local name=$1 subject=$2 san=${3:-} ext=$STATE_DIR/pki/$1.ext
  openssl genrsa -out "$STATE_DIR/pki/$name.key" 2048 2>/dev/null
  openssl req -new -key "$STATE_DIR/pki/$name.key" -subj "$subject" -out "$STATE_DIR/pki/$name.csr" 2>/dev/null
  if [[ -n $san ]]; then
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >"$ext"
  else
    printf 'extendedKeyUsage=clientAuth\n' >"$ext"
  fi
  openssl x509 -req -in "$STATE_DIR/pki/$name.csr" -CA "$STATE_DIR/pki/ca.crt" -CAkey "$STATE_DIR/pki/ca.key" \
    -CAcreateserial -days 2 -extfile "$ext" -out "$STATE_DIR/pki/$name.crt" 2>/dev/null
}

make_pki() {
  mkdir -p "$STATE_DIR/pki"
  chmod 700 "$STATE_DIR/pki"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$STATE_DIR/pki/ca.key" -out "$STATE_DIR/pki/ca.crt" \
    -days 2 -subj "/CN=steward-test-ca" 2>/dev/null
  cert apiserver "/CN=kube-apiserver" "IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc"
  cert admin "/O=system:masters/CN=steward-test-admin"
  cert controller-manager "/CN=system:kube-controller-manager"
  # The ServiceAccount token signing key pair.
  openssl genrsa -out "$STATE_DIR/pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$STATE_DIR/pki/sa.key" -pubout -out "$STATE_DIR/pki/sa.pub" 2>/dev/null
}

kubeconfig() { # kubeconfig FILE CLIENT: a kubeconfig for the client certificate CLIENT
  cat >"$1" <<YAML
apiVersion: v1
kind: Config
clusters:
  - name: steward-test
    cluster:
      server: https://127.0.0.1:$KUBE_PORT
      certificate-authority: $STATE_DIR/pki/ca.crt
users:
  - name: $2
    user:
      client-certificate: $STATE_DIR/pki/$2.crt
      client-key: $STATE_DIR/pki/$2.key
contexts:
  - name: steward-test
    context: {cluster: steward-test, user: $2}
current-context: steward-test
YAML
  chmod 600 "$1"
}

# ---------------------------------------------------------------------------------------------
# start

wait_ready() { # wait_ready WHAT SECONDS COMMAND...: until COMMAND succeeds
  local what=$1 seconds=$2 i
  shift 2
  for ((i = 0; i < seconds * 10; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "$what did not become ready within ${seconds}s; its log: $STATE_DIR/$what.log"
}

apiserver_ready() {
  curl -sf --cacert "$STATE_DIR/pki/ca.crt" --cert "$STATE_DIR/pki/admin.crt" --key "$STATE_DIR/pki/admin.key" \
    "https://127.0.0.1:$KUBE_PORT/readyz" | grep -q '^ok$'
}

# openssl (certificates) and curl (readiness) from Debian's packages when the machine lacks them.
need_tools() {
  local missing=() tool
  for tool in openssl curl setsid; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [[ ${#missing[@]} -eq 0 ]] && return
  [[ $EUID -eq 0 ]] || die "${missing[*]} missing; install them with: sudo apt-get install -y openssl curl util-linux"
  log "installing ${missing[*]} with apt"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl curl util-linux >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl curl util-linux >/dev/null; } \
    || die "could not install ${missing[*]}"
}

start() {
  local bin started
  need_tools
  bin=$(build)
  stop
  started=$(now_ms)
  mkdir -p "$STATE_DIR"
  touch "$STATE_DIR/$MARKER"
  KUBE_PORT=$(pick_port kube-apiserver "${STEWARD_KUBE_PORT:-}" 56443)
  ETCD_PORT=$(pick_port etcd "${STEWARD_ETCD_PORT:-}" 52379)
  make_pki
  # Every request's user, verb and resource, for the least-privilege test of the operator's RBAC.
  cat >"$STATE_DIR/audit-policy.yaml" <<'YAML'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
YAML

  start_group etcd "$bin/etcd" --name steward-test --data-dir "$STATE_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1000))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1000))" \
    --initial-cluster "steward-test=http://127.0.0.1:$((ETCD_PORT + 1000))" \
    --listen-metrics-urls "" --unsafe-no-fsync --log-level warn
  wait_ready etcd 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

  start_group kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$KUBE_PORT" \
    --tls-cert-file "$STATE_DIR/pki/apiserver.crt" --tls-private-key-file "$STATE_DIR/pki/apiserver.key" \
    --client-ca-file "$STATE_DIR/pki/ca.crt" \
    --service-account-issuer "https://127.0.0.1:$KUBE_PORT" \
    --service-account-key-file "$STATE_DIR/pki/sa.pub" \
    --service-account-signing-key-file "$STATE_DIR/pki/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 \
    --authorization-mode RBAC --anonymous-auth=false \
    --enable-admission-plugins NamespaceLifecycle,ServiceAccount,ValidatingAdmissionWebhook,MutatingAdmissionWebhook \
    --disable-admission-plugins "" \
    --endpoint-reconciler-type none --enable-priority-and-fairness=false \
    --audit-policy-file "$STATE_DIR/audit-policy.yaml" --audit-log-path "$STATE_DIR/audit.log" \
    --audit-log-format json --audit-log-maxsize 200 \
    --v 1
  wait_ready kube-apiserver 90 apiserver_ready

  kubeconfig "$STATE_DIR/admin.kubeconfig" admin
  kubeconfig "$STATE_DIR/controller-manager.kubeconfig" controller-manager
  start_group kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig "$STATE_DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$STATE_DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$STATE_DIR/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false \
    --use-service-account-credentials \
    --service-account-private-key-file "$STATE_DIR/pki/sa.key" \
    --root-ca-file "$STATE_DIR/pki/ca.crt" \
    --controllers garbagecollector,job,ttl-after-finished,serviceaccount,serviceaccount-token,namespace \
    --v 1
  # Ready when it has made the default namespace's ServiceAccount (its serviceaccount controller).
  wait_ready kube-controller-manager 60 \
    "$bin/kubectl" --kubeconfig "$STATE_DIR/admin.kubeconfig" get serviceaccount default -n default

  cat >"$ENV_FILE" <<ENV
export STEWARD_TEST_KUBE=1
export STEWARD_KUBE_DIR=$STATE_DIR
export KUBECONFIG=$STATE_DIR/admin.kubeconfig
export STEWARD_KUBECTL=$bin/kubectl
export STEWARD_KUBE_SERVER=https://127.0.0.1:$KUBE_PORT
export STEWARD_KUBE_CA=$STATE_DIR/pki/ca.crt
export STEWARD_KUBE_AUDIT_LOG=$STATE_DIR/audit.log
ENV
  log "control plane ready in $(secs_since "$started"): https://127.0.0.1:$KUBE_PORT (env: $ENV_FILE)"
}

case ${1:-} in
  build) build ;;
  start) start ;;
  stop) stop ;;
  env)
    [[ -f $ENV_FILE ]] || die "not started: $ENV_FILE is missing (bash scripts/kube.sh start)"
    printf '%s\n' "$ENV_FILE"
    cat "$ENV_FILE"
    ;;
  *) die "usage: bash scripts/kube.sh build|start|stop|env" ;;
esac
