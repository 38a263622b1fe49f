# gpgseal: encrypt every incoming message to the recipient's own OpenPGP key.
#
# Installed as Dovecot's global `sieve_before` script (see 90-gpgseal.conf), so
# it runs before any personal script and the user's own rules see the
# encrypted message. Precompile it with `sievec` after every change: the
# LDA/LMTP process runs as the mail user and cannot write the .svbin.
#
# - vnd.dovecot.filter: pipes the message through `gpgseal` (looked up in
#   sieve_filter_bin_dir) and continues with its output.
# - variables + vnd.dovecot.environment: `${env.vnd.dovecot.username}` is the
#   Dovecot username, which must be the user's e-mail address. (`${env.user}`
#   does not exist and would silently expand to "".)
# - imap4flags: gpgseal exits 0 both when it encrypts and when it passes a
#   message through on purpose (no key, already encrypted). A false test means
#   it failed or crashed; Dovecot then stores the original in clear, so flag it
#   where the user and the admin can see it.
require ["vnd.dovecot.filter", "variables", "vnd.dovecot.environment", "imap4flags"];

if not filter "gpgseal" "${env.vnd.dovecot.username}" {
  addflag "$FilterFailed";
}
