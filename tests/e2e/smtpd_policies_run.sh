#!/usr/bin/env bash
# gpgseal-smtpd's policies, and both OpenSMTPD set-ups of README.md taken from
# it as written, under Debian's real smtpd (6.8.0p2) started privately by
# tests/e2e/mta/lib_mta.sh, with mail sent by Python's smtplib.
#
# 1. Filters. README's `filter "gpgseal" proc-exec ...` line verbatim (its
#    binary /usr/local/bin/gpgseal-smtpd and keyring /var/lib/gpgseal/keys
#    exist inside smtpd's namespace), beside two more filters on their own
#    listeners:
#    - --local-domain example.org: a recipient in example.net is not sealed
#      for, alone or beside a local one, although the keyring has its key;
#    - a keyring template (--gnupghome /var/lib/gpgseal/%d/%n): each
#      recipient's message is sealed with the key in their own keyring, and
#      two recipients with separate keyrings get the message unchanged;
#    - --on-missing-key fail / --on-error fail: the SMTP client is answered
#      451 at the end of DATA and nothing is stored; a keyed message still
#      goes through sealed;
#    - the log line of a sealed message in smtpd's log, named once.
# 2. README's per-recipient MDA recipe (`action ... mda "...gpgseal ...
#    dovecot-lda ..."` and its match line) verbatim, delivering through
#    Dovecot's LDA to system users: a keyed user's copy is sealed, a user
#    without a keyring and one with a broken keyring get the original whole
#    (never an empty message). While gpgseal crashes, the message is
#    deferred with nothing stored; once gpgseal works again, smtpd's retry
#    delivers it exactly once, sealed.
#
# Usage: tests/e2e/smtpd_policies_run.sh GPGSEAL_SMTPD_BINARY  (as root; 77 = skip)
#        gpgseal must be next to it (the build directory).
set -Eeuo pipefail

readonly SCRIPT=smtpd_policies_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-300}
readonly CASE_TIMEOUT=60
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/mta/lib_mta.sh
source "$HERE/mta/lib_mta.sh"
# shellcheck source=tests/e2e/smtpd/lib_smtpd.sh
source "$HERE/smtpd/lib_smtpd.sh"
readonly SENDER=sender@example.com DOMAIN=example.org
readonly KEYED=keyed@example.org OTHER=other@example.org NOKEY=nokey@example.org
readonly OUTSIDE=outside@example.net
# shellcheck disable=SC2016  # the backquotes are the heading's own
readonly HEADING='## OpenSMTPD: `gpgseal-smtpd`, a native filter'
mda_logins=()
peruser_port="" tempfail_port=""

login_of() { echo "gsm$1$$"; }
client() { echo "$tmp/client/$1"; }

stop_agents() {
  local dir
  for dir in "$tmp"/client/*; do
    [[ -d $dir ]] && GNUPGHOME=$dir gpgconf --kill all 2>/dev/null
  done
  return 0
}

extra_teardown() {
  mta_stop_all
  local login
  for login in "${mda_logins[@]}"; do
    pkill -KILL -u "$login" 2>/dev/null || true   # by uid: only this test's users
    userdel "$login" 2>/dev/null || true
  done
  return 0
}

readme_block() { python3 "$HERE/mta/readme_block.py" "$REPO/README.md" "$HEADING" "$1"; }
cases() { python3 "$HERE/smtpd/smtp_cases.py" "$@"; }

# expect_451 PORT NAME MESSAGE_FILE RCPT: smtpd answers 451 to the end of
# DATA, and nothing with that Subject is stored.
expect_451() {
  local port=$1 name=$2 eml=$3 reply; shift 3
  reply=$(cases "$port" reply "$@" <"$eml")
  if [[ $reply != "451 "* ]]; then
    fail "$name" "answered '$reply', not 451"
  elif [[ -n $(smtpd_stored "$tmp/vhome/Maildir" "$name" 20) ]]; then
    fail "$name" "refused with 451, and stored all the same"
  else
    pass "$name (451)"
  fi
}

# keyring DIR PUBLIC_FILE...: a filter's keyring, owned by smtpd's user.
keyring() {
  local dir=$1 owner; shift
  owner=$(awk -F: '$1 == "opensmtpd" { print $3 ":" $4 }' "$(mta_layer opensmtpd)/etc/passwd")
  install -d -m 0700 "$dir"
  # --no-autostart: no agent, whose socket path would be too long here.
  cat "$@" | GNUPGHOME=$dir gpg --batch --quiet --no-autostart --import 2>"$tmp/import.err" ||
    die "import into $dir: $(cat "$tmp/import.err")"
  chown -R "$owner" "$dir"
}

# --- 1. filters -------------------------------------------------------------------

setup_filters() {
  local layer readme filter_line listen_line
  make_user gpgseal-smtpp "$tmp/vhome"
  make_dirs "$tmp/vhome"
  mkdir -m 0755 "$tmp/client"
  local address
  for address in "$KEYED" "$OTHER" "$OUTSIDE"; do
    make_key "$(client "$address")" "$address <$address>" "$tmp/$address.asc"
  done
  printf '@example.org %s\n@example.net %s\n' "$e2e_user" "$e2e_user" >"$tmp/vusers"
  # smtpd's own users first: the keyrings belong to its user opensmtpd.
  mta_add_users opensmtpd opensmtpd:opensmtpd opensmtpq:opensmtpq
  layer=$(mta_layer opensmtpd)
  install -D -m 0755 "$BUILD/gpgseal-smtpd" "$layer/usr/local/bin/gpgseal-smtpd"
  install -d -m 0755 "$layer/var/lib/gpgseal/$DOMAIN"
  keyring "$layer/var/lib/gpgseal/keys" "$tmp/$KEYED.asc" "$tmp/$OUTSIDE.asc"
  keyring "$layer/var/lib/gpgseal/$DOMAIN/keyed" "$tmp/$KEYED.asc"
  keyring "$layer/var/lib/gpgseal/$DOMAIN/other" "$tmp/$OTHER.asc"
  readme=$(readme_block 1) || die "no smtpd.conf block under $HEADING"
  filter_line=$(grep '^filter "gpgseal" proc-exec ' <<<"$readme") || die "README: no filter line"
  listen_line=$(grep '^listen on 0.0.0.0 port 25 ' <<<"$readme") || die "README: no listen line"
  peruser_port=$(mta_free_port)
  tempfail_port=$(mta_free_port)
  # The README's listen line's options on a loopback port (opensmtpd_setup).
  opensmtpd_setup "${listen_line#listen on 0.0.0.0 port 25 }" \
    "table vusers file:$tmp/vusers" \
    "$filter_line" \
    'filter "peruser" proc-exec "/usr/local/bin/gpgseal-smtpd --gnupghome /var/lib/gpgseal/%d/%n --log stderr"' \
    'filter "tempfail" proc-exec "/usr/local/bin/gpgseal-smtpd --gnupghome /var/lib/gpgseal/keys --on-missing-key fail --on-error fail --max-size 8192 --workers 2 --log stderr"' \
    "listen on 127.0.0.1 port $peruser_port filter \"peruser\"" \
    "listen on 127.0.0.1 port $tempfail_port filter \"tempfail\"" \
    "action \"vlocal\" maildir \"%{user.directory}/Maildir\" virtual <vusers>" \
    "match from any for domain \"$DOMAIN\" action \"vlocal\"" \
    'match from any for domain "example.net" action "vlocal"'
  opensmtpd_start
  if ! mta_wait_port "$peruser_port" || ! mta_wait_port "$tempfail_port"; then
    opensmtpd_log >&2
    die "opensmtpd: not every listener is up"
  fi
}

case_local_domain() {
  local box=$tmp/vhome/Maildir
  smtpd_send_check "$OPENSMTPD_PORT" "$box" readme-filter-keyed encrypted "$(client "$KEYED")" "$KEYED"
  # The keyring has a key for OUTSIDE: only --local-domain keeps it clear.
  smtpd_send_check "$OPENSMTPD_PORT" "$box" outside-alone unchanged "" "$OUTSIDE"
  smtpd_send_check "$OPENSMTPD_PORT" "$box" local-and-outside unchanged "" "$KEYED" "$OUTSIDE"
}

case_template() {
  local box=$tmp/vhome/Maildir
  smtpd_send_check "$peruser_port" "$box" peruser-keyed encrypted "$(client "$KEYED")" "$KEYED"
  smtpd_send_check "$peruser_port" "$box" peruser-other encrypted "$(client "$OTHER")" "$OTHER"
  smtpd_send_check "$peruser_port" "$box" peruser-both unchanged "" "$KEYED" "$OTHER"
}

case_tempfail() {
  smtpd_message tempfail-nokey "<$NOKEY>" >"$tmp/tempfail-nokey.eml"
  expect_451 "$tempfail_port" tempfail-nokey "$tmp/tempfail-nokey.eml" "$NOKEY"
  # Over --max-size: an error, by --on-error fail.
  { smtpd_message tempfail-too-big "<$KEYED>"; head -c 12000 /dev/zero | tr '\0' 'x' | fold -w 70; } \
    >"$tmp/tempfail-too-big.eml"
  expect_451 "$tempfail_port" tempfail-too-big "$tmp/tempfail-too-big.eml" "$KEYED"
  smtpd_send_check "$tempfail_port" "$tmp/vhome/Maildir" tempfail-keyed encrypted \
    "$(client "$KEYED")" "$KEYED"
}

# smtpd logs its filter's stderr behind the filter's name.
case_log_lines() {
  local log
  log="$(mta_dir opensmtpd)/smtpd.log"
  if grep -Eq "peruser: message for <$OTHER> encrypted to 0x[0-9A-F]{40}; [0-9]+ bytes in" "$log"; then
    pass log/sealed-message-line
  else
    fail log/sealed-message-line "no 'peruser: message for <$OTHER> encrypted to 0x...' in smtpd's log"
  fi
  if grep -Eq "peruser: message [0-9a-f]+ passed unchanged: <$KEYED> and <$OTHER> have separate keyrings" "$log"; then
    pass log/separate-keyrings-line
  else
    fail log/separate-keyrings-line "no 'have separate keyrings' line"
  fi
  if grep -Eq "tempfail: message for <$NOKEY> failed, nothing written" "$log"; then
    pass log/tempfail-line
  else
    fail log/tempfail-line "no 'tempfail: message for <$NOKEY> failed' line"
  fi
  if grep -Eq '(gpgseal|peruser|tempfail): (gpgseal|gpgseal-smtpd): ' "$log"; then
    fail log/one-name "$(grep -E '(gpgseal|peruser|tempfail): (gpgseal|gpgseal-smtpd): ' "$log" | head -n 3)"
  else
    pass log/one-name
  fi
}

# --- 2. the MDA recipe --------------------------------------------------------------

# make_mda_user NAME: a system user with a home, as the recipe delivers to.
make_mda_user() {
  local login
  login=$(login_of "$1")
  useradd --create-home --home-dir "$tmp/home/$1" --shell /usr/sbin/nologin "$login"
  mda_logins+=("$login")
}

# Dovecot for system users (userdb passwd), whose LDA the recipe runs as
# /usr/lib/dovecot/dovecot-lda with /etc/dovecot/dovecot.conf: that file is
# this config inside smtpd's namespace.
setup_dovecot() {
  dovecot_base_config gpgseal-smtpd-mda passwd >"$tmp/dovecot.conf"
  chmod 0644 "$tmp/dovecot.conf"
  install -d -m 0755 "$(mta_layer opensmtpd)/etc/dovecot"
  echo "!include $tmp/dovecot.conf" >"$(mta_layer opensmtpd)/etc/dovecot/dovecot.conf"
  chmod 0644 "$(mta_layer opensmtpd)/etc/dovecot/dovecot.conf"
  start_dovecot
}

setup_mda() {
  local recipe address login
  opensmtpd_stop
  recipe=$(readme_block 2) || die "no MDA block under $HEADING"
  grep -q '^action "sealed" mda ".*/usr/local/bin/gpgseal %{rcpt} .*dovecot-lda' <<<"$recipe" ||
    die "README's MDA block is not an mda action running gpgseal: $recipe"
  install -D -m 0755 "$BUILD/gpgseal" "$(mta_layer opensmtpd)/usr/local/bin/gpgseal"
  login=$(login_of alice)
  address=$login@$DOMAIN
  make_key "$(client alice)" "$login <$address>" "$tmp/alice.asc"
  runuser -u "$login" -- env HOME="$tmp/home/alice" gpg --batch --quiet --no-autostart \
    --import "$tmp/alice.asc" </dev/null 2>/dev/null
  # carol's keyring exists but anyone could plant keys in it: an error.
  install -d -m 0777 -o "$(login_of carol)" "$tmp/home/carol/.gnupg"
  chmod 0777 "$tmp/home/carol/.gnupg"
  setup_dovecot
  mapfile -t lines <<<"$recipe"
  opensmtpd_setup "" "${lines[@]}"
  opensmtpd_start
}

# no_empty_message NAME MAILDIR: what a gpgseal that wrote nothing would have
# left behind a plain pipe, while smtpd logs it delivered.
no_empty_message() {
  local empty
  empty=$(find "$2" -type f -path '*/new/*' -empty)
  [[ -z $empty ]] || fail "$1/not-empty" "an EMPTY message was stored: $empty"
}

case_mda() {
  local name login mode
  for name in alice bob carol; do
    login=$(login_of "$name")
    mode=unchanged
    [[ $name == alice ]] && mode=encrypted
    smtpd_send_check "$OPENSMTPD_PORT" "$tmp/home/$name/Maildir" "mda-$name" "$mode" \
      "$(client alice)" "$login@$DOMAIN"
    no_empty_message "mda-$name" "$tmp/home/$name/Maildir"
  done
}

# A gpgseal that dies before writing anything: the recipe's exit status 75
# makes smtpd keep the message; after the repair one retry delivers it.
case_mda_crash() {
  local name=mda-crash login installed box
  login=$(login_of alice)
  box=$tmp/home/alice/Maildir
  installed="$(mta_layer opensmtpd)/usr/local/bin/gpgseal"
  printf '#!/bin/sh\nkill -KILL $$\n' >"$installed"
  smtpd_message "$name" "$login@$DOMAIN" >"$tmp/$name.eml"
  if ! mta_smtp "$OPENSMTPD_PORT" "$SENDER" "$login@$DOMAIN" <"$tmp/$name.eml"; then
    fail "$name" "SMTP refused"; return
  fi
  sleep 3
  no_empty_message "$name/deferred" "$box"
  if [[ -n $(smtpd_stored "$box" "$name" 10) ]]; then
    fail "$name/deferred" "stored while gpgseal crashed"
  elif ! opensmtpd_cmd show queue | grep -q "$login@$DOMAIN"; then
    fail "$name/deferred" "not in smtpd's queue: $(opensmtpd_cmd show queue 2>&1 | head -n 5)"
  else
    pass "$name/deferred"
  fi
  # In place, as the stub was: the namespace's /usr overlays this very file.
  cat "$BUILD/gpgseal" >"$installed"
  opensmtpd_cmd schedule all >/dev/null
  smtpd_check_copies "$box" "$name" encrypted "$(client alice)" 1
  no_empty_message "$name/retried" "$box"
}

main() {
  start_run GPGSEAL_SMTPD_BINARY "$@"
  BUILD=$(dirname "$(realpath "$1")")
  [[ -x $BUILD/gpgseal ]] || die "no gpgseal next to $1"
  make_tmp gpgseal-smtpd-policies
  mkdir -m 0755 "$tmp/home"
  # System users before smtpd's namespace: it copies the password database.
  local name
  for name in alice bob carol; do make_mda_user "$name"; done
  setup_filters
  case_local_domain
  case_template
  case_tempfail
  case_log_lines
  setup_mda
  case_mda
  case_mda_crash
  if ((failed > 0)); then opensmtpd_log; fi
  opensmtpd_stop
  finish_run
}

main "$@"
