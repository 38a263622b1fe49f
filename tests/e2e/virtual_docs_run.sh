#!/usr/bin/env bash
# End-to-end test: virtual users set up by the commands in sieve/README.md
# ("Keys", virtual users), run as written with only the paths and the vmail
# user replaced by this test's, give a tree that Dovecot delivers into and
# gpgseal encrypts for, over dovecot-lda and LMTP.
#
# Usage: tests/e2e/virtual_docs_run.sh GPGSEAL_BINARY  (as root; 77 = skip otherwise)
# Output: PASS/FAIL lines and one "N passed, M failed" line.
set -Eeuo pipefail

readonly SCRIPT=virtual_docs_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-120}
readonly CASE_TIMEOUT=60
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly DATA=$HERE/data
readonly SENDER=sender@example.net ALICE=alice@example.org

stop_agents() {
  [[ -n $tmp ]] || return 0
  kill_agents root "$tmp/client"
  kill_agents user "$tmp/vmail/example.org/alice/.gnupg"
}

# The README's code block that follows "Create every level as vmail".
readme_commands() {
  awk '/Create every level as vmail/ { found = 1 }
       found && /```sh/ { inside = 1; next }
       inside && /```/ { exit }
       inside { sub(/^ +/, ""); print }' "$REPO/sieve/README.md"
}

main() {
  start_run GPGSEAL_BINARY "$@"
  make_tmp gpgseal-virtual-docs-e2e
  make_user gpgseal-vdoc "$tmp/vmail"
  make_key "$tmp/client" "Alice <$ALICE>" "$tmp/alice.pub.asc"
  local commands
  commands=$(readme_commands)
  [[ $commands == *"install -d"* ]] || die "no commands found in sieve/README.md"
  # Only the paths and the user change; the commands run as written.
  (cd "$tmp" && eval "$(sed -e "s|/var/vmail|$tmp/vmail|g" -e "s|vmail -g vmail|$e2e_user -g $e2e_user|g" \
      -e "s|-u vmail|-u $e2e_user|g" <<<"$commands")") >"$tmp/commands.log" 2>&1 ||
    die "the README's commands failed: $(cat "$tmp/commands.log")"
  user_line "$ALICE" "$tmp/vmail/example.org/alice" >"$tmp/users"
  {
    dovecot_base_config gpgseal-vdoc
    echo "!include $REPO/sieve/90-gpgseal-virtual.conf"
    echo "plugin {"
    echo "  sieve_before = $tmp/sieve/gpgseal-before.sieve"
    echo "  sieve_filter_bin_dir = $tmp/filter-bin"
    echo "  sieve_env_gpgseal_gnupghome = $tmp/vmail/%%d/%%n/.gnupg"
    echo "}"
  } >"$tmp/dovecot.conf"
  install_filter "$1"
  compile_sieve gpgseal-before.sieve
  start_dovecot
  local transport before stored why
  for transport in lda lmtp; do
    before=$(maildir_files "$tmp/vmail/example.org/alice/Maildir")
    if ! deliver "$transport" "$DATA/plain-lf.eml" "$ALICE" >"$tmp/$transport.log" 2>&1; then
      fail "$transport/delivery" "$(tail -n 5 "$tmp/$transport.log")"
      continue
    fi
    stored=$(new_file "$before" "$(maildir_files "$tmp/vmail/example.org/alice/Maildir")")
    if [[ -z $stored ]]; then
      fail "$transport/stored" "no new message"
    elif why=$(python3 "$HERE/check_stored.py" encrypted "$DATA/plain-lf.eml" "$stored" \
                 "$tmp/client" 2>&1); then
      pass "$transport/encrypted"
    else
      fail "$transport/encrypted" "$why"
    fi
  done
  check_no_leftovers
  finish_run
}

main "$@"
