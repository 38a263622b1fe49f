# An example personal Sieve script (~/.dovecot.sieve, or the active script
# uploaded through ManageSieve) for a server where encryption is each user's
# own choice: the admin installs 90-gpgseal-personal.conf, which lets personal
# scripts call gpgseal, and no global gpgseal script. Dovecot compiles this
# script itself on the next delivery (it belongs to the user).
#
# You decide what gets encrypted, and when: rules above the filter see the
# message in clear; rules below it see only what stays outside the
# encryption, the header fields other than Content-* (From, To, Subject,
# List-Id, ...). A message you keep in clear on purpose stays searchable on
# the server; an encrypted one is not (IMAP SEARCH BODY finds nothing in it).
#
# - vnd.dovecot.filter, variables, vnd.dovecot.environment: as in the global
#   gpgseal-before.sieve; the two settings come from the admin's snippet.
#   "--" ends gpgseal's options before your address.
# - imap4flags: a false test means gpgseal failed and Dovecot kept the
#   original in clear: the keyword $FilterFailed marks it.
# - fileinto + mailbox: file into folders, created on first use.
require ["vnd.dovecot.filter", "variables", "vnd.dovecot.environment", "imap4flags",
         "fileinto", "mailbox"];

# A public mailing list is not worth encrypting, and server-side search on
# its archive is handy: file it in clear and stop.
if header :contains "List-Id" "<announce.example.org>" {
  fileinto :create "Lists";
  stop;
}

# Everything else is encrypted to your key (from your keyring on the server).
if not filter "gpgseal" ["--gnupghome=${env.vnd.dovecot.config.gpgseal_gnupghome}",
                         "--timeout=${env.vnd.dovecot.config.gpgseal_timeout}",
                         "--", "${env.vnd.dovecot.username}"] {
  addflag "$FilterFailed";
}

# Sorting still works on the outer header fields of the encrypted message.
if header :contains "Subject" "invoice" {
  fileinto :create "Invoices";
}
