#!/bin/bash
# Installs everything gpgseal needs to build, test and run on Debian 12, as root.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libgpgme-dev libgmime-3.0-dev libboost-program-options-dev libgtest-dev
  gnupg
  # The end-to-end tests deliver through a real, private Dovecot instance.
  dovecot-core dovecot-sieve dovecot-lmtpd
  python3
  # ps, for the end-to-end tests' check that no process is left behind.
  procps
  # S/MIME: gpgsm, and openssl for gpgseal-import-cert and to decrypt in the tests.
  gpgsm openssl
  # The fuzz targets: clang with libFuzzer and the sanitizer runtimes.
  clang libclang-rt-14-dev
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (it calls apt-get)" >&2
  exit 1
fi
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
