# gpgseal for IMAP, strict: every saved copy that stays in clear is flagged
# $FilterFailed, where the user (and an admin running
# `doveadm search -A keyword '$FilterFailed'`) sees it.
#
# Use it instead of gpgseal-imapsieve.sieve (point imapsieve_mailbox1_before
# at this file in 91-gpgseal-imapsieve*.conf) when every user is meant to
# have a key. Compile it with `sievec`, like the other. What differs:
# - --on-missing-key=fail: a user without a usable key is a failure, not a
#   choice; --on-error=fail: so is any error, including the --timeout.
#   gpgseal then writes nothing and exits 75; Dovecot keeps the copy exactly
#   as the client sent it, and the test below is false. A copy that is
#   already encrypted still passes (exit 0) and is not flagged.
# - Unlike the delivery script, the copy stays in its folder: it is the
#   user's own sent message, and the APPEND has long succeeded.
# The rest (Drafts, the address, the settings) is as in
# gpgseal-imapsieve.sieve.
require ["vnd.dovecot.filter", "variables", "vnd.dovecot.environment",
         "environment", "imapsieve", "imap4flags"];

if environment :is "imap.mailbox" "${env.vnd.dovecot.config.gpgseal_drafts}" {
  stop;
}

if string :contains "${env.vnd.dovecot.username}" "@" {
  set "address" "${env.vnd.dovecot.username}";
} else {
  set "address" "${env.vnd.dovecot.username}@${env.vnd.dovecot.config.gpgseal_domain}";
}

if not filter "gpgseal" ["--on-missing-key=fail", "--on-error=fail",
                         "--gnupghome=${env.vnd.dovecot.config.gpgseal_gnupghome}",
                         "--timeout=${env.vnd.dovecot.config.gpgseal_timeout}",
                         "--", "${address}"] {
  addflag "$FilterFailed";
}
