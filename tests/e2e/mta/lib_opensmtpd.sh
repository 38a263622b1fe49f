# shellcheck shell=bash
# A private OpenSMTPD (Debian's smtpd 6.8.0p2) for the end-to-end tests; part
# of lib_mta.sh.
#
#   opensmtpd_setup LISTEN_OPTIONS [CONF_LINE...]
#                   starts the namespace and writes $OPENSMTPD_CONF:
#                     CONF_LINE...   (e.g. filter "f" proc-exec "CMD")
#                     listen on 127.0.0.1 port $OPENSMTPD_PORT LISTEN_OPTIONS
#                     action "local" maildir "%{user.directory}/Maildir"
#                     match from any for domain "example.org" action "local"
#                   so mail for @example.org goes to ~/Maildir of system
#                   users (create them before) and nothing is relayed.
#                   LISTEN_OPTIONS may be empty or e.g. 'filter "f"'.
#   opensmtpd_start the daemon (smtpd -d -f $OPENSMTPD_CONF), waits for SMTP
#   opensmtpd_cmd ARG...  smtpctl ARG... in the namespace (show queue, ...)
#   opensmtpd_stop  stops it, then the namespace
#   opensmtpd_log   prints smtpd's log (its stderr)
# smtpd's compiled-in paths are all provided by the namespace: the helpers
# in /usr/libexec/opensmtpd, the users opensmtpd and opensmtpq, the chroot
# /var/lib/opensmtpd/empty, the queue /var/spool/smtpd and the control
# socket /run/smtpd.sock (the last two in the namespace's private layer).
# Filters (proc-exec) run as user opensmtpd; they inherit smtpd's
# environment (smtpd -d keeps it).

OPENSMTPD_CONF=""
OPENSMTPD_PORT=""
opensmtpd_pid=""

opensmtpd_setup() {
  local listen_options=$1 dir layer; shift
  dir=$(mta_dir opensmtpd)
  layer=$(mta_layer opensmtpd)
  OPENSMTPD_CONF=$dir/smtpd.conf
  OPENSMTPD_PORT=$(mta_free_port)
  mkdir -p "$dir"
  install -d -m 0755 "$layer/var/lib/opensmtpd/empty"
  mta_add_users opensmtpd opensmtpd:opensmtpd opensmtpq:opensmtpq
  {
    printf '%s\n' "$@"
    echo "listen on 127.0.0.1 port $OPENSMTPD_PORT $listen_options"
    echo 'action "local" maildir "%{user.directory}/Maildir"'
    echo 'match from any for domain "example.org" action "local"'
  } >"$OPENSMTPD_CONF"
  mta_ns_start opensmtpd
}

opensmtpd_start() {
  mta_spawn opensmtpd smtpd -d -f "$OPENSMTPD_CONF" \
    >>"$(mta_dir opensmtpd)/smtpd.log" 2>&1
  opensmtpd_pid=$MTA_SPAWNED
  mta_wait_port "$OPENSMTPD_PORT" ||
    { opensmtpd_log >&2; die "opensmtpd: no SMTP"; }
}

# smtpctl wants the group opensmtpq, which its setgid bit gives it when
# installed; dpkg -x does not keep that bit.
opensmtpd_cmd() {
  mta_run opensmtpd setpriv --regid opensmtpq --clear-groups smtpctl "$@"
}

opensmtpd_stop() {
  mta_daemon_stop opensmtpd "$opensmtpd_pid"
  opensmtpd_pid=""
}

opensmtpd_log() {
  tail -n 60 "$(mta_dir opensmtpd)/smtpd.log" 2>/dev/null
  return 0
}
