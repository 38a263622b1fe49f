#!/usr/bin/env bash
# End-to-end test of the protected headers (README "Protected headers") in the
# readers that show them.
#
# Usage: tests/e2e/headers_run.sh GPGSEAL_BINARY   (as root; 77 = skip otherwise)
#        GPGSEAL_E2E_TIMEOUT=SECONDS overrides the 240 s bound on the whole run;
#        GPGSEAL_E2E_KEEP=1 keeps the temp dir for debugging.
#
# What it proves, with gpgseal run as a throwaway mail user on its keyring and
# the secret key only in a client keyring:
# - Python's email package (not GMime) reads the payload root of decrypted
#   messages: the copied fields, one HP-Outer line per field left outside,
#   protected-headers="v1" and hp="cipher", the body unchanged; forged
#   HP-Outer fields and parameters are not in it; with --hide-subject the
#   outside says [...] and the main text parts carry the Legacy Display
#   Element (check_protected.py), in each of the three policies;
# - inline mode with --inline-utf8: a Latin-1 and a UTF-8 message decrypt to
#   UTF-8 text equal to the original text;
# - Dovecot's IMAP server, default policy: FETCH ENVELOPE and SEARCH SUBJECT
#   still give the original Subject; with --hide-subject they give [...];
# - NeoMutt (crypt_use_gpgme), driven in tmux: for a message whose outer
#   Subject is [...], the pager and then the index show the inner Subject;
#   an inline message made from Latin-1 shows its original characters.
#
# Output: one PASS/FAIL line per case, then exactly one "N passed, M failed"
# line. Needs: dovecot-core, dovecot-imapd, gnupg, python3, neomutt, tmux.
set -Eeuo pipefail

readonly SCRIPT=headers_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-240}
readonly CASE_TIMEOUT=60
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly ALICE=alice@example.org
readonly DATA=$REPO/tests/data
readonly GARDEN_SUBJECT='Grüße aus dem Garten: the tomato plan for the spring'
tmux_socket=""

stop_agents() {
  [[ -n $tmp ]] || return 0
  kill_agents root "$tmp/client-gnupg"
  kill_agents user "$tmp/home/alice/.gnupg"
}

extra_teardown() {
  [[ -n $tmux_socket && -S $tmux_socket ]] || return 0
  tmux -S "$tmux_socket" kill-server 2>/dev/null || true
}

setup() {
  make_tmp gpgseal-headers
  make_user gpgseal-hp "$tmp/home"
  mkdir -m 0755 "$tmp/home" "$tmp/out"
  make_dirs "$tmp/home/alice" "$tmp/home/alice/.gnupg"
  make_key "$tmp/client-gnupg" "Alice <$ALICE>" "$tmp/alice.pub"
  import_key "$tmp/home/alice/.gnupg" "$tmp/alice.pub"
  install_filter "$1"
  user_line "$ALICE" "$tmp/home/alice" >"$tmp/users"
  # IMAP sessions run Dovecot's imap binary directly (doveadm exec), with
  # no network listener; lmtp stays for start_dovecot's readiness check.
  { dovecot_base_config gpgseal-headers-e2e; cat <<EOF
protocols = lmtp imap
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = 0
  }
}
EOF
  } >"$tmp/dovecot.conf"
}

# seal MESSAGE OUTPUT [OPTION...]: gpgseal as the mail user, as Dovecot runs it.
seal() {
  local message=$1 output=$2; shift 2
  bounded runuser -u "$e2e_user" -- env HOME="$tmp/home/alice" "$tmp/filter-bin/gpgseal" --log none \
    --on-error fail --gnupghome "$tmp/home/alice/.gnupg" "$@" -- "$ALICE" \
    <"$message" >"$output"
}

# unseal ENCRYPTED PLAINTEXT: what the client does with its secret key.
unseal() {
  GNUPGHOME=$tmp/client-gnupg bounded gpg --batch --quiet --decrypt "$1" >"$2" 2>/dev/null
}

policy_options() {
  case $1 in
    protect) ;;
    hide) echo --hide-subject ;;
    hide-no-display) echo --hide-subject --no-legacy-display ;;
  esac
}

# --- a parser that is not GMime ------------------------------------------------

check_python_reads_payloads() {
  local policy message name out report
  for policy in protect hide hide-no-display; do
    for message in protected-headers-trace-and-list forged-protected-headers html-alternative \
      latin1-8bit no-content-headers mbox-from-line related-cid-quoted quoted-printable \
      message-rfc822; do
      name=python/$policy/$message
      out=$tmp/out/$policy-$message
      # shellcheck disable=SC2046  # the policy's options are separate words
      if ! seal "$DATA/$message.eml" "$out.eml" $(policy_options "$policy") ||
        ! unseal "$out.eml" "$out.payload"; then
        fail "$name" "gpgseal or gpg failed"
        continue
      fi
      if report=$(python3 "$HERE/check_protected.py" "$DATA/$message.eml" "$out.eml" \
        "$out.payload" "$policy"); then
        pass "$name"
      else
        fail "$name" "$report"
      fi
    done
  done
}

check_inline_utf8() {
  local message out report
  for message in latin1-8bit utf8-8bit; do
    out=$tmp/out/inline-$message
    if ! seal "$DATA/$message.eml" "$out.eml" --encrypt-mode prefer-inline --inline-utf8 ||
      ! unseal "$out.eml" "$out.text"; then
      fail "inline-utf8/$message" "gpgseal or gpg failed"
      continue
    fi
    if report=$(python3 "$HERE/check_protected.py" --inline "$DATA/$message.eml" "$out.eml" \
      "$out.text"); then
      pass "inline-utf8/$message"
    else
      fail "inline-utf8/$message" "$report"
    fi
  done
}

# --- the server's view: Dovecot IMAP ------------------------------------------

# store MESSAGE: into alice's INBOX, as delivery would have.
store() {
  local maildir=$tmp/home/alice/Maildir
  [[ -d $maildir ]] || as_user mkdir -p "$maildir/new" "$maildir/cur" "$maildir/tmp"
  install -m 0600 -o "$e2e_user" -g "$e2e_user" "$1" "$maildir/new/$(date +%s).$RANDOM.e2e"
}

# imap COMMAND...: a preauthenticated IMAP session of alice's, one tagged
# command per argument, through Dovecot's own imap binary.
imap() {
  local i=0 command script=""
  for command in "$@"; do
    script+="t$i $command"$'\r\n'
    i=$((i + 1))
  done
  script+="t$i LOGOUT"$'\r\n'
  printf '%s' "$script" | bounded doveadm -c "$tmp/dovecot.conf" exec imap -u "$ALICE" 2>&1 | tr -d '\r'
}

check_imap() {
  seal "$DATA/protected-headers-trace-and-list.eml" "$tmp/out/imap-default.eml"
  seal "$DATA/protected-headers-trace-and-list.eml" "$tmp/out/imap-hidden.eml" --hide-subject
  store "$tmp/out/imap-default.eml"
  start_dovecot
  local answer
  answer=$(imap "SELECT INBOX" "FETCH 1 ENVELOPE" 'SEARCH SUBJECT "tomato plan"' \
    'SEARCH HEADER List-Id "garden.lists.example.net"')
  # The folded Subject comes back as a literal, folding kept.
  local envelope
  envelope=$(grep -A2 'ENVELOPE ("Mon, 1 Jan 2024 09:59:00 +0100"' <<<"$answer" || true)
  if grep -qF '=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_dem_Garten=3A_the_tomato_plan_for?=' <<<"$envelope" &&
    grep -qF '=?UTF-8?Q?_the_spring?=' <<<"$envelope" &&
    [[ $(grep -c '^\* SEARCH 1$' <<<"$answer") -eq 2 ]]; then
    pass "imap/default-policy-keeps-envelope-and-search"
  else
    fail "imap/default-policy-keeps-envelope-and-search" "$answer"
  fi
  store "$tmp/out/imap-hidden.eml"
  answer=$(imap "SELECT INBOX" "FETCH 2 ENVELOPE" 'SEARCH SUBJECT "tomato plan"' \
    'SEARCH SUBJECT "[...]"')
  if grep -q 'ENVELOPE ("Mon, 1 Jan 2024 09:59:00 +0100" "\[...\]"' <<<"$answer" &&
    grep -q '^\* SEARCH 1$' <<<"$answer" && grep -q '^\* SEARCH 2$' <<<"$answer"; then
    pass "imap/hidden-subject-is-what-the-server-sees"
  else
    fail "imap/hidden-subject-is-what-the-server-sees" "$answer"
  fi
  stop_dovecot
}

# --- a reader: NeoMutt in tmux ----------------------------------------------------

# neomutt_folder NAME MESSAGE: a Maildir holding one message, for NeoMutt.
neomutt_folder() {
  mkdir -p "$tmp/mutt/$1/cur" "$tmp/mutt/$1/new" "$tmp/mutt/$1/tmp"
  cp "$2" "$tmp/mutt/$1/cur/1.1.e2e:2,"
}

write_neomuttrc() {
  cat >"$tmp/mutt/neomuttrc" <<EOF
set mbox_type = Maildir
set folder = "$tmp/mutt"
set header_cache = ""
set message_cachedir = ""
set crypt_use_gpgme = yes
set crypt_protected_headers_read = yes
set pgp_auto_decode = yes
set crypt_verify_sig = no
set index_format = "%4C %-20.20F %s"
set pager_index_lines = 0
set quit = yes
set wait_key = no
set mark_old = no
set move = no
set timeout = 1
set charset = "utf-8"
set sort = mailbox-order
EOF
}

# screen_shows TEXT: waits (10 s at most) for the NeoMutt screen to show TEXT.
screen_shows() {
  local _
  for _ in $(seq 50); do
    tmux -S "$tmux_socket" capture-pane -p -t neomutt >"$tmp/mutt/screen" 2>/dev/null || true
    grep -qF -- "$1" "$tmp/mutt/screen" && return 0
    sleep 0.2
  done
  return 1
}

# screen_leaves TEXT: waits (10 s at most) until the NeoMutt screen no longer
# shows TEXT, so that a key press has taken effect before the next check.
screen_leaves() {
  local _
  for _ in $(seq 50); do
    tmux -S "$tmux_socket" capture-pane -p -t neomutt >"$tmp/mutt/screen" 2>/dev/null || true
    grep -qF -- "$1" "$tmp/mutt/screen" || return 0
    sleep 0.2
  done
  return 1
}

# Each session gets its own tmux server: kill-server returns before the old
# server has gone, and a new session on the same socket can reach the dying
# server ("server exited unexpectedly").
start_neomutt() {
  tmux_socket=$tmp/tmux-$1.socket
  tmux -S "$tmux_socket" new-session -d -s neomutt -x 160 -y 40 \
    env HOME="$tmp/mutt" GNUPGHOME="$tmp/client-gnupg" LANG=C.UTF-8 LC_ALL=C.UTF-8 \
    TERM=xterm-256color neomutt -n -F "$tmp/mutt/neomuttrc" -f "$tmp/mutt/$1"
}

stop_neomutt() {
  tmux -S "$tmux_socket" kill-server 2>/dev/null || true
}

check_neomutt() {
  mkdir -p "$tmp/mutt"
  write_neomuttrc
  neomutt_folder hidden "$tmp/out/imap-hidden.eml"
  neomutt_folder inline "$tmp/out/inline-latin1-8bit.eml"

  start_neomutt hidden
  if screen_shows "[...]"; then
    tmux -S "$tmux_socket" send-keys -t neomutt Enter
    if screen_shows "Subject: $GARDEN_SUBJECT"; then
      pass "neomutt/pager-shows-inner-subject"
    else
      fail "neomutt/pager-shows-inner-subject" "$(cat "$tmp/mutt/screen")"
    fi
    tmux -S "$tmux_socket" send-keys -t neomutt q
    # The pager's help line names PrevPg; the index's does not.
    if screen_leaves "PrevPg" && screen_shows "$GARDEN_SUBJECT" && ! grep -qF "[...]" "$tmp/mutt/screen"; then
      pass "neomutt/index-shows-inner-subject"
    else
      fail "neomutt/index-shows-inner-subject" "$(cat "$tmp/mutt/screen")"
    fi
  else
    fail "neomutt/index-shows-outer-subject-first" "$(cat "$tmp/mutt/screen")"
  fi
  stop_neomutt

  start_neomutt inline
  tmux -S "$tmux_socket" send-keys -t neomutt Enter
  if screen_shows "Grüße aus München, ça va très bien."; then
    pass "neomutt/inline-utf8-shows-original-characters"
  else
    fail "neomutt/inline-utf8-shows-original-characters" "$(cat "$tmp/mutt/screen")"
  fi
  stop_neomutt
}

start_run "GPGSEAL_BINARY" "$@"
setup "$1"
check_python_reads_payloads
check_inline_utf8
check_imap
check_neomutt
check_no_leftovers
finish_run
