# gpgseal: encrypt every incoming message to the recipient's own OpenPGP key.
#
# Installed as Dovecot's global `sieve_before` script by 90-gpgseal.conf
# (system users) or 90-gpgseal-virtual.conf (virtual users); the same script
# serves both, the two snippets differ only in the settings it reads. It runs
# before any personal script, so the user's own rules see the encrypted
# message. Precompile it with `sievec` after every change: the LDA/LMTP
# process runs as the mail user and cannot write the .svbin.
#
# - vnd.dovecot.filter: pipes the message through `gpgseal` (looked up in
#   sieve_filter_bin_dir) and continues with its output.
# - variables + vnd.dovecot.environment: `${env.vnd.dovecot.username}` is the
#   Dovecot username, which must be the user's e-mail address. (`${env.user}`
#   does not exist and would silently expand to "".)
#   `${env.vnd.dovecot.config.NAME}` is the plugin setting `sieve_env_NAME`
#   from the conf.d snippet, so per-site values stay in one file:
#   - gpgseal_gnupghome: where this user's keyring is (Dovecot expands its own
#     %h; gpgseal expands the %d/%n that reach it as %%d/%%n);
#   - gpgseal_domain: system users' Dovecot username is the Unix login
#     (`alice`); gpgseal completes it to alice@DOMAIN. Virtual users'
#     usernames are already addresses (leave it empty);
#   - gpgseal_on_missing_keyring: a user with no keyring directory at all:
#     `pass` (has not opted in: stored as it came, a notice), `fail` or
#     `error` (logged as an error);
#   - gpgseal_timeout: gpgseal gives up this many seconds after it started and
#     hands the original back. It must stay well below
#     sieve_filter_exec_timeout, or Dovecot kills gpgseal first and stores
#     nothing at all (see sieve/README.md).
# - --log=dovecot: the one line per message also goes to Dovecot's log (under
#   LMTP at Info level, errors at Error), besides syslog.
# - "--": ends gpgseal's options, so that no username can ever be read as one.
# - imap4flags: gpgseal exits 0 both when it encrypts and when it passes a
#   message through on purpose (no key, already encrypted, and by default
#   any error: --on-error pass). A false test means it failed, crashed or was
#   misconfigured (an empty setting above is a usage error); Dovecot then
#   stores the original in clear, so flag it where the user and the admin can
#   see it. gpgseal-before-strict.sieve also fails, and files, missing keys
#   and errors.
require ["vnd.dovecot.filter", "variables", "vnd.dovecot.environment", "imap4flags"];

if not filter "gpgseal" ["--gnupghome=${env.vnd.dovecot.config.gpgseal_gnupghome}",
                         "--timeout=${env.vnd.dovecot.config.gpgseal_timeout}",
                         "--domain=${env.vnd.dovecot.config.gpgseal_domain}",
                         "--on-missing-keyring=${env.vnd.dovecot.config.gpgseal_on_missing_keyring}",
                         "--log=dovecot",
                         "--", "${env.vnd.dovecot.username}"] {
  addflag "$FilterFailed";
}
