# shellcheck shell=bash
# shellcheck disable=SC2154  # $tmp, $SENDER come from the sourcing script
# What the gpgseal-smtpd end-to-end suites (smtpd_run.sh,
# smtpd_policies_run.sh) send through smtpd and how they find it stored.
# Sourced after tests/e2e/lib.sh and tests/e2e/mta/lib_mta.sh, never run.
#
#   smtpd_message SUBJECT RCPT...   a small message on stdout, From $SENDER
#   smtpd_stored MAILDIR SUBJECT [TENTHS]
#                                   the stored messages with that Subject, one
#                                   a line, waiting up to TENTHS tenths of a
#                                   second (default 300) for the first
#   smtpd_send_check PORT MAILDIR NAME MODE CLIENT RCPT...
#                                   sends smtpd_message NAME to RCPT...; each
#                                   recipient's copy in MAILDIR must be MODE
#                                   (encrypted for CLIENT's key, or unchanged)
#   smtpd_check_copies MAILDIR NAME MODE CLIENT COUNT
#                                   the check half of smtpd_send_check: COUNT
#                                   copies of $tmp/NAME.eml stored, each MODE

smtpd_message() {
  local subject=$1; shift
  # With Date and Message-ID: smtpd appends those it misses after the filter.
  printf 'From: <%s>\nTo: %s\nSubject: %s\nDate: Fri, 4 Dec 2026 12:00:00 +0000\nMessage-ID: <%s.%s@example.com>\n' \
    "$SENDER" "$*" "$subject" "${subject// /.}" "$$"
  printf 'Content-Type: text/plain; charset=utf-8\n\nbody of %s\n.a line with a leading dot\n|pipes|in|a|line|\n' \
    "$subject"
}

smtpd_stored() {
  local i files
  for ((i = 0; i < ${3:-300}; i++)); do
    # shellcheck disable=SC2046  # Maildir file names have no blanks
    files=$(grep -lx "Subject: $2" $(maildir_files "$1") /dev/null 2>/dev/null || true)
    [[ -n $files ]] && { echo "$files"; return; }
    sleep 0.1
  done
}

smtpd_send_check() {
  local port=$1 maildir=$2 name=$3 mode=$4 keyring=$5; shift 5
  smtpd_message "$name" "$@" >"$tmp/$name.eml"
  if ! mta_smtp "$port" "$SENDER" "$@" <"$tmp/$name.eml"; then
    fail "$name" "SMTP refused"; return
  fi
  smtpd_check_copies "$maildir" "$name" "$mode" "$keyring" $#
}

smtpd_check_copies() {
  local maildir=$1 name=$2 mode=$3 keyring=$4 count=$5 files file
  files=$(smtpd_stored "$maildir" "$name")
  [[ -n $files ]] || { fail "$name" "not delivered"; return; }
  [[ $(grep -c . <<<"$files") -eq $count ]] ||
    { fail "$name" "$(grep -c . <<<"$files") copies for $count recipients"; return; }
  for file in $files; do
    check_verdict "$name" "$mode" "$tmp/$name.eml" "$file" "$keyring"
  done
}
