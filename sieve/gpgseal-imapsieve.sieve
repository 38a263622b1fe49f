# gpgseal for IMAP: encrypt the copy a mail client saves on the server (the
# sent message it APPENDs to Sent; with 91-gpgseal-imapsieve-all.conf also
# what it APPENDs or COPYs into any other folder) to the user's own key.
#
# Run by the imap_sieve plugin (Pigeonhole IMAPSieve) as an administrator
# script (imapsieve_mailboxXXX_before in 91-gpgseal-imapsieve*.conf), inside
# the IMAP process, after the message was stored. The `filter` output then
# replaces the stored message: Dovecot saves it as a new message in the same
# folder and expunges the original (imapsieve_expunge_discarded = yes). The
# message a client sends goes out through SMTP/submission, a different path:
# nothing here ever touches it. Precompile with `sievec` after every change.
#
# - Drafts are never encrypted: a client rewrites a draft on every autosave
#   and must be able to read and edit it. The folder named by the setting
#   sieve_env_gpgseal_drafts is skipped (91-gpgseal-imapsieve-all.conf sets
#   it; the Sent-only snippet never runs the script there anyway).
# - The address: a Dovecot username with "@" (virtual users) is the address.
#   A plain login (system users: "alice") gets the domain from the setting
#   sieve_env_gpgseal_domain, the delivery snippet's. With neither, gpgseal gets "alice@",
#   refuses it as a usage error (logged), the copy is kept as it came and
#   flagged.
# - The other settings are the delivery snippet's (90-gpgseal*.conf):
#   keyring and --timeout, below sieve_filter_exec_timeout.
# - The copy is never lost: gpgseal passes it through unchanged when there is
#   no key, it is already encrypted, or anything goes wrong (--on-error pass,
#   its default), and Dovecot keeps the stored original whenever gpgseal
#   exits non-zero. That last case (a crash, a bad setting) is flagged
#   $FilterFailed. gpgseal-imapsieve-strict.sieve flags every copy it could
#   not encrypt.
# - imap4flags: `addflag` below, and with it loaded Pigeonhole stores the
#   replacement with the flags and keywords the client gave in its APPEND
#   (\Seen on a sent message, $Label1, ...).
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

if not filter "gpgseal" ["--gnupghome=${env.vnd.dovecot.config.gpgseal_gnupghome}",
                         "--timeout=${env.vnd.dovecot.config.gpgseal_timeout}",
                         "--", "${address}"] {
  addflag "$FilterFailed";
}
