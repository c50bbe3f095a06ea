#!/usr/bin/env bash
# Issues TLS material for a local Brook cluster with the openssl CLI: a CA
# (ca.crt, ca.key), one certificate per node (node-<id>.crt/.key, CN brook-node-<id>,
# valid for localhost, brook-<id>, brook-node-<id>, node-<id> (the compose service)
# and 127.0.0.1, as server and as client, since nodes dial each other) and one
# client certificate per user name
# (<user>.crt/.key, CN <user>: the principal mTLS authenticates).
# Idempotent: a file that exists is kept, so re-running keeps the CA and every
# certificate it signed; delete a node's or user's files to reissue them.
set -euo pipefail

usage() {
  echo "usage: $0 <dir> [nodes=3] [users...]" >&2
  echo "  e.g. $0 .brook/tls 3 admin alice" >&2
  exit 2
}
[ $# -ge 1 ] || usage
dir=$1
nodes=${2:-3}
shift $(($# >= 2 ? 2 : 1))
[[ $nodes =~ ^[0-9]+$ ]] || usage
for user in "$@"; do
  # The name becomes a file name and a subject: keep it to characters safe in both.
  [[ $user =~ ^[A-Za-z0-9._-]+$ && $user != ca ]] || { echo "bad user name: $user" >&2; exit 2; }
done
mkdir -p "$dir"
trap 'rm -f "$dir"/*.tmp' EXIT

# Runs a command, showing its chatter on stderr only when it fails.
quiet() {
  local out
  out=$("$@" 2>&1) || { echo "$out" >&2; return 1; }
}

# An EC P-256 key, created owner-only (umask) so it is never readable by others, even briefly.
make_key() {
  [ -f "$1" ] && return
  (umask 077 && quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.tmp")
  chmod 600 "$1.tmp"
  mv "$1.tmp" "$1"
  echo "made $1"
}

make_ca() {
  make_key "$dir/ca.key"
  [ -f "$dir/ca.crt" ] && return
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 3650 -subj "/CN=Brook local CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -out "$dir/ca.crt.tmp"
  mv "$dir/ca.crt.tmp" "$dir/ca.crt"
  echo "made $dir/ca.crt"
}

# make_cert <name> <CN> <extendedKeyUsage> [subjectAltName]: <name>.key and <name>.crt signed by the CA.
make_cert() {
  local key="$dir/$1.key" crt="$dir/$1.crt"
  make_key "$key"
  [ -f "$crt" ] && return
  openssl req -new -key "$key" -subj "/CN=$2" |
    quiet openssl x509 -req -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -sha256 -days 825 \
      -set_serial "0x$(openssl rand -hex 16)" -out "$crt.tmp" -extfile <(
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        echo "extendedKeyUsage=$3"
        [ -z "${4:-}" ] || echo "subjectAltName=$4"
      )
  # Renamed into place only when complete: a failed run must not leave a file that the next run keeps.
  mv "$crt.tmp" "$crt"
  echo "made $crt"
}

make_ca
for id in $(seq 1 "$nodes"); do
  make_cert "node-$id" "brook-node-$id" serverAuth,clientAuth \
    "DNS:localhost,DNS:brook-$id,DNS:brook-node-$id,DNS:node-$id,IP:127.0.0.1"
done
for user in "$@"; do
  make_cert "$user" "$user" clientAuth
done
