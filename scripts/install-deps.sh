#!/bin/bash
# Installs everything gpgseal needs to build, test and run on Debian 12, as root.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libgpgme-dev libgmime-3.0-dev libboost-program-options-dev libgtest-dev
  gnupg
  # The end-to-end tests deliver through a real, private Dovecot instance.
  dovecot-core dovecot-sieve dovecot-lmtpd
  # The IMAPSieve suite: a client APPENDs over IMAP; mail_crypt's keys.
  dovecot-imapd openssl
  python3
  # ps, for the end-to-end tests' check that no process is left behind.
  procps
  # The MTA tests run Debian's postfix, exim4 and opensmtpd unpacked into a
  # private prefix (tests/e2e/mta/get_mtas.sh: they conflict, so none is
  # installed); these are the libraries they link, and the tools that
  # unpack and start them. procmail does not conflict: installed (without
  # recommends, which would pull in exim4 as the default MTA).
  libdb5.3 libicu72 libnsl2 libsasl2-2 libssl3 netbase
  libcrypt1 libgnutls-dane0 libgnutls30 libidn12 libidn2-0 libpcre2-8-0
  libevent-2.1-7 libpam0g zlib1g
  util-linux procmail
  # S/MIME: gpgsm, and openssl for gpgseal-import-cert and to decrypt in the tests.
  gpgsm openssl
  # The fuzz targets: clang with libFuzzer and the sanitizer runtimes.
  clang libclang-rt-14-dev
  # The header protection tests: NeoMutt driven in tmux, and Dovecot's IMAP server.
  neomutt tmux dovecot-imapd
  # The Debian package (scripts/build-deb.sh) and its checks: lintian, and
  # man for the man pages' warnings.
  dpkg-dev debhelper lintian man-db groff-base
  # The fault tests (tests/e2e/faults_run.sh): libfaketime jumps gpgseal's clock.
  faketime
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
