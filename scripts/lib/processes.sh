# Process and port helpers shared by scripts/services.sh and scripts/kube.sh (sourced; they
# define log()).

# Whether something listens on 127.0.0.1:PORT.
port_busy() {
  if command -v ss >/dev/null 2>&1; then
    [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# Stops a process started with setsid (its pid is also its process group id) named in PIDFILE.
stop_group() { # stop_group PIDFILE WHAT
  local pidfile=$1 what=$2 pid i
  [[ -s $pidfile ]] || { rm -f "$pidfile"; return 0; }
  pid=$(cat "$pidfile")
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    log "stopping $what (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}
