# gpgseal, strict: every message that is not stored encrypted is flagged and
# filed into the folder "Unencrypted", where the user (and an admin running
# `doveadm search mailbox Unencrypted`) sees it at once.
#
# Use it instead of gpgseal-before.sieve (set sieve_before to this file in
# 90-gpgseal.conf or 90-gpgseal-virtual.conf) when every user is meant to
# have a key. Compile it with `sievec`, like the other. What differs:
# - --on-missing-key=fail: a user without a usable key is a failure, not a
#   choice; --on-missing-keyring=fail: so is a user without a keyring
#   directory; --on-error=fail: so is any error, including the --timeout.
#   gpgseal then writes nothing and exits 75; Dovecot stores the original
#   (it never tempfails a filter) and the test below is false. A message
#   that is already encrypted still passes (exit 0) and is not filed.
# - fileinto + mailbox: `:create` makes the folder on first use.
# - The original is stored only there (fileinto cancels the implicit keep),
#   and `stop` ends all Sieve processing for it: the user's personal script
#   does not run (Pigeonhole also ends the sequence by itself once a
#   sieve_before script cancels the keep), so no personal rule files a second
#   copy elsewhere and no vacation reply goes out for it.
# The rest (settings, "--", why the flag) is as in gpgseal-before.sieve.
require ["vnd.dovecot.filter", "variables", "vnd.dovecot.environment", "imap4flags",
         "fileinto", "mailbox"];

if not filter "gpgseal" ["--on-missing-key=fail", "--on-error=fail",
                         "--on-missing-keyring=fail",
                         "--gnupghome=${env.vnd.dovecot.config.gpgseal_gnupghome}",
                         "--timeout=${env.vnd.dovecot.config.gpgseal_timeout}",
                         "--domain=${env.vnd.dovecot.config.gpgseal_domain}",
                         "--log=dovecot",
                         "--", "${env.vnd.dovecot.username}"] {
  addflag "$FilterFailed";
  fileinto :create "Unencrypted";
  stop;
}
