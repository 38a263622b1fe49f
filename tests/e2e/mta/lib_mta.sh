# shellcheck shell=bash
# shellcheck disable=SC2154  # $tmp comes from tests/e2e/lib.sh
# Private, throwaway instances of Debian's real MTAs for the end-to-end
# tests: Postfix, Exim and OpenSMTPD, each listening on 127.0.0.1 at a free
# high port and delivering to Maildirs. Sourced after tests/e2e/lib.sh (it
# uses $tmp, die and HERE), never run.
#
# The MTAs are not installed (their Debian packages conflict): get_mtas.sh
# unpacks each into a private prefix. An instance runs in its own mount
# namespace (unshare -m), held open by an anchor process, where
#   /usr  = instance layer + the MTA's prefix/usr + the real /usr   (overlay)
#   /etc  = instance layer + the MTA's prefix/etc + the real /etc   (overlay)
#   /var/spool, /var/lib, /run = the real ones plus a private writable layer
# so each binary finds its helpers, libraries and users at its compiled-in
# paths (/usr/lib/postfix, /usr/sbin/exim4, /usr/libexec/opensmtpd, user
# Debian-exim...) and nothing outside the namespace changes, whatever MTA the
# system itself has. The instance layer holds /etc/passwd and /etc/group with
# the MTA's own system users added, and whatever else an MTA needs there.
#
# Functions (NAME is postfix, exim4 or opensmtpd):
#   mta_prefix NAME            the unpacked package tree (get_mtas.sh)
#   mta_free_port              a free TCP port on 127.0.0.1
#   mta_ns_start NAME          the namespace; files for the instance layer
#                              go into $(mta_layer NAME) BEFORE this call
#   mta_run NAME CMD...        CMD inside the namespace (nsenter)
#   mta_spawn NAME CMD...      the same in the background; pid in MTA_SPAWNED
#   mta_ns_stop NAME           kills every process of the namespace
#   mta_stop_all               mta_ns_stop for every namespace started
#   mta_wait_port PORT         waits until 127.0.0.1:PORT accepts connections
#   mta_smtp PORT FROM RCPT... < MESSAGE   one SMTP transaction (smtplib)
#   mta_wait_files MAILDIR N [SECONDS]     waits until MAILDIR holds N messages
#   postfix_start / postfix_stop / postfix_cmd ...   see there
#   exim_start CONF / exim_stop / exim_cmd ...
#   opensmtpd_start CONF / opensmtpd_stop

declare -A MTA_ANCHOR=()    # NAME -> pid of the process holding the namespace
MTA_SPAWNED=""
readonly MTA_DIR_BASE=mta   # instances live in $tmp/mta/NAME

# get_mtas.sh asks apt for the candidate versions, which takes seconds on a
# busy machine: once per run and MTA is enough.
mta_prefix() {
  local memo line
  memo=$tmp/$MTA_DIR_BASE/$1.prefix
  if [[ ! -s $memo ]]; then
    line=$("$HERE/mta/get_mtas.sh" "$1") || die "get_mtas.sh $1 failed"
    mkdir -p "$tmp/$MTA_DIR_BASE"
    echo "${line#* }" >"$memo"
  fi
  cat "$memo"
}

mta_free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

mta_dir() { echo "$tmp/$MTA_DIR_BASE/$1"; }
# The instance's own top layer, laid out like /.
mta_layer() { echo "$tmp/$MTA_DIR_BASE/$1/layer"; }

# mta_add_users NAME USER:GROUP...: the MTA's system users and groups in the
# instance's /etc/passwd and /etc/group, unless the system has them. They
# get free ids; they exist only inside the namespace.
mta_add_users() {
  local name=$1 layer pair user group id; shift
  layer=$(mta_layer "$name")
  mkdir -p "$layer/etc"
  [[ -f $layer/etc/passwd ]] || getent passwd >"$layer/etc/passwd"
  [[ -f $layer/etc/group ]] || getent group >"$layer/etc/group"
  for pair in "$@"; do
    user=${pair%%:*} group=${pair#*:}
    if ! grep -q "^$group:" "$layer/etc/group"; then
      id=$(mta_free_id "$layer/etc/group")
      echo "$group:x:$id:" >>"$layer/etc/group"
    fi
    [[ -z $user ]] && continue
    grep -q "^$user:" "$layer/etc/passwd" && continue
    id=$(mta_free_id "$layer/etc/passwd")
    printf '%s:x:%s:%s::/nonexistent:/usr/sbin/nologin\n' "$user" "$id" \
      "$(awk -F: -v g="$group" '$1 == g { print $3 }' "$layer/etc/group")" \
      >>"$layer/etc/passwd"
  done
}

# An id below 65000 that neither FILE nor the system uses.
mta_free_id() {
  local id
  for ((id = 64900; id > 60000; id--)); do
    awk -F: -v i="$id" '$3 == i { found = 1 } END { exit !found }' "$1" ||
      { getent passwd "$id" || getent group "$id"; } >/dev/null ||
      { echo "$id"; return; }
  done
  die "no free id"
}

# mta_ns_start NAME: the mount namespace of one instance (see the top).
mta_ns_start() {
  local name=$1 prefix dir layer ready
  prefix=$(mta_prefix "$name")
  dir=$(mta_dir "$name")
  layer=$(mta_layer "$name")
  mkdir -p "$layer/usr" "$layer/etc" "$dir/rw"
  ready=$dir/ns-ready
  rm -f "$ready"
  # The upper layers live on a tmpfs of the namespace: overlayfs wants its
  # upper directory on a file system that supports it, which /tmp may not.
  unshare -m --propagation private -- bash -euc '
    layer=$1 prefix=$2 rw=$3 ready=$4
    mount -t tmpfs -o mode=0755 gpgseal-mta "$rw"
    for d in usr etc; do
      lower=$layer/$d
      [[ -d $prefix/$d ]] && lower+=:$prefix/$d
      mount -t overlay gpgseal-mta -o "lowerdir=$lower:/$d" "/$d"
    done
    for d in var/spool var/lib run; do
      mkdir -p "$rw/$d.up" "$rw/$d.work"
      lower=/$d
      [[ -d $layer/$d ]] && lower=$layer/$d:$lower
      mount -t overlay gpgseal-mta \
        -o "lowerdir=$lower,upperdir=$rw/$d.up,workdir=$rw/$d.work" "/$d"
    done
    touch "$ready"
    exec sleep infinity
  ' mta-ns "$layer" "$prefix" "$dir/rw" "$ready" </dev/null &
  MTA_ANCHOR[$name]=$!
  local _
  for _ in $(seq 100); do
    [[ -e $ready ]] && return
    kill -0 "${MTA_ANCHOR[$name]}" 2>/dev/null || break
    sleep 0.1
  done
  die "the mount namespace for $name did not come up"
}

mta_run() {
  local name=$1; shift
  [[ -n ${MTA_ANCHOR[$name]:-} ]] || die "no namespace for $name"
  nsenter -t "${MTA_ANCHOR[$name]}" -m -- "$@"
}

# mta_spawn NAME CMD...: CMD in the background inside the namespace; its
# pid (nsenter execs it, without a fork, for a mount namespace) in
# MTA_SPAWNED. Standard input is /dev/null.
mta_spawn() {
  local name=$1; shift
  [[ -n ${MTA_ANCHOR[$name]:-} ]] || die "no namespace for $name"
  nsenter -t "${MTA_ANCHOR[$name]}" -m -- "$@" </dev/null &
  MTA_SPAWNED=$!
}

# The pids whose mount namespace is NAME's: its daemons, detached or not.
mta_ns_pids() {
  local anchor=${MTA_ANCHOR[$1]:-} ns pid
  [[ -n $anchor ]] || return 0
  ns=$(readlink "/proc/$anchor/ns/mnt") || return 0
  for pid in /proc/[0-9]*; do
    [[ $(readlink "$pid/ns/mnt" 2>/dev/null) == "$ns" ]] && echo "${pid#/proc/}"
  done
  return 0
}

# mta_ns_stop NAME: TERM, then KILL, every process left in the namespace
# (the MTA's own stop command should have run first); the namespace and its
# mounts go with the last one.
mta_ns_stop() {
  local name=$1 pids _
  [[ -n ${MTA_ANCHOR[$name]:-} ]] || return 0
  pids=$(mta_ns_pids "$name")
  # shellcheck disable=SC2086  # a list of pids
  [[ -n $pids ]] && kill -TERM $pids 2>/dev/null
  for _ in $(seq 50); do
    pids=$(mta_ns_pids "$name")
    [[ -z $pids || $pids == "${MTA_ANCHOR[$name]}" ]] && break
    sleep 0.1
  done
  pids=$(mta_ns_pids "$name")
  # shellcheck disable=SC2086
  [[ -n $pids ]] && kill -KILL $pids 2>/dev/null
  wait "${MTA_ANCHOR[$name]}" 2>/dev/null || true
  unset "MTA_ANCHOR[$name]"
  return 0
}

# mta_daemon_stop NAME PID: TERM for the daemon that runs in the foreground
# as PID (if any), then mta_ns_stop NAME.
mta_daemon_stop() {
  if [[ -n $2 ]]; then
    kill -TERM "$2" 2>/dev/null || true
    wait "$2" 2>/dev/null || true
  fi
  mta_ns_stop "$1"
}

mta_stop_all() {
  local name
  for name in "${!MTA_ANCHOR[@]}"; do
    # postfix_stop, exim_stop, opensmtpd_stop
    declare -F "${name%4}_stop" >/dev/null && "${name%4}_stop"
    mta_ns_stop "$name"
  done
  return 0
}

# mta_smtp PORT FROM RCPT... < MESSAGE: one SMTP transaction to 127.0.0.1.
mta_smtp() {
  local port=$1; shift
  python3 "$HERE/lmtp_send.py" "smtp:127.0.0.1:$port" "$@"
}

# mta_wait_port PORT: true once something listens on 127.0.0.1:PORT.
mta_wait_port() {
  local _
  for _ in $(seq 100); do
    python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" \
      2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# mta_wait_files MAILDIR N [SECONDS]: true once MAILDIR's new/ and cur/
# hold N files (MTAs deliver after the SMTP transaction ends).
mta_wait_files() {
  local maildir=$1 want=$2 tenths=$((${3:-30} * 10)) i
  for ((i = 0; i < tenths; i++)); do
    [[ $(maildir_files "$maildir" | grep -c .) -ge $want ]] && return 0
    sleep 0.1
  done
  return 1
}

# shellcheck source=tests/e2e/mta/lib_postfix.sh
source "$HERE/mta/lib_postfix.sh"
# shellcheck source=tests/e2e/mta/lib_exim.sh
source "$HERE/mta/lib_exim.sh"
# shellcheck source=tests/e2e/mta/lib_opensmtpd.sh
source "$HERE/mta/lib_opensmtpd.sh"
