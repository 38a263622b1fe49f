# shellcheck shell=bash
# A private Exim (Debian's exim4-daemon-light) for the end-to-end tests;
# part of lib_mta.sh.
#
#   exim_setup TRANSPORT_FILE [TRANSPORT [ROUTER_FILE]]
#                   starts the namespace and writes $EXIM_CONF: SMTP on
#                   127.0.0.1:$EXIM_PORT, spool and logs under
#                   $(mta_dir exim4), mail for @example.org to system users
#                   (check_local_user; create them before) through the
#                   transport TRANSPORT (default local_delivery) that
#                   TRANSPORT_FILE defines; nothing is ever relayed elsewhere.
#                   ROUTER_FILE replaces that one router (check_local_user).
#   exim_start      the daemon (exim4 -C $EXIM_CONF -bdf -q5s), waits for SMTP
#   exim_cmd ARG... exim4 -C $EXIM_CONF ARG... in the namespace (-bp, -qff, -M)
#   exim_reload     SIGHUP: the daemon reads $EXIM_CONF again
#   exim_stop       stops the daemon, then the namespace
#   exim_log        prints mainlog, paniclog and rejectlog
# Exim runs as root (it must, to bind and to switch to the mail user) and as
# user Debian-exim, which the namespace's /etc/passwd provides.

EXIM_CONF=""
EXIM_PORT=""
exim_pid=""

exim_setup() {
  local dir layer euid
  dir=$(mta_dir exim4)
  layer=$(mta_layer exim4)
  EXIM_CONF=$dir/exim4.conf
  EXIM_PORT=$(mta_free_port)
  mkdir -p "$dir/spool" "$dir/log"
  mta_add_users exim4 Debian-exim:Debian-exim
  euid=$(awk -F: '$1 == "Debian-exim" { print $3 ":" $4 }' "$layer/etc/passwd")
  chown "$euid" "$dir/spool" "$dir/log"
  {
    exim_main_conf "$dir"
    if [[ -n ${3:-} ]]; then cat "$3"; else exim_router "${2:-local_delivery}"; fi
    echo "begin transports"
    cat "$1"
  } >"$EXIM_CONF"
  # Exim refuses a configuration that others can write. It keeps root
  # (which delivery to users needs) for a -C file only if Debian's
  # TRUSTED_CONFIG_LIST, /etc/exim4/trusted_configs, names it.
  chmod 0644 "$EXIM_CONF"
  mkdir -p "$layer/etc/exim4"
  echo "$EXIM_CONF" >"$layer/etc/exim4/trusted_configs"
  chmod 0644 "$layer/etc/exim4/trusted_configs"
  mta_ns_start exim4
}

exim_main_conf() {
  cat <<EOF
spool_directory = $1/spool
log_file_path = $1/log/%slog
pid_file_path = $1/exim.pid
primary_hostname = mx.example.org
qualify_domain = example.org
domainlist local_domains = example.org
daemon_smtp_ports = $EXIM_PORT
local_interfaces = 127.0.0.1
never_users = root
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
keep_environment =
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_rcpt:
  accept domains = +local_domains
  deny message = the test instance relays nothing

begin retry
*  *  F,1h,1m

begin routers
EOF
}

exim_router() {
  cat <<EOF
local_user:
  driver = accept
  domains = +local_domains
  check_local_user
  transport = $1

EOF
}

exim_start() {
  mta_spawn exim4 exim4 -C "$EXIM_CONF" -bdf -q5s \
    >>"$(mta_dir exim4)/daemon.log" 2>&1
  exim_pid=$MTA_SPAWNED
  mta_wait_port "$EXIM_PORT" || { exim_log >&2; die "exim: no SMTP"; }
}

exim_cmd() {
  mta_run exim4 exim4 -C "$EXIM_CONF" "$@"
}

exim_reload() {
  kill -HUP "$exim_pid"
  # The daemon re-executes itself; wait until it listens again.
  sleep 0.5
  mta_wait_port "$EXIM_PORT" || { exim_log >&2; die "exim: no SMTP after HUP"; }
}

exim_stop() {
  mta_daemon_stop exim4 "$exim_pid"
  exim_pid=""
}

exim_log() {
  local dir
  dir=$(mta_dir exim4)
  tail -n 50 "$dir/daemon.log" "$dir"/log/*log 2>/dev/null
  return 0
}
