# shellcheck shell=bash
# A private Postfix for the end-to-end tests; part of lib_mta.sh.
#
#   postfix_setup [-o NAME=VALUE...]
#                      starts the namespace and writes the instance: config directory $POSTFIX_CONF
#                      (main.cf, master.cf), queue directory under
#                      $(mta_dir postfix), SMTP on 127.0.0.1:$POSTFIX_PORT;
#                      local(8) delivers to ~/Maildir/ of system users
#                      (home_mailbox = Maildir/) for @example.org; nothing
#                      is ever relayed elsewhere. Create the test users
#                      (useradd) before: the namespace's /etc/passwd is a
#                      copy taken now. The -o options go to the smtpd
#                      service, e.g. -o content_filter=gpgseal:dummy as in
#                      FILTER_README's simple content filter.
#   postfix_conf NAME=VALUE...   postconf -e into main.cf
#   postfix_master LINE...       lines appended to master.cf
#   postfix_start      `postfix -c $POSTFIX_CONF start`, waits for SMTP
#   postfix_cmd CMD... a command in the namespace with MAIL_CONFIG set, e.g.
#                      postfix_cmd postqueue -p; postfix_cmd sendmail ...
#   postfix_stop       `postfix -c $POSTFIX_CONF stop`, then the namespace
#   postfix_log        prints the instance's log (maillog_file)
#
# Inside the namespace the private config is named in /etc/postfix/main.cf's
# alternate_config_directories, and postdrop and postqueue are set-gid to the
# private postdrop group, as Debian's postinst would make them: so a pipe(8)
# command can reinject with plain `sendmail -G -i -f SENDER -- RCPT...`
# (pipe exports MAIL_CONFIG to it).

POSTFIX_CONF=""
POSTFIX_PORT=""
postfix_started=""

postfix_setup() {
  local dir layer prefix gid smtpd_options=("$@")
  dir=$(mta_dir postfix)
  layer=$(mta_layer postfix)
  prefix=$(mta_prefix postfix)
  POSTFIX_CONF=$dir/etc
  POSTFIX_PORT=$(mta_free_port)
  mkdir -p "$POSTFIX_CONF" "$dir/data" "$dir/spool" "$layer/etc/postfix" "$layer/usr/sbin"
  mta_add_users postfix postfix:postfix :postdrop
  gid=$(awk -F: '$1 == "postdrop" { print $3 }' "$layer/etc/group")
  chown "$(awk -F: '$1 == "postfix" { print $3 }' "$layer/etc/passwd")" \
    "$dir/data"
  install -m 2755 -g "$gid" "$prefix/usr/sbin/postdrop" \
    "$prefix/usr/sbin/postqueue" "$layer/usr/sbin/"
  echo "alternate_config_directories = $POSTFIX_CONF" \
    >"$layer/etc/postfix/main.cf"
  : >"$layer/etc/postfix/master.cf"
  postfix_main_cf "$dir" >"$POSTFIX_CONF/main.cf"
  postfix_master_cf "${smtpd_options[@]}" >"$POSTFIX_CONF/master.cf"
  mta_ns_start postfix
}

postfix_main_cf() {
  cat <<EOF
compatibility_level = 3.6
queue_directory = $1/spool
data_directory = $1/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.org
mydomain = example.org
myorigin = example.org
mydestination = example.org, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# Nothing leaves this machine: anything not local is refused.
default_transport = error:5.7.1 the test instance relays nothing
relay_transport = error:5.7.1 the test instance relays nothing
alias_maps =
alias_database =
local_recipient_maps = unix:passwd.byname
home_mailbox = Maildir/
biff = no
smtputf8_enable = no
maillog_file_prefixes = $1
maillog_file = $1/maillog
EOF
}

# Only the services a local test needs; no chroot (there is no jail).
postfix_master_cf() {
  echo "127.0.0.1:$POSTFIX_PORT inet n - n - - smtpd"
  [[ $# -eq 0 ]] || echo "  $*"
  cat <<EOF
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

postfix_conf() {
  local setting
  for setting in "$@"; do
    mta_run postfix postconf -c "$POSTFIX_CONF" -e "$setting"
  done
}

postfix_master() {
  printf '%s\n' "$@" >>"$POSTFIX_CONF/master.cf"
}

postfix_start() {
  postfix_started=1
  postfix_cmd postfix -c "$POSTFIX_CONF" start >>"$(mta_dir postfix)/start.log" 2>&1 ||
    { postfix_log >&2; die "postfix start failed"; }
  mta_wait_port "$POSTFIX_PORT" || { postfix_log >&2; die "postfix: no SMTP"; }
}

postfix_cmd() {
  mta_run postfix env MAIL_CONFIG="$POSTFIX_CONF" "$@"
}

postfix_stop() {
  [[ -n $postfix_started ]] || return 0
  postfix_cmd postfix -c "$POSTFIX_CONF" stop >/dev/null 2>&1
  postfix_started=""
  mta_ns_stop postfix
}

postfix_log() {
  cat "$(mta_dir postfix)/start.log" "$(mta_dir postfix)/maillog" 2>/dev/null
  return 0
}
