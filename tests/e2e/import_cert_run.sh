#!/usr/bin/env bash
# End-to-end test of scripts/gpgseal-import-cert, the one command that makes a
# user's X.509 certificate usable for gpgseal's S/MIME: what it imports, the
# trust it adds and nothing more, what it refuses, and that the certificate
# it imported really encrypts, with no dirmngr, CRL or OCSP, to ciphertext
# that another implementation (openssl cms) decrypts to the original bytes.
#
# Usage: tests/e2e/import_cert_run.sh IMPORT_SCRIPT  (as root; 77 = skip otherwise)
#        GPGSEAL_E2E_KEEP=1 keeps the temp dir for debugging.
#
# The certificates come from tests/support/make_test_certs.sh; each of them
# names a CRL distribution point and an OCSP responder on 127.0.0.1:9, so a
# GnuPG that went looking for revocation data would fail the encryption.
# Keyrings belong to a throwaway system user; the command runs as root (as
# an admin would) and as that user.
set -Eeuo pipefail

readonly SCRIPT=import_cert_run.sh
readonly TOTAL_TIMEOUT=${GPGSEAL_E2E_TIMEOUT:-180}
readonly CASE_TIMEOUT=30
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
readonly ALICE=alice@example.org

stop_agents() {
  [[ -n $tmp ]] || return 0
  kill_agents user "$tmp"/home/*/
}

start_run IMPORT_SCRIPT "$@"
IMPORT=$(realpath "$1")
make_tmp gpgseal-import
touch "$tmp/dovecot.log"   # no Dovecot here; finish_run shows its log
make_user gpgseal-imp "$tmp/home"
install -d -m 0755 -o "$e2e_user" -g "$e2e_user" "$tmp/home"
certs=$tmp/certs
"$REPO/tests/support/make_test_certs.sh" "$certs" >/dev/null
chmod -R a+rX "$certs"
printf 'test\n' >"$certs/p12-password"
n=0

# import NAME EXPECTED_STATUS [ARGS...]: run the command on a keyring of its
# own ($home), as root; its stderr is in $tmp/NAME.err.
import() {
  local name=$1 expected=$2 rc=0 err; shift 2
  err=$tmp/${name//\//-}.err
  bounded "$IMPORT" "$@" >/dev/null 2>"$err" </dev/null || rc=$?
  if [[ $rc -ne $expected ]]; then
    fail "$name" "exit $rc, expected $expected: $(cat "$err")"
    return 1
  fi
}

# fresh: a new keyring directory path for the mail user (not created).
fresh() { n=$((n + 1)); home=$tmp/home/k$n; }

# encrypts_to NAME KEYRING FPR KEY: as the mail user, gpgsm (told to use no
# dirmngr) encrypts to FPR, and openssl cms decrypts it with KEY(.pem/.key)
# to the original bytes, with AES-256.
encrypts_to() {
  local name=$1 keyring=$2 fpr=$3 key=$4 f=$tmp/${1//\//-}
  printf 'Content-Type: text/plain\r\n\r\nhello S/MIME\r\n' >"$f.plain"
  chmod 0644 "$f.plain"
  if ! as_user gpgsm --homedir "$keyring" --batch --disable-dirmngr --encrypt -r "$fpr" \
       <"$f.plain" >"$f.p7m" 2>"$f.gpgsm.err"; then
    fail "$name" "gpgsm could not encrypt: $(cat "$f.gpgsm.err")"
    return
  fi
  if ! openssl cms -decrypt -inform DER -in "$f.p7m" -inkey "$key.key" -recip "$key.pem" \
       2>"$f.openssl.err" | cmp -s - "$f.plain"; then
    fail "$name" "openssl cms does not decrypt to the original: $(cat "$f.openssl.err")"
  elif ! openssl cms -cmsout -print -inform DER -in "$f.p7m" | grep -q 'aes-256-cbc'; then
    fail "$name" "not AES-256: $(openssl cms -cmsout -print -inform DER -in "$f.p7m" |
      grep -A1 contentEncryptionAlgorithm | tr -s ' \n' ' ')"
  else
    pass "$name"
  fi
}

fpr_of() { openssl x509 -in "$1" -noout -fingerprint -sha1 | cut -d= -f2 | tr -d :; }
listing() { as_user gpgsm --homedir "$1" --batch --disable-dirmngr --with-colons --list-keys 2>/dev/null | grep '^fpr' || true; }
# state DIR: names, owners, modes and contents of everything in a keyring.
state() { (cd "$1" && find . -type f ! -name '*~' ! -name '*.lock' -printf '%p %u %m\n' | sort && cat trustlist.txt gpgsm.conf 2>/dev/null; listing "$1"); }
ca_fpr=$(fpr_of "$certs/ca.pem")

# --- imports that work ------------------------------------------------------------

fresh
if import pem/with-ca 0 --gnupghome "$home" --ca "$certs/ca.pem" "$ALICE" "$certs/alice-ca.pem"; then
  owners=$(find "$home" -printf '%u %m %p\n' | grep -v "^$e2e_user " || true)
  if [[ -n $owners ]]; then
    fail "pem/owner" "files not owned by $e2e_user: $owners"
  elif find "$home" -type f -perm /077 | grep -v '~$' | grep -q .; then
    fail "pem/modes" "readable by others: $(find "$home" -type f -perm /077)"
  else
    pass "pem/owned-by-the-keyring-owner"
  fi
  if [[ $(grep -v '^#' "$home/trustlist.txt") == "$ca_fpr S" ]]; then
    pass "pem/trustlist-names-the-root"
  else
    fail "pem/trustlist" "$(cat "$home/trustlist.txt")"
  fi
  if grep -qx 'cipher-algo AES256' "$home/gpgsm.conf" &&
     [[ $(grep -cv '^#' "$home/gpgsm.conf") -eq 1 ]]; then
    pass "pem/gpgsm-conf-only-cipher"
  else
    fail "pem/gpgsm-conf" "$(cat "$home/gpgsm.conf")"
  fi
  encrypts_to pem/encrypts-offline "$home" "$(fpr_of "$certs/alice-ca.pem")" "$certs/alice-ca"
  before=$(state "$home")
  import pem/again 0 --gnupghome "$home" --ca "$certs/ca.pem" "$ALICE" "$certs/alice-ca.pem" &&
    if [[ $(state "$home") == "$before" ]]; then pass "pem/second-run-changes-nothing"
    else fail "pem/second-run" "$(diff <(echo "$before") <(state "$home"))"; fi
  # Bob's certificate from the same CA: the CA in the keyring is found there.
  import pem/issuer-from-keyring 0 --gnupghome "$home" bob@example.org "$certs/bob-ca.pem" &&
    encrypts_to pem/issuer-from-keyring "$home" "$(fpr_of "$certs/bob-ca.pem")" "$certs/bob-ca"
fi

# The README's command, as written there: the certificate and its CA in one
# PEM file (and the address in other case than the certificate's).
fresh
cat "$certs/alice-ca.pem" "$certs/ca.pem" >"$tmp/alice-chain.pem"
import readme/chain-in-one-file 0 --gnupghome "$home" ALICE@Example.ORG "$tmp/alice-chain.pem" &&
  encrypts_to readme/chain-in-one-file "$home" "$(fpr_of "$certs/alice-ca.pem")" "$certs/alice-ca"

fresh
import der 0 --gnupghome "$home" --ca "$certs/ca.pem" "$ALICE" "$certs/alice-ca.der" &&
  encrypts_to der "$home" "$(fpr_of "$certs/alice-ca.pem")" "$certs/alice-ca"

fresh
# The README's PKCS #12 form.
if import p12 0 --gnupghome "$home" --pass-file "$certs/p12-password" "$ALICE" "$certs/alice-ca.p12"; then
  encrypts_to p12 "$home" "$(fpr_of "$certs/alice-ca.pem")" "$certs/alice-ca"
  if as_user gpgsm --homedir "$home" --batch --disable-dirmngr --with-colons \
       --list-secret-keys 2>/dev/null | grep -q '^crs'; then
    fail "p12/no-secret-key" "the secret key was imported"
  else
    pass "p12/no-secret-key-imported"
  fi
fi

fresh
if import self-signed-3072 0 --gnupghome "$home" "$ALICE" "$certs/alice-self.pem"; then
  [[ $(grep -v '^#' "$home/trustlist.txt") == "$(fpr_of "$certs/alice-self.pem") S relax" ]] &&
    pass "self-signed/relax" || fail "self-signed/relax" "$(cat "$home/trustlist.txt")"
  encrypts_to self-signed-3072 "$home" "$(fpr_of "$certs/alice-self.pem")" "$certs/alice-self"
fi

# The mail user runs it on their own keyring.
fresh
install -d -m 0700 -o "$e2e_user" -g "$e2e_user" "$home"
if as_user "$IMPORT" --gnupghome "$home" --ca "$certs/ca.pem" "$ALICE" "$certs/alice-ca.pem" \
     >/dev/null 2>"$tmp/as-user.err"; then
  encrypts_to as-the-mail-user "$home" "$(fpr_of "$certs/alice-ca.pem")" "$certs/alice-ca"
else
  fail "as-the-mail-user" "$(cat "$tmp/as-user.err")"
fi

# --- refusals: exit status, a reason, and the keyring untouched --------------------

# refused NAME STATUS PATTERN [ARGS...]: into a keyring that already holds
# Alice's certificate, nothing changes.
base=$tmp/home/base
import base 0 --gnupghome "$base" --ca "$certs/ca.pem" "$ALICE" "$certs/alice-ca.pem"
refused() {
  local name=$1 status=$2 pattern=$3 before; shift 3
  before=$(state "$base")
  import "refused/$name" "$status" --gnupghome "$base" "$@" || return 0
  if ! grep -q -- "$pattern" "$tmp/refused-$name.err" 2>/dev/null; then
    fail "refused/$name" "stderr lacks '$pattern': $(cat "$tmp/refused-$name.err")"
  elif [[ $(state "$base") != "$before" ]]; then
    fail "refused/$name" "the keyring changed: $(diff <(echo "$before") <(state "$base"))"
  else
    pass "refused/$name"
  fi
}
refused look-alike 65 'emails it names: malice@example.org' --ca "$certs/ca.pem" "$ALICE" "$certs/malice.pem"
refused expired 65 'expired' --ca "$certs/ca.pem" "$ALICE" "$certs/alice-expired.pem"
refused signing-only 65 'does not allow encryption' --ca "$certs/ca.pem" "$ALICE" "$certs/alice-signonly.pem"
# gpgsm before 2.3 cannot encrypt to an elliptic-curve key.
if dpkg --compare-versions "$(gpgsm --version | awk 'NR == 1 { print $3 }')" lt 2.3; then
  refused ec-before-gnupg-2.3 65 'cannot encrypt to certificate' --ca "$certs/ca.pem" "$ALICE" "$certs/alice-ec.pem"
fi
refused p12-wrong-password 65 'give it with --pass-file' "$ALICE" "$certs/alice-ca.p12"
refused not-a-certificate 65 'no certificate in it' "$ALICE" "$REPO/README.md"
refused not-an-address 64 'not a mail address' "alice" "$certs/alice-ca.pem"
# Without the CA (neither given nor in the keyring): refused, no keyring made.
fresh
import refused/no-issuer 65 --gnupghome "$home" bob@example.org "$certs/bob-ca.pem" &&
  if [[ -e $home ]]; then fail "refused/no-issuer" "$home was created"
  elif grep -q 'give the CA certificate with --ca' "$tmp/refused-no-issuer.err"; then
    pass "refused/no-issuer"
  else fail "refused/no-issuer" "$(cat "$tmp/refused-no-issuer.err")"; fi
# A root the keyring's owner marked as not trusted stays so.
fresh
install -d -m 0700 -o "$e2e_user" -g "$e2e_user" "$home"
printf '!%s S\n' "$ca_fpr" >"$home/trustlist.txt"
chown "$e2e_user:" "$home/trustlist.txt"
import refused/root-marked-untrusted 78 --gnupghome "$home" --ca "$certs/ca.pem" "$ALICE" \
    "$certs/alice-ca.pem" &&
  if [[ -e $home/pubring.kbx ]]; then fail "refused/root-marked-untrusted" "imported anyway"
  else pass "refused/root-marked-untrusted"; fi
fresh
install -d -m 0770 -o "$e2e_user" -g "$e2e_user" "$home"
import refused/group-writable 78 --gnupghome "$home" --ca "$certs/ca.pem" "$ALICE" "$certs/alice-ca.pem" &&
  pass "refused/group-writable-keyring"

# No process of the mail user outlives the test's own agent stop.
check_no_leftovers
finish_run
