#!/usr/bin/env bash
# Smoke test of the MTA harness (tests/e2e/mta/): each of Debian's real
# Postfix, Exim and OpenSMTPD, unpacked by get_mtas.sh and started privately
# by lib_mta.sh, accepts SMTP on a loopback port and delivers to a test
# user's Maildir. Also proves what the MTA front-ends build on:
# - Postfix: a FILTER_README "simple content filter" (content_filter on the
#   smtpd service, a pipe(8) service running a command that reinjects with
#   `sendmail -G -i -f SENDER -- RECIPIENT...`) runs and delivers once;
# - OpenSMTPD: `filter NAME proc-exec CMD` starts a filter that speaks the
#   filter protocol; every line smtpd sends it is logged, and the message
#   goes through the filter (it adds a header line).
# gpgseal is not involved: mta_exim_procmail_run.sh and the front-end tests
# use this harness with it.
#
# Usage: tests/e2e/mta_smoke_run.sh GPGSEAL_BINARY  (as root; 77 = skip)
#        GPGSEAL_E2E_KEEP=1 keeps the temp dir; GPGSEAL_E2E_TIMEOUT bounds
#        the run (default 360 s).
# Output: PASS/FAIL lines, then one "N passed, M failed" line.
set -Eeuo pipefail

readonly SCRIPT=mta_smoke_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-360}
readonly CASE_TIMEOUT=60
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/mta/lib_mta.sh
source "$HERE/mta/lib_mta.sh"
readonly SENDER=sender@example.com

stop_agents() { :; }
extra_teardown() { mta_stop_all; }

# A message whose Subject names the case.
message() {
  printf 'From: Sender <%s>\nTo: <%s>\nSubject: smoke %s\nMessage-ID: <%s.%s@example.com>\n\nbody of %s\n' \
    "$SENDER" "$2" "$1" "$1" "$$" "$1"
}

# check_delivered CASE MAILDIR [HEADER]: exactly one message in MAILDIR, the
# one CASE sent, with HEADER if given.
check_delivered() {
  local name=$1 maildir=$2 header=${3:-} file
  if ! mta_wait_files "$maildir" 1 30; then
    fail "$name" "nothing delivered to $maildir"; return 1
  fi
  sleep 0.5
  file=$(maildir_files "$maildir")
  if [[ $(grep -c . <<<"$file") -ne 1 ]]; then
    fail "$name" "more than one message: $file"
  elif ! grep -qx "Subject: smoke $name" "$file" ||
       ! grep -qx "body of $name" "$file"; then
    fail "$name" "not the message sent: $(head -c 600 "$file")"
  elif [[ -n $header ]] && ! grep -qx "$header" "$file"; then
    fail "$name" "no '$header' in: $(head -c 900 "$file")"
  else
    pass "$name"; return 0
  fi
  return 1
}

# --- Postfix ---------------------------------------------------------------

# The pipe(8) command: marks the message and reinjects it (FILTER_README).
write_postfix_filter() {
  cat >"$tmp/pf-filter.sh" <<'EOF'
#!/bin/bash
# args: -f SENDER -- RECIPIENT...
sender=$2; shift 3
{ echo "X-Smoke-Filter: postfix"; cat; } |
  /usr/sbin/sendmail -G -i -f "$sender" -- "$@" || exit 75
EOF
  chmod 0755 "$tmp/pf-filter.sh"
}

smoke_postfix() {
  local rcpt=$e2e_user@example.org
  write_postfix_filter
  postfix_setup -o content_filter=smokefilter:dummy
  postfix_master "smokefilter unix - n n - 10 pipe" \
    "  flags=Rq user=$e2e_user null_sender= argv=$tmp/pf-filter.sh -f \${sender} -- \${recipient}"
  postfix_start
  message postfix/smtp "$rcpt" | mta_smtp "$POSTFIX_PORT" "$SENDER" "$rcpt" ||
    fail postfix/smtp "SMTP refused"
  check_delivered postfix/smtp "$tmp/home/Maildir" "X-Smoke-Filter: postfix" ||
    postfix_log
  mv "$tmp/home/Maildir" "$tmp/home/Maildir.postfix"
  # Mail submitted locally (pickup) does not pass the filter.
  message postfix/sendmail "$rcpt" |
    postfix_cmd sendmail -i -f "$SENDER" -- "$rcpt"
  check_delivered postfix/sendmail "$tmp/home/Maildir" || postfix_log
  if grep -q X-Smoke-Filter "$(maildir_files "$tmp/home/Maildir")"; then
    fail postfix/sendmail-unfiltered "local submission went through the filter"
  fi
  postfix_stop
  mv "$tmp/home/Maildir" "$tmp/home/Maildir.postfix-local"
}

# --- Exim ------------------------------------------------------------------

smoke_exim() {
  local rcpt=$e2e_user@example.org
  cat >"$tmp/exim-transport.conf" <<'EOF'
local_delivery:
  driver = appendfile
  directory = $home/Maildir
  maildir_format
  delivery_date_add
  envelope_to_add
  return_path_add
EOF
  exim_setup "$tmp/exim-transport.conf"
  exim_start
  message exim "$rcpt" | mta_smtp "$EXIM_PORT" "$SENDER" "$rcpt" ||
    fail exim "SMTP refused"
  check_delivered exim "$tmp/home/Maildir" "Envelope-to: $rcpt" || exim_log
  exim_stop
  mv "$tmp/home/Maildir" "$tmp/home/Maildir.exim"
}

# --- OpenSMTPD -------------------------------------------------------------

smoke_opensmtpd() {
  local rcpt=$e2e_user@example.org log=$tmp/filter-log/opensmtpd-filter.log
  # The filter runs as smtpd's unprivileged user.
  install -d -m 0777 "$tmp/filter-log"
  opensmtpd_setup 'filter "smoke"' \
    "filter \"smoke\" proc-exec \"/usr/bin/python3 $HERE/mta/opensmtpd_echo_filter.py $log\""
  opensmtpd_start
  # A body line that starts with a dot: smtplib sends it dot-stuffed.
  { message opensmtpd "$rcpt"; echo ".a line with a leading dot"; } |
    mta_smtp "$OPENSMTPD_PORT" "$SENDER" "$rcpt" || fail opensmtpd "SMTP refused"
  check_delivered opensmtpd "$tmp/home/Maildir" "X-Smoke-Filter: opensmtpd" ||
    opensmtpd_log
  if ! grep -qx '.a line with a leading dot' \
      "$(maildir_files "$tmp/home/Maildir")"; then
    fail opensmtpd/leading-dot "the dot line did not arrive unstuffed"
  fi
  if grep -q '^< config|ready$' "$log" &&
     grep -q '^< filter|[0-9.]*|[0-9.]*|smtp-in|data-line|' "$log" &&
     grep -q '^< report|[0-9.]*|[0-9.]*|smtp-in|tx-commit|' "$log"; then
    pass opensmtpd/filter-protocol
  else
    fail opensmtpd/filter-protocol "unexpected lines: $(head -c 2000 "$log")"
  fi
  opensmtpd_stop
  mv "$tmp/home/Maildir" "$tmp/home/Maildir.opensmtpd"
}

main() {
  start_run GPGSEAL_BINARY "$@"
  make_tmp gpgseal-mta-smoke
  make_user gpgseal-smoke "$tmp/home"
  make_dirs "$tmp/home"
  smoke_postfix
  smoke_exim
  smoke_opensmtpd
  check_no_leftovers
  summary
  [[ $failed -eq 0 ]] || exit 1
}

main "$@"
