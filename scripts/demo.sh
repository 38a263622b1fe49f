#!/bin/bash
# The demo: installs dependencies, builds, makes a throwaway key, and shows a
# message before gpgseal, after gpgseal, and decrypted by the recipient.
# Pass --no-install to skip apt-get.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ "${1:-}" != "--no-install" ]; then
  "$root/scripts/install-deps.sh"
fi
"$root/scripts/build.sh" "$root/build" >/dev/null

work="$(mktemp -d)"
export GNUPGHOME="$work/gnupg"
cleanup() {
  gpgconf --kill all 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -m 700 "$GNUPGHOME"

echo "== Making a throwaway key for demo@example.org (no passphrase)"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Demo User <demo@example.org>' \
  future-default default never 2>/dev/null
gpg --list-keys --keyid-format long demo@example.org | sed 's/^/   /'

cat > "$work/message.eml" <<'MAIL'
From: Bob <bob@example.org>
To: Demo User <demo@example.org>
Subject: The quarterly figures
Date: Mon, 1 Jan 2024 10:00:00 +0000
Message-ID: <demo-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hi,

the figures are in: revenue up 12 %, costs down 3 %.
Please keep this to yourself until Friday.

Bob
MAIL

echo
echo "== The message as delivered (stdin of gpgseal)"
cat "$work/message.eml"
echo
echo "== gpgseal demo@example.org  (what the server stores)"
"$root/build/gpgseal" demo@example.org < "$work/message.eml" > "$work/sealed.eml"
cat "$work/sealed.eml"
echo
echo "== Decrypted with the recipient's secret key (what the mail client shows)"
sed -n '/^-----BEGIN PGP MESSAGE-----/,/^-----END PGP MESSAGE-----/p' "$work/sealed.eml" |
  gpg --batch --quiet --decrypt | tr -d '\r'
echo
echo "== Running gpgseal on the stored message again leaves it unchanged"
if "$root/build/gpgseal" demo@example.org < "$work/sealed.eml" | cmp -s - "$work/sealed.eml"; then
  echo "   unchanged (already encrypted)"
else
  echo "   CHANGED: this is a bug" >&2
  exit 1
fi
