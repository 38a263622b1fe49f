# shellcheck shell=bash
# Shared by bench/load.sh and the end-to-end suites that deliver many
# messages at once (faults_run.sh, budget_run.sh). Sourced after lib.sh,
# never run.
#
# Provides: mail users with keys (secret keys all in one client keyring, the
# public key in each user's ~/.gnupg), filtered by the kit's 90-gpgseal.conf
# as shipped or left unfiltered; gpgseal installed through a wrapper that
# records each process's peak RSS (bench/peak_rss.c) and sources
# $tmp/filter.env for a fault's settings; a cpuacct cgroup around Dovecot and
# everything it starts; and the load driver bench/lmtp_load.py.
BENCH=$REPO/bench
readonly BENCH
cgroup=""

# load_setup INSTANCE GPGSEAL: $tmp, the mail user, the wrapper and the
# peak-RSS shim. Users come from add_filtered_user / add_plain_user, then
# load_config and load_start.
load_setup() {
  make_tmp "$1"
  make_user "$1" "$tmp/home"
  mkdir -m 0755 "$tmp/home"
  install -d -m 0777 "$tmp/rss"
  : >"$tmp/users"
  cc -O2 -shared -fPIC -o "$tmp/peak_rss.so" "$BENCH/peak_rss.c" ||
    die "cannot build bench/peak_rss.c (needs a C compiler)"
  cat >"$tmp/gpgseal-wrapper" <<EOF
#!/bin/bash
# Dovecot runs this as the filter: gpgseal with its peak RSS recorded in
# $tmp/rss/PID, and a fault's environment from $tmp/filter.env if present.
[[ -r $tmp/filter.env ]] && source $tmp/filter.env
export PEAK_RSS_FILE=$tmp/rss/\$\$
export LD_PRELOAD=\${FAULT_PRELOAD:+\$FAULT_PRELOAD:}$tmp/peak_rss.so
exec $(realpath "$2") "\$@"
EOF
  chmod 0755 "$tmp/gpgseal-wrapper"
  install_filter "$tmp/gpgseal-wrapper"
}

# add_filtered_user ADDRESS [EXTRA_FIELD...]: a user with a key, filtered
# by the shipped global script (or what EXTRA_FIELDs set instead).
add_filtered_user() {
  local address=$1 home; shift
  home=$(home_of "$address")
  make_key "$tmp/client" "$(local_part "$address") <$address>" "$tmp/$(local_part "$address").pub.asc"
  make_dirs "$home" "$home/.gnupg"
  import_key "$home/.gnupg" "$tmp/$(local_part "$address").pub.asc"
  user_line "$address" "$home" "$@" >>"$tmp/users"
}

# add_plain_user ADDRESS: the same Dovecot and Sieve, but a sieve_before that
# only keeps the message: what delivery costs without the filter.
add_plain_user() {
  local home
  home=$(home_of "$1")
  make_dirs "$home"
  user_line "$1" "$home" "userdb_sieve_before=$tmp/sieve/keep.sieve" >>"$tmp/users"
}

# load_config: Dovecot with the kit as shipped (its deadline settings too)
# and the scripts compiled: the default one, the strict one, keep.sieve.
load_config() {
  write_system_config "load"
  echo 'keep;' >"$tmp/keep.sieve"
  compile_sieve gpgseal-before.sieve gpgseal-before-strict.sieve
  cp "$tmp/keep.sieve" "$tmp/sieve/" && sievec -c "$tmp/dovecot.conf" "$tmp/sieve/keep.sieve"
  chmod 0644 "$tmp/sieve/"*
}

# load_start [COMMAND...]: Dovecot (run by COMMAND, see start_dovecot), moved
# with what it started into its own cpuacct cgroup, so that cpu_ns counts
# it, the filter and gpg and nothing else.
load_start() {
  start_dovecot "$@"
  local root=/sys/fs/cgroup/cpuacct pid
  [[ -w $root/cgroup.procs ]] || root=/sys/fs/cgroup
  if [[ -f $root/cpuacct.usage || -f $root/cpu.stat ]] &&
     mkdir "$root/gpgseal-load-$$" 2>/dev/null; then
    cgroup=$root/gpgseal-load-$$
    # Dovecot's children so far (log, config, auth); later ones follow it.
    for pid in $dovecot_pid $(pgrep -P "$dovecot_pid" || true); do
      echo "$pid" >"$cgroup/cgroup.procs" 2>/dev/null || true
    done
  fi
}

# CPU time (ns) used so far in Dovecot's cgroup, or n/a.
cpu_ns() {
  if [[ -f $cgroup/cpuacct.usage ]]; then
    cat "$cgroup/cpuacct.usage"
  elif [[ -f $cgroup/cpu.stat ]]; then
    awk '$1 == "usage_usec" { print $2 * 1000 }' "$cgroup/cpu.stat"
  else
    echo n/a
  fi
}

# Called from extra_teardown, after Dovecot stopped.
load_teardown() {
  [[ -n $cgroup && -d $cgroup ]] || return 0
  local pid parent
  parent=$(dirname "$cgroup")
  for pid in $(cat "$cgroup/cgroup.procs" 2>/dev/null); do
    echo "$pid" >"$parent/cgroup.procs" 2>/dev/null || true
  done
  rmdir "$cgroup" 2>/dev/null || true
}

# load_send TAG RCPTS SESSIONS [DRIVER_OPTION...]: one run of the driver;
# its figures line in $tmp/TAG.figures, per message times in $tmp/TAG.json.
load_send() {
  local tag=$1 rcpts=$2 sessions=$3; shift 3
  python3 "$BENCH/lmtp_load.py" send "$tmp/run/lmtp" --tag "$tag" --rcpt "$rcpts" \
    --sessions "$sessions" --results "$tmp/$tag.json" "$@" >"$tmp/$tag.figures"
}

# load_verify TAG RCPTS [DRIVER_OPTION...]: checks what the run TAG stored in
# every user's Maildir; prints the counts line.
load_verify() {
  local tag=$1 rcpts=$2 maildirs=() home; shift 2
  for home in "$tmp"/home/*/; do maildirs+=(--maildir "x=${home}Maildir"); done
  python3 "$BENCH/lmtp_load.py" verify --tag "$tag" --rcpt "$rcpts" \
    --results "$tmp/$tag.json" --gnupghome "$tmp/client" "${maildirs[@]}" "$@"
}

# The largest peak RSS (KiB) any gpgseal recorded since the last clear_rss,
# and how many gpgseal processes recorded one.
peak_rss_kib() { cat "$tmp"/rss/* 2>/dev/null | sort -n | tail -1; }
rss_count() { find "$tmp/rss" -type f | wc -l; }
clear_rss() { find "$tmp/rss" -type f -delete; }

# Drops every stored message (between runs: the disk holds one run at a time).
clear_mail() { rm -rf "$tmp"/home/*/Maildir; }
