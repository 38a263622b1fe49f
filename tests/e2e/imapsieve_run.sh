#!/usr/bin/env bash
# shellcheck disable=SC2016  # $Label1, $FilterFailed are IMAP keywords
# End-to-end test of the IMAPSieve kit in sieve/: a real, private Dovecot
# IMAP server on 127.0.0.1, a mail client (Python's imaplib) logged in as the
# user, and gpgseal encrypting what the client saves.
#
# Usage: tests/e2e/imapsieve_run.sh GPGSEAL_BINARY   (as root; 77 = skip otherwise)
#        gpgseal-maildir is taken from GPGSEAL_BINARY's directory.
#        GPGSEAL_E2E_TIMEOUT=SECONDS overrides the 300 s bound on the whole run;
#        GPGSEAL_E2E_KEEP=1 keeps the temp dir (mails, logs) for debugging.
#
# The kit is installed with the very commands of sieve/README.md and README.md
# (only /etc/dovecot and the filter directory moved into the temp dir), and
# the snippets are included as they are, with only their paths overridden.
# What it proves:
# - system users (90-gpgseal.conf + 91-gpgseal-imapsieve.conf; a useradd
#   user, userdb passwd, logging in as a plain login): the APPENDed Sent copy
#   is encrypted to LOGIN@ the sieve_env_gpgseal_domain; with the
#   domain left empty (as shipped) the copy is kept as sent, flagged;
# - virtual users (90-gpgseal-virtual.conf + 91-gpgseal-imapsieve.conf), a
#   client that has the folder SELECTed APPENDs to Sent a plain message, an
#   already encrypted one, a 20 MiB one and one with 8-bit header fields;
#   FETCHed back, each is encrypted and decrypts to the original (the one
#   already encrypted stays byte for byte as sent); flags and keywords kept,
#   INTERNALDATE the time of the APPEND, the APPENDUID gone, exactly one new
#   UID (no copy in clear left behind). APPEND to Drafts and INBOX, and to a
#   Sent the client has open read-only (EXAMINE), is not filtered: the
#   original stays, APPENDUID and client's date included;
# - without imapsieve_expunge_discarded (the snippet sets it) the original
#   stays beside the encrypted copy, in clear, only flagged \Deleted;
# - a user without a key gets the copy unchanged, unflagged; the strict
#   script keeps it as sent and flags it $FilterFailed;
# - a gpg that hangs: gpgseal's --timeout (2 s) ends it, the APPEND succeeds
#   and the copy is stored unchanged; a filter that outlives Dovecot's
#   sieve_filter_exec_timeout: the IMAP process aborts and the client's
#   connection drops, yet the copy is stored, unchanged;
# - LMTP delivery with the IMAPSieve snippet on: encrypted once, by the
#   delivery script (IMAPSieve is not in that path);
# - 91-gpgseal-imapsieve-all.conf: COPY of a delivered (encrypted) message
#   from INBOX to Archive stores the same bytes, not encrypted twice; COPY
#   and MOVE of a clear one encrypt it; APPEND to Archive encrypts, to Drafts
#   does not;
# - beside 90-gpgseal-personal.conf too, the Sent copy is encrypted;
# - mail_crypt (global keys made with the README's openssl commands, its
#   configuration lines, mail_crypt_save_version = 2) beside gpgseal and the
#   -all snippet: APPEND, COPY and LMTP give the same results over IMAP, and
#   every message file on disk is a mail_crypt file ("CRYPTED");
#   gpgseal-maildir on that Maildir must keep every file a mail_crypt file
#   and every message readable (these two cases FAIL today: gpgseal-maildir
#   wraps mail_crypt files as if they were messages; see README.md);
# - no process of the mail user is left running afterwards.
#
# Output: one PASS/FAIL line per case, then exactly one "N passed, M failed"
# line; exit status 0 only if nothing failed. Everything lives in one mktemp
# -d directory with a throwaway system user; the EXIT trap stops Dovecot and
# gpg-agents and removes user and directory.
# Needs: dovecot-core, dovecot-imapd, dovecot-lmtpd, dovecot-sieve, gnupg,
# openssl, python3 >= 3.9.
set -Eeuo pipefail

readonly SCRIPT=imapsieve_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-300}
readonly CASE_TIMEOUT=90
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly DATA=$HERE/data
readonly SENDER=sender@example.net
readonly DOMAIN=example.org
readonly ALICE=alice@$DOMAIN   # a key
readonly BOB=bob@$DOMAIN       # an empty keyring: no key
readonly CAROL=carol@$DOMAIN   # no key, strict script
readonly DAVE=dave@$DOMAIN     # a keyring that hangs gpg
readonly ERIN=erin@$DOMAIN     # a filter that outlives Dovecot's deadline
readonly FRANK=frank@$DOMAIN   # a key, on mail_crypt
readonly GRACE=grace@$DOMAIN   # a key, beside the personal delivery snippet
readonly HENRY=henry@$DOMAIN   # a key, imapsieve_expunge_discarded = no
# user_line's password, for the passdb and the client alike.
export IMAP_PASSWORD=unused
readonly CLIENT_FLAGS='\Seen $Label1'
readonly CLIENT_DATE='20-Nov-2024 10:30:00 +0000'
readonly DAVE_TIMEOUT=2 ERIN_DOVECOT_TIMEOUT=3
port=""
system_user=""   # the login of the system user: $e2e_user

# --- where things are ------------------------------------------------------

local_part() { echo "${1%@*}"; }
home_of() {
  if [[ $1 == "$system_user" ]]; then echo "$tmp/system-home"
  else echo "$tmp/vmail/$(local_part "$1")"; fi
}
keyring_of() {
  if [[ $1 == "$system_user" ]]; then echo "$tmp/system-home/.gnupg"
  else echo "$tmp/keyrings/$DOMAIN/$(local_part "$1")"; fi
}
client_of() { echo "$tmp/client/$(local_part "$1")"; }
etc=""   # /etc/dovecot of the documented commands
imap_snippets=""   # where the IMAPSieve snippets are included from

# --- setup -------------------------------------------------------------------

make_homes() {
  mkdir -m 0755 "$tmp/vmail" "$tmp/keyrings" "$tmp/keyrings/$DOMAIN" "$tmp/client" \
    "$tmp/data" "$tmp/fetched" "$tmp/hang-bin" "$tmp/etc"
  local user
  for user in "$ALICE" "$BOB" "$CAROL" "$DAVE" "$ERIN" "$FRANK" "$GRACE" "$HENRY" \
              "$system_user"; do
    make_dirs "$(home_of "$user")" "$(keyring_of "$user")"
  done
}

# The system user's key is for LOGIN@DOMAIN, the address the script builds.
make_keys() {
  local user address
  for user in "$ALICE" "$FRANK" "$GRACE" "$HENRY" "$system_user"; do
    address=$(local_part "$user")@$DOMAIN
    make_key "$(client_of "$user")" "$(local_part "$user") <$address>" \
      "$(client_of "$user").pub.asc"
    import_key "$(keyring_of "$user")" "$(client_of "$user").pub.asc"
  done
  # A FIFO nobody writes: gpg blocks on it until gpgseal's deadline.
  as_user mkfifo -m 0600 "$(keyring_of "$DAVE")/pubring.kbx"
}

# Erin's "gpgseal" reads the message and then sleeps past Dovecot's limit.
make_hanging_filter() {
  printf '#!/bin/sh\ncat >/dev/null\nexec sleep 60\n' >"$tmp/hang-bin/gpgseal"
  chmod 0755 "$tmp/hang-bin/gpgseal"
}

make_messages() {
  python3 - "$tmp/data" <<'PY'
import base64, random, sys
out = sys.argv[1]
blob = base64.encodebytes(random.Random(6785).randbytes(15 << 20))
head = b"""From: Alice <alice@example.org>
To: Build Archive <archive@example.net>
Subject: Disk image, as promised
Date: Wed, 20 Nov 2024 10:29:00 +0000
Message-ID: <disk-image-1120@example.org>
MIME-Version: 1.0
Content-Type: application/octet-stream; name="disk.img"
Content-Transfer-Encoding: base64

"""
open(out + "/large.eml", "wb").write(head + blob)
assert len(head + blob) > 20 << 20
eight_bit = """From: Jürgen Müller <alice@example.org>
To: Zoë Brontë <zoe@example.net>
Subject: Grüße aus Köln – 8-bit header fields
Date: Wed, 20 Nov 2024 10:29:00 +0100
Message-ID: <koeln-utf8-1120@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hallo Zoë, viele Grüße aus Köln!
"""
open(out + "/eight-bit-headers.eml", "wb").write(eight_bit.encode())
PY
}

write_users() {
  local strict=userdb_imapsieve_mailbox1_before=file:$etc/sieve/gpgseal-imapsieve-strict.sieve
  {
    user_line "$ALICE" "$(home_of "$ALICE")"
    user_line "$BOB" "$(home_of "$BOB")"
    user_line "$CAROL" "$(home_of "$CAROL")" "$strict"
    user_line "$DAVE" "$(home_of "$DAVE")" "userdb_sieve_env_gpgseal_timeout=$DAVE_TIMEOUT"
    user_line "$ERIN" "$(home_of "$ERIN")" "userdb_sieve_filter_bin_dir=$tmp/hang-bin" \
      "userdb_sieve_filter_exec_timeout=${ERIN_DOVECOT_TIMEOUT}s"
    user_line "$FRANK" "$(home_of "$FRANK")"
    user_line "$GRACE" "$(home_of "$GRACE")"
    user_line "$HENRY" "$(home_of "$HENRY")" userdb_imapsieve_expunge_discarded=no
  } >"$tmp/users"
  # The system user's password only; uid and home come from /etc/passwd.
  printf '%s:{PLAIN}%s\n' "$system_user" "$IMAP_PASSWORD" >"$tmp/system-passwords"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# write_config DELIVERY_SNIPPET IMAP_SNIPPET [mail_crypt] [PLUGIN_LINE...]:
# the shipped snippets, as installed by the documented commands, with only
# their paths overridden. mail_crypt: the README's mail_crypt lines first
# (their mail_plugins must come before the snippets' protocol blocks).
write_config() {
  local delivery=$1 imap=$2 line; shift 2
  {
    dovecot_base_config gpgseal-imapsieve
    cat <<EOF
protocols = imap lmtp
disable_plaintext_auth = no
passdb {
  driver = passwd-file
  args = $tmp/system-passwords
}
userdb {
  driver = passwd
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
namespace inbox {
  inbox = yes
  mailbox Sent {
    special_use = \\Sent
    auto = create
  }
  mailbox Drafts {
    special_use = \\Drafts
    auto = create
  }
  mailbox Archive {
    auto = create
  }
}
EOF
    if [[ ${1:-} == mail_crypt ]]; then
      shift
      python3 "$HERE/doc_blocks.py" "$REPO/README.md" "Beside Dovecot's mail_crypt" \
        conf "/etc/dovecot=$etc"
    fi
    echo "!include $REPO/sieve/$delivery"
    echo "!include $imap_snippets/$imap"
    echo "plugin {"
    echo "  sieve_filter_bin_dir = $tmp/filter-bin"
    echo "  sieve_before = $tmp/sieve/gpgseal-before.sieve"
    echo "  imapsieve_mailbox1_before = file:$etc/sieve/gpgseal-imapsieve.sieve"
    for line in "$@"; do echo "  $line"; done
    echo "}"
  } >"$tmp/dovecot.conf"
}

# (Re)start Dovecot with a new configuration; wait for the IMAP listener.
restart_dovecot() {
  stop_dovecot
  write_config "$@"
  start_dovecot
  local _
  for _ in $(seq 50); do
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
      "$port" 2>/dev/null && return
    sleep 0.1
  done
  die "no IMAP listener on 127.0.0.1:$port"
}

# The commands of sieve/README.md's IMAPSieve section, as written, in
# sieve/, with /etc/dovecot moved into the temp dir; sievec reads our
# configuration through CONFIG_FILE. Then README.md's mail_crypt key commands.
install_kit_as_documented() {
  mkdir -p "$etc/conf.d"
  # sievec needs a configuration that loads the plugins the scripts
  # require: the shipped snippet, until the commands have installed it.
  imap_snippets=$REPO/sieve
  write_config 90-gpgseal-virtual.conf 91-gpgseal-imapsieve.conf
  imap_snippets=$etc/conf.d
  python3 "$HERE/doc_blocks.py" "$REPO/sieve/README.md" \
    "Saved copies over IMAP (IMAPSieve)" sh "/etc/dovecot=$etc" >"$tmp/install-kit.sh"
  python3 "$HERE/doc_blocks.py" "$REPO/README.md" "Beside Dovecot's mail_crypt" \
    sh "/etc/dovecot=$etc" >"$tmp/install-mail-crypt.sh"
  if (cd "$REPO/sieve" && CONFIG_FILE=$tmp/dovecot.conf bash -euo pipefail "$tmp/install-kit.sh") \
       >"$tmp/install-kit.log" 2>&1 &&
     [[ -f $etc/sieve/gpgseal-imapsieve.svbin && -f $etc/sieve/gpgseal-imapsieve-strict.svbin ]] &&
     grep -q '^ *imapsieve_mailbox1_name = Sent$' "$tmp/install-kit.log" &&
     cmp -s "$REPO/sieve/91-gpgseal-imapsieve.conf" "$etc/conf.d/91-gpgseal-imapsieve.conf"; then
    pass "docs/sieve-readme-commands"
  else
    fail "docs/sieve-readme-commands" "$(cat "$tmp/install-kit.sh" "$tmp/install-kit.log")"
  fi
  install -m 0644 "$REPO/sieve/91-gpgseal-imapsieve-all.conf" "$etc/conf.d/"
  if (cd "$tmp" && bash -euo pipefail "$tmp/install-mail-crypt.sh") \
       >"$tmp/install-mail-crypt.log" 2>&1; then
    pass "docs/readme-mail-crypt-commands"
  else
    fail "docs/readme-mail-crypt-commands" \
      "$(cat "$tmp/install-mail-crypt.sh" "$tmp/install-mail-crypt.log")"
  fi
}

stop_agents() {
  [[ -n $tmp ]] || return 0
  kill_agents root "$tmp"/client/*
  kill_agents user "$tmp"/keyrings/*/* "$tmp/system-home/.gnupg"
}

# --- IMAP --------------------------------------------------------------------

imap() { bounded python3 "$HERE/imap_client.py" "$port" "$@"; }

# fetch_box USER MAILBOX: every message into a fresh directory, whose name
# is printed; its listing ("UID FLAGS | INTERNALDATE" lines) is DIR/list.
fetch_box() {
  local dir
  dir=$(mktemp -d "$tmp/fetched/XXXXXX")
  imap "$1" fetch "$2" "$dir" >&2 || return 1
  echo "$dir"
}

uids_of() { awk '{ print $1 }' "$1/list"; }
line_of() { awk -v u="$2" '$1 == u' "$1/list"; }

# The seconds since the epoch of an IMAP date-time.
epoch_of() { date -d "$(sed -E 's/^([0-9]+)-([A-Za-z]+)-([0-9]+) /\1 \2 \3 /' <<<"$1")" +%s; }

# to_crlf FILE: FILE's bytes as a client sends them.
to_crlf() {
  python3 -c 'import sys; d = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(b"\r\n".join(l.rstrip(b"\r") for l in d.split(b"\n")))' "$1"
}

# new_uid BEFORE AFTER: the one UID AFTER has beyond BEFORE, if every other
# message is still there; else says what is wrong and returns 1.
new_uid() {
  local added
  added=$(comm -13 <(uids_of "$1" | sort) <(uids_of "$2" | sort))
  if [[ -z $added || $added == *$'\n'* ||
        $(uids_of "$1" | sort) != "$(uids_of "$2" | grep -vx "$added" | sort)" ]]; then
    echo "want exactly one new message; before: $(paste -sd ';' "$1/list");" \
      "after: $(paste -sd ';' "$2/list")"
    return 1
  fi
  echo "$added"
}

# check_saved MODE MESSAGE CLIENT BEFORE AFTER APPENDUID FLAGS START: the one
# message AFTER has beyond BEFORE has exactly FLAGS, and MODE says what it is:
# - encrypted: MESSAGE encrypted (CLIENT's secret key decrypts it), stored in
#   place of the original: a new UID, the APPEND's time START as INTERNALDATE;
# - passed: gpgseal passed MESSAGE through (exit 0): the bytes the client
#   sent, but stored in place of the original like an encrypted one;
# - kept: the original itself (no filter ran, or gpgseal failed): the bytes
#   the client sent, the APPENDUID, the client's date.
check_saved() {
  local mode=$1 message=$2 client=$3 before=$4 after=$5 appenduid=$6 flags=$7 start=$8
  local uid line date
  uid=$(new_uid "$before" "$after") || { echo "$uid"; return 1; }
  line=$(line_of "$after" "$uid")
  if [[ ${line#"$uid" } != "$flags |"* ]]; then
    echo "flags: '$line', want '$flags'"
    return 1
  fi
  date=$(epoch_of "${line#*| }")
  if [[ $mode == kept ]]; then
    if [[ $uid != "$appenduid" ]]; then
      echo "UID $uid, want the APPENDUID $appenduid"; return 1
    fi
    if [[ $date != "$(epoch_of "$CLIENT_DATE")" ]]; then
      echo "INTERNALDATE ${line#*| }: want the client's $CLIENT_DATE"; return 1
    fi
  else
    if [[ $uid == "$appenduid" ]]; then
      echo "UID $uid is the APPENDUID: the original was not replaced"; return 1
    fi
    if ((date < start - 1 || date > $(date +%s) + 1)); then
      echo "INTERNALDATE ${line#*| }: want the time of the APPEND"; return 1
    fi
  fi
  if [[ $mode == encrypted ]]; then
    python3 "$HERE/check_stored.py" encrypted "$message" "$after/$uid.eml" "$client"
  elif ! cmp -s <(to_crlf "$message") "$after/$uid.eml"; then
    echo "the stored bytes are not the bytes the client sent"; return 1
  fi
}

# append_case NAME USER MAILBOX MESSAGE MODE FLAGS: in one session the
# client lists MAILBOX, APPENDs MESSAGE with CLIENT_FLAGS and CLIENT_DATE,
# and lists it again; the message must be stored as MODE says (check_saved)
# with exactly FLAGS.
append_case() {
  local name=$1 user=$2 mailbox=$3 message=$4 mode=$5 flags=$6
  local dir out start why
  dir=$(mktemp -d "$tmp/fetched/XXXXXX")
  mkdir "$dir/before" "$dir/after"
  start=$(date +%s)
  if ! out=$(imap "$user" fetch "$mailbox" "$dir/before" "${before_append[@]}" \
               : append "$mailbox" "$message" "$CLIENT_FLAGS" "$CLIENT_DATE" \
               : fetch "$mailbox" "$dir/after"); then
    fail "$name" "IMAP failed: $out"
    return
  fi
  appended_seconds=$(tail -n 1 <<<"$out")
  last_uid=$(new_uid "$dir/before" "$dir/after" || true)
  if why=$(check_saved "$mode" "$message" "$(client_of "$user")" "$dir/before" "$dir/after" \
             "$(awk '/^APPENDUID/ { print $3 }' <<<"$out")" "$flags" "$start" 2>&1); then
    pass "$name"
  else
    fail "$name" "$why"
  fi
}

# --- cases -------------------------------------------------------------------

readonly KEPT='$Label1 \Seen' FLAGGED_KEPT='$FilterFailed $Label1 \Seen'
appended_seconds=""   # how long the last append_case's APPEND took
before_append=()      # IMAP commands append_case runs just before its APPEND
last_uid=""           # the UID of the message the last case stored
inbox_clear_uid="" inbox_sealed_uid=""

run_system_cases() {
  restart_dovecot 90-gpgseal.conf 91-gpgseal-imapsieve.conf \
    "sieve_env_gpgseal_domain = $DOMAIN"
  append_case system-user/sent-encrypted-to-login-at-mail-domain "$system_user" Sent \
    "$DATA/plain-lf.eml" encrypted "$KEPT"
  # The domain left empty: gpgseal refuses "LOGIN@".
  restart_dovecot 90-gpgseal.conf 91-gpgseal-imapsieve.conf "sieve_env_gpgseal_domain ="
  append_case system-user/no-mail-domain-copy-kept-flagged "$system_user" Sent \
    "$DATA/plain-lf.eml" kept "$FLAGGED_KEPT"
}

# gpg hangs on Dave's keyring; gpgseal's deadline must end it, long before
# Dovecot's 60 s, and the APPEND succeeds with the copy as it came.
case_hung_gpg() {
  append_case stuck/gpg-hangs-copy-stored "$DAVE" Sent "$DATA/plain-lf.eml" passed "$KEPT"
  if awk -v t="$appended_seconds" -v lo="$DAVE_TIMEOUT" 'BEGIN { exit !(t >= lo && t < 30) }'; then
    pass "stuck/gpg-hangs-ended-by-gpgseal-timeout (${appended_seconds}s)"
  else
    fail "stuck/gpg-hangs-ended-by-gpgseal-timeout" "the APPEND took ${appended_seconds}s;" \
      "want gpgseal's ${DAVE_TIMEOUT}s deadline"
  fi
}

# Erin's filter outlives Dovecot's limit: the IMAP process aborts, the client
# gets no answer; the copy it sent is stored all the same.
case_filter_past_dovecot_deadline() {
  local name=stuck/past-dovecot-deadline-copy-stored before after out uid line
  before=$(fetch_box "$ERIN" Sent)
  out=$(imap "$ERIN" append Sent "$DATA/plain-lf.eml" "$CLIENT_FLAGS" "$CLIENT_DATE") && true
  if [[ $out != DROPPED* ]]; then
    fail "$name" "want the connection dropped (Dovecot aborts), got: $out"
    return
  fi
  after=$(fetch_box "$ERIN" Sent)
  if ! uid=$(new_uid "$before" "$after"); then
    fail "$name" "$uid"
  elif line=$(line_of "$after" "$uid") && [[ ${line#"$uid" } != "$KEPT |"* ]]; then
    fail "$name" "flags: '$line', want '$KEPT'"
  elif ! cmp -s <(to_crlf "$DATA/plain-lf.eml") "$after/$uid.eml"; then
    fail "$name" "the stored bytes are not the bytes the client sent"
  else
    pass "$name"
  fi
}

# Why the snippet sets imapsieve_expunge_discarded: without it the original,
# in clear, stays in the folder beside the encrypted copy, only flagged
# \Deleted (until the client expunges).
case_without_expunge_discarded() {
  local name=expunge-discarded-no/original-left-deleted dir out appenduid added uid line
  dir=$(mktemp -d "$tmp/fetched/XXXXXX")
  mkdir "$dir/before" "$dir/after"
  if ! out=$(imap "$HENRY" fetch Sent "$dir/before" \
               : append Sent "$DATA/plain-lf.eml" "$CLIENT_FLAGS" "$CLIENT_DATE" \
               : fetch Sent "$dir/after"); then
    fail "$name" "IMAP failed: $out"
    return
  fi
  appenduid=$(awk '/^APPENDUID/ { print $3 }' <<<"$out")
  added=$(comm -13 <(uids_of "$dir/before" | sort) <(uids_of "$dir/after" | sort))
  uid=$(grep -vx "$appenduid" <<<"$added" || true)
  line=$(line_of "$dir/after" "$appenduid")
  if [[ $(wc -l <<<"$added") -ne 2 || $uid == *$'\n'* || -z $uid ]]; then
    fail "$name" "want the original and one more message; after: $(paste -sd ';' "$dir/after/list")"
  elif [[ ${line#"$appenduid" } != '$Label1 \Deleted \Seen |'* ]] ||
       ! cmp -s <(to_crlf "$DATA/plain-lf.eml") "$dir/after/$appenduid.eml"; then
    fail "$name" "the original is not there in clear, flagged \\Deleted: '$line'"
  else
    expect_encrypted "$name" "$DATA/plain-lf.eml" "$dir/after/$uid.eml" "$HENRY"
  fi
}

# lmtp_case NAME USER MESSAGE: delivered over LMTP, stored in INBOX
# encrypted once (by the delivery script), as the FETCH shows.
lmtp_case() {
  local name=$1 user=$2 message=$3 before after why
  before=$(fetch_box "$user" INBOX)
  if ! deliver lmtp "$message" "$user" >"$tmp/lmtp.log" 2>&1; then
    fail "$name" "delivery failed: $(cat "$tmp/lmtp.log")"
    return
  fi
  after=$(fetch_box "$user" INBOX)
  if ! last_uid=$(new_uid "$before" "$after"); then
    fail "$name" "$last_uid"
  else
    expect_encrypted "$name" "$message" "$after/$last_uid.eml" "$user"
  fi
}

# expect_encrypted NAME ORIGINAL STORED USER: STORED is ORIGINAL encrypted,
# once, and USER's secret key decrypts it.
expect_encrypted() {
  local why
  if why=$(python3 "$HERE/check_stored.py" encrypted "$2" "$3" "$(client_of "$4")"); then
    pass "$1"
  else
    fail "$1" "$why"
  fi
}

run_virtual_cases() {
  local keyrings="sieve_env_gpgseal_gnupghome = $tmp/keyrings/%%d/%%n"
  restart_dovecot 90-gpgseal-virtual.conf 91-gpgseal-imapsieve.conf "$keyrings"
  append_case sent/plain "$ALICE" Sent "$DATA/plain-lf.eml" encrypted "$KEPT"
  append_case sent/already-encrypted-byte-identical "$ALICE" Sent \
    "$DATA/already-encrypted.eml" passed "$KEPT"
  append_case sent/8-bit-header-fields "$ALICE" Sent "$tmp/data/eight-bit-headers.eml" \
    encrypted "$KEPT"
  append_case drafts-not-encrypted "$ALICE" Drafts "$DATA/plain-lf.eml" kept "$KEPT"
  append_case sent-only/inbox-append-not-encrypted "$ALICE" INBOX "$DATA/plain-lf.eml" \
    kept "$KEPT"
  inbox_clear_uid=$last_uid
  # Pigeonhole hooks no mailbox opened read-only, and Dovecot APPENDs
  # through the selected one: this copy is not filtered (see sieve/README.md).
  before_append=(: examine Sent)
  append_case sent/append-to-examined-folder-not-filtered "$ALICE" Sent \
    "$DATA/plain-lf.eml" kept "$KEPT"
  before_append=()
  # Last in Sent: every later listing of the folder would fetch it again.
  append_case sent/20-mib "$ALICE" Sent "$tmp/data/large.eml" encrypted "$KEPT"
  append_case no-key/copy-unchanged "$BOB" Sent "$DATA/plain-lf.eml" passed "$KEPT"
  append_case strict/no-key-copy-unchanged-flagged "$CAROL" Sent "$DATA/plain-lf.eml" \
    kept "$FLAGGED_KEPT"
  case_without_expunge_discarded
  case_hung_gpg
  case_filter_past_dovecot_deadline
  lmtp_case lmtp/delivered-encrypted-once "$ALICE" "$DATA/multipart-attachment.eml"
  inbox_sealed_uid=$last_uid

  restart_dovecot 90-gpgseal-virtual.conf 91-gpgseal-imapsieve-all.conf "$keyrings"
  copy_case all/copy-of-encrypted-stays-as-is "$ALICE" INBOX "$inbox_sealed_uid" same \
    "$DATA/multipart-attachment.eml"
  copy_case all/copy-of-clear-encrypted "$ALICE" INBOX "$inbox_clear_uid" encrypted \
    "$DATA/plain-lf.eml"
  copy_case all/move-of-clear-encrypted "$ALICE" INBOX "$inbox_clear_uid" encrypted \
    "$DATA/plain-lf.eml" move
  append_case all/archive-append-encrypted "$ALICE" Archive "$DATA/plain-lf.eml" \
    encrypted "$KEPT"
  append_case all/drafts-not-encrypted "$ALICE" Drafts "$DATA/plain-lf.eml" kept "$KEPT"
  append_case all/no-key-copy-unchanged "$BOB" Archive "$DATA/plain-lf.eml" passed "$KEPT"

  # Beside the personal delivery snippet, which offers `filter` through
  # sieve_extensions instead of sieve_global_extensions.
  restart_dovecot 90-gpgseal-personal.conf 91-gpgseal-imapsieve.conf "$keyrings"
  append_case personal-snippet/sent-encrypted "$GRACE" Sent "$DATA/plain-crlf.eml" \
    encrypted "$KEPT"
}

# copy_case NAME USER FROM UID same|encrypted ORIGINAL [move]: USER COPYs
# (or MOVEs) UID from FROM to Archive; the copy must be FROM's bytes (same;
# and still decrypt to ORIGINAL: encrypted once, not twice) or ORIGINAL
# encrypted.
copy_case() {
  local name=$1 user=$2 from=$3 uid=$4 expect=$5 original=$6 command=${7:-copy}
  local dir out new
  dir=$(mktemp -d "$tmp/fetched/XXXXXX")
  mkdir "$dir/from" "$dir/before" "$dir/after"
  if ! out=$(imap "$user" fetch "$from" "$dir/from" : fetch Archive "$dir/before" \
               : "$command" "$from" "$uid" Archive : fetch Archive "$dir/after"); then
    fail "$name" "IMAP failed: $out"
  elif ! new=$(new_uid "$dir/before" "$dir/after"); then
    fail "$name" "$new"
  elif [[ $expect == same ]] && ! cmp -s "$dir/from/$uid.eml" "$dir/after/$new.eml"; then
    fail "$name" "the copy differs from the message in $from"
  else
    expect_encrypted "$name" "$original" "$dir/after/$new.eml" "$user"
  fi
  last_uid=${new:-}
}

# not_mail_crypt_files USER: the message files of USER's Maildir (every
# folder) that do not start with mail_crypt's magic; "none" if it has none.
not_mail_crypt_files() {
  local file found=""
  while IFS= read -r -d '' file; do
    found=1
    [[ $(head -c 7 "$file") == CRYPTED ]] || echo "${file#"$(home_of "$1")"/Maildir/}"
  done < <(find "$(home_of "$1")/Maildir" \( -path '*/cur/*' -o -path '*/new/*' \) \
             -type f -print0)
  [[ -n $found ]] || echo "none"
}

run_mail_crypt_cases() {
  restart_dovecot 90-gpgseal-virtual.conf 91-gpgseal-imapsieve-all.conf mail_crypt \
    "sieve_env_gpgseal_gnupghome = $tmp/keyrings/%%d/%%n"
  local stored=()   # MAILBOX:UID:ORIGINAL of each of Frank's messages
  append_case mail-crypt/sent-encrypted "$FRANK" Sent "$DATA/plain-lf.eml" encrypted "$KEPT"
  stored+=("Sent:$last_uid:$DATA/plain-lf.eml")
  append_case mail-crypt/draft-in-clear "$FRANK" Drafts "$DATA/plain-crlf.eml" kept "$KEPT"
  stored+=("Drafts:$last_uid:$DATA/plain-crlf.eml")
  copy_case mail-crypt/copy-of-clear-encrypted "$FRANK" Drafts "$last_uid" encrypted \
    "$DATA/plain-crlf.eml"
  stored+=("Archive:$last_uid:$DATA/plain-crlf.eml")
  lmtp_case mail-crypt/lmtp-delivered-encrypted "$FRANK" "$DATA/latin1-8bit.eml"
  stored+=("INBOX:$last_uid:$DATA/latin1-8bit.eml")
  local clear
  clear=$(not_mail_crypt_files "$FRANK")
  if [[ -z $clear ]]; then
    pass mail-crypt/files-on-disk-are-mail-crypt
  else
    fail mail-crypt/files-on-disk-are-mail-crypt "not mail_crypt files: $clear"
  fi
  case_maildir_on_mail_crypt "${stored[@]}"
}

# gpgseal-maildir reads message files from disk and has no server key: it
# cannot process mail_crypt files, and must neither corrupt nor lose them:
# afterwards every file is still a mail_crypt file, and every message reads
# back over IMAP as the original (in clear or decrypting to it).
case_maildir_on_mail_crypt() {
  local admin=$tmp/admin-gnupg entry box original dir file found why="" clear
  mkdir -m 0700 "$admin"
  GNUPGHOME=$admin gpg --batch --quiet --import "$(client_of "$FRANK").pub.asc" 2>/dev/null
  bounded "$MAILDIR_TOOL" --gnupghome "$admin" "$(home_of "$FRANK")/Maildir" "$FRANK" \
    >"$tmp/maildir-tool.log" 2>&1 || true
  GNUPGHOME=$admin gpgconf --kill all 2>/dev/null || true
  local said
  said="gpgseal-maildir said: $(tr -s ' ' <"$tmp/maildir-tool.log" | paste -sd ';')"
  clear=$(not_mail_crypt_files "$FRANK")
  if [[ -z $clear ]]; then
    pass mail-crypt/gpgseal-maildir-keeps-mail-crypt-files
  else
    fail mail-crypt/gpgseal-maildir-keeps-mail-crypt-files \
      "no longer mail_crypt files: $(paste -sd ' ' <<<"$clear"); $said"
  fi
  # gpgseal-maildir gives each message it rewrites a new UID: look for each
  # original among all the messages of its folder.
  for entry in "$@"; do
    IFS=: read -r box _ original <<<"$entry"
    dir=$(fetch_box "$FRANK" "$box") || { why+="FETCH of $box failed; "; continue; }
    found=""
    for file in "$dir"/*.eml; do
      if cmp -s <(to_crlf "$original") "$file" ||
         python3 "$HERE/check_stored.py" encrypted "$original" "$file" \
           "$(client_of "$FRANK")" >/dev/null; then
        found=1
      fi
    done
    [[ -n $found ]] || why+="no message in $box is $(basename "$original") or decrypts to it; "
  done
  if [[ -z $why ]]; then
    pass mail-crypt/every-message-reads-back-after-gpgseal-maildir
  else
    fail mail-crypt/every-message-reads-back-after-gpgseal-maildir "$why$said"
  fi
}

main() {
  start_run GPGSEAL_BINARY "$@"
  MAILDIR_TOOL=$(dirname "$(realpath "$1")")/gpgseal-maildir
  [[ -x $MAILDIR_TOOL ]] || die "$MAILDIR_TOOL: not built next to $1"
  make_tmp gpgseal-imapsieve-e2e
  etc=$tmp/etc/dovecot
  port=$(free_port)
  make_user gpgseal-imap "$tmp/system-home"
  system_user=$e2e_user
  make_homes
  make_keys
  make_hanging_filter
  make_messages
  install_filter "$1"
  write_users
  install_kit_as_documented
  compile_sieve gpgseal-before.sieve
  run_system_cases
  run_virtual_cases
  run_mail_crypt_cases
  check_no_leftovers
  finish_run
}

main "$@"
