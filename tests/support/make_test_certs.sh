#!/bin/bash
# make_test_certs.sh OUTDIR: writes the X.509 test certificates the S/MIME
# tests use. INSECURE: every secret key is written unencrypted; test use only.
#
# OUTDIR/ca.{pem,key}              "gpgseal Test CA", RSA 3072, self-signed
# OUTDIR/alice-ca.{pem,key}        RSA 2048 issued by the CA, SAN email alice@example.org
# OUTDIR/alice-self.{pem,key}      RSA 3072 self-signed, subject emailAddress Alice@Example.ORG
#                                  (no subjectAltName: the email is in the subject only)
# OUTDIR/alice-expired.{pem,key}   issued by the CA, expired on 2020-01-02
# OUTDIR/malice.{pem,key}          issued by the CA for the look-alike malice@example.org
# OUTDIR/alice-signonly.{pem,key}  issued by the CA, keyUsage digitalSignature only
# OUTDIR/alice-ec.{pem,key}       EC P-256 issued by the CA, keyUsage keyAgreement
# OUTDIR/bob-ca.{pem,key}          RSA 2048 issued by the CA, SAN email bob@example.org
# OUTDIR/alice-ca.der              alice-ca.pem in DER
# OUTDIR/alice-ca.p12              alice-ca with its key, PKCS #12, password "test"
#
# Every CA-issued certificate names a CRL distribution point and an OCSP
# responder on 127.0.0.1 port 9 (discard, nothing listens): a GnuPG that tried
# to fetch a CRL would fail there, never reach another host.
set -euo pipefail

out=${1:?usage: make_test_certs.sh OUTDIR}
mkdir -p "$out"
cd "$out"
work=$(mktemp -d ca.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The extensions every CA-issued end-entity certificate has; v3_user and
# v3_signonly add their keyUsage.
user_common='basicConstraints = CA:FALSE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
extendedKeyUsage = emailProtection
subjectAltName = email:$ENV::ADDR
crlDistributionPoints = URI:http://127.0.0.1:9/gpgseal-test-ca.crl
authorityInfoAccess = OCSP;URI:http://127.0.0.1:9/ocsp'
cat > "$work/ca.cnf" <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = \$ENV::CA_DIR/index.txt
new_certs_dir = \$ENV::CA_DIR
serial = \$ENV::CA_DIR/serial
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = optional
emailAddress = optional
[ req ]
distinguished_name = dn
[ dn ]
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_user ]
keyUsage = critical,digitalSignature,keyEncipherment
$user_common
[ v3_signonly ]
keyUsage = critical,digitalSignature,nonRepudiation
$user_common
[ v3_ec ]
keyUsage = critical,digitalSignature,keyAgreement
$user_common
[ v3_self ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = emailProtection
subjectKeyIdentifier = hash
CNF
export CA_DIR=$work ADDR=unused@example.org
: > "$work/index.txt"
echo 1000 > "$work/serial"

openssl req -x509 -newkey rsa:3072 -nodes -keyout ca.key -out ca.pem \
  -subj "/CN=gpgseal Test CA" -days 3650 -config "$work/ca.cnf" -extensions v3_ca 2>/dev/null

# issue NAME ADDRESS KEY EXTENSIONS [openssl ca date options...]: KEY is
# rsa:BITS or ec (P-256).
issue() {
  local name=$1 addr=$2 key=$3 ext=$4; shift 4
  [[ $key == ec ]] && key="ec -pkeyopt ec_paramgen_curve:P-256"
  # shellcheck disable=SC2086  # key is words
  openssl req -new -newkey $key -nodes -keyout "$name.key" -out "$work/$name.csr" \
    -subj "/CN=$name" -config "$work/ca.cnf" 2>/dev/null
  ADDR=$addr openssl ca -batch -notext -config "$work/ca.cnf" -cert ca.pem -keyfile ca.key \
    -in "$work/$name.csr" -out "$name.pem" -extensions "$ext" "$@" 2>/dev/null
}
issue alice-ca alice@example.org rsa:2048 v3_user -days 3650
issue bob-ca bob@example.org rsa:2048 v3_user -days 3650
issue alice-expired alice@example.org rsa:2048 v3_user -startdate 20190101000000Z -enddate 20200102000000Z
issue malice malice@example.org rsa:2048 v3_user -days 3650
issue alice-signonly alice@example.org rsa:2048 v3_signonly -days 3650
issue alice-ec alice@example.org ec v3_ec -days 3650

openssl req -x509 -newkey rsa:3072 -nodes -keyout alice-self.key -out alice-self.pem \
  -subj "/CN=Alice Self/emailAddress=Alice@Example.ORG" -days 3650 \
  -config "$work/ca.cnf" -extensions v3_self 2>/dev/null

openssl x509 -in alice-ca.pem -outform DER -out alice-ca.der
openssl pkcs12 -export -in alice-ca.pem -inkey alice-ca.key -certfile ca.pem \
  -name alice -passout pass:test -out alice-ca.p12
