#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# hvipectl policy/key end to end on real files: exit codes, diagnostics,
# signatures checked by the openssl command line (independent of our code).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}
case $O in /*) ;; *) O=$top/$O ;; esac
ctl=$O/bin/hvipectl
work=$(mktemp -d /tmp/hvipe-policy-it.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# expect RC CMD...: run, keep stdout/stderr in out/err, check the exit code
expect() {
	local want=$1
	shift
	"$@" >out 2>err
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok; else
		bad "'$*' exit $rc, want $want"
		sed 's/^/  stdout: /' out | head -5
		sed 's/^/  stderr: /' err | head -5
	fi
}
# has FILE REGEX: FILE must contain a line matching REGEX
has() { if grep -Eq -- "$2" "$1"; then ok; else bad "$1 lacks /$2/: $(head -3 "$1")"; fi; }
hasnot() { if grep -Eq -- "$2" "$1"; then bad "$1 has /$2/"; else ok; fi; }

D64=8334c576cd8cea57e79b8b48c7161df36ea465222e9b7b1a660e11e3443f4896
cat >good.pol <<EOF
policy_name=hvipe policy_version=1.0.1
DEFAULT action=ALLOW
DEFAULT op=EXECUTE action=DENY
DEFAULT op=KMODULE action=DENY
DEFAULT op=KEXEC_IMAGE action=DENY
DEFAULT op=KEXEC_INITRAMFS action=DENY
op=EXECUTE dmverity_roothash=sha256:$D64 action=ALLOW
op=KMODULE dmverity_roothash=sha256:$D64 action=ALLOW
EOF
printf 'policy_name=x policy_version=1.0\nDEFAULT action=ALLOW\n' >r3.pol
printf 'policy_name=x policy_version=0.0.0\nDEFAULT action=ALLOW\nop=EXECUTE fsverity_digest=sha256:abc action=DENY\n' >r17.pol
printf 'policy_name=x policy_version=65536.0.0\nDEFAULT action=ALLOW\n' >r5.pol
printf 'policy_name=a/b policy_version=0.0.0\nDEFAULT action=ALLOW\n' >slash.pol
printf 'policy_name=%0300d policy_version=0.0.0\nDEFAULT action=ALLOW\n' 0 >long.pol
printf 'policy_name=w policy_version=0.0.0\nDEFAULT action=ALLOW\nop=EXECUTE fsverity_digest=sha256:bb31d3b3 action=DENY\n' >warn.pol
printf 'policy_name=n policy_version=0.0.0\nDEFAULT action=DENY\n\0op=EXECUTE action=ALLOW\n' >nul.pol
printf '  policy_name=f\tpolicy_version=+01.007.0 # c\r\nop=KMODULE action=DENY\r\nDEFAULT action=ALLOW\r\nDEFAULT op=EXECUTE action=DENY\r\n' >messy.pol

# --- help and usage
expect 0 "$ctl" policy --help
has out 'check'
for v in check fmt sign verify show; do
	expect 0 "$ctl" policy $v --help
	has out "usage: hvipectl policy $v"
done
for v in generate show; do
	expect 0 "$ctl" key $v --help
	has out "usage: hvipectl key $v"
done
expect 2 "$ctl" policy
expect 2 "$ctl" policy frobnicate
expect 2 "$ctl" policy check
expect 2 "$ctl" policy sign good.pol
expect 2 "$ctl" key generate --type dsa --out k

# --- check
expect 0 "$ctl" policy check good.pol
[ -s err ] && bad "warnings for the hvipe composition: $(cat err)" || ok
expect 1 "$ctl" policy check r3.pol
has err '^r3\.pol:1:[0-9]+: error: .*\(EBADMSG\)$'
expect 1 "$ctl" policy check r17.pol
has err '^r17\.pol:3:[0-9]+: error: .*\(EINVAL\)$'
expect 1 "$ctl" policy check r5.pol
has err '^r5\.pol:1:[0-9]+: error: .*\(ERANGE\)$'
expect 1 "$ctl" policy check slash.pol
has err 'error: .*\(EACCES\)$'
expect 1 "$ctl" policy check long.pol
has err 'error: .*\(ENAMETOOLONG\)$'
expect 0 "$ctl" policy check warn.pol
has err '^warn\.pol:3:[0-9]+: warning: '
expect 1 "$ctl" policy check --strict warn.pol
expect 0 "$ctl" policy check nul.pol
has err 'warning: NUL'
expect 1 "$ctl" policy check good.pol r3.pol
has err '^r3\.pol'
hasnot err '^good\.pol'
expect 4 "$ctl" policy check does-not-exist.pol
# text too long to be signed: EMSGSIZE
{ echo 'policy_name=big policy_version=0.0.0'; echo 'DEFAULT action=ALLOW'
  for i in $(seq 1 600); do printf 'op=EXECUTE dmverity_roothash=sha256:%064d action=ALLOW\n' "$i"; done; } >big.pol
expect 1 "$ctl" policy check big.pol
has err 'error: .*\(EMSGSIZE\)$'

# --- fmt
expect 0 "$ctl" policy fmt messy.pol
printf 'policy_name=f policy_version=1.7.0\nDEFAULT action=ALLOW\nDEFAULT op=EXECUTE action=DENY\nop=KMODULE action=DENY\n' >messy.want
cmp -s out messy.want && ok || bad "fmt output: $(cat out)"
expect 1 "$ctl" policy fmt --check messy.pol
has err 'messy\.pol: not canonical'
cp messy.pol m2.pol
expect 0 "$ctl" policy fmt --write m2.pol
cmp -s m2.pol messy.want && ok || bad "fmt --write result"
expect 0 "$ctl" policy fmt --check m2.pol
# --write keeps mode and owner, follows a symlink to its target, keeps the link
cp messy.pol owned.pol
chmod 0600 owned.pol
if [ "$(id -u)" = 0 ]; then chown nobody:daemon owned.pol; fi
want_owner=$(stat -c %U:%G owned.pol)
expect 0 "$ctl" policy fmt --write owned.pol
cmp -s owned.pol messy.want && ok || bad "fmt --write owned.pol result"
[ "$(stat -c %a owned.pol)" = 600 ] && ok || bad "fmt --write changed mode to $(stat -c %a owned.pol)"
[ "$(stat -c %U:%G owned.pol)" = "$want_owner" ] && ok ||
	bad "fmt --write changed owner to $(stat -c %U:%G owned.pol), want $want_owner"
mkdir -p real
cp messy.pol real/target.pol
chmod 0640 real/target.pol
ln -s real/target.pol link.pol
expect 0 "$ctl" policy fmt --write link.pol
[ -L link.pol ] && ok || bad "fmt --write replaced the symlink link.pol"
cmp -s real/target.pol messy.want && ok || bad "fmt --write left the symlink target unformatted"
[ "$(stat -c %a real/target.pol)" = 640 ] && ok || bad "symlink target mode $(stat -c %a real/target.pol)"
ls real/*.tmp* >/dev/null 2>&1 && bad "temporary file left beside the target" || ok
cp messy.pol hl.pol
ln hl.pol hl2.pol
expect 0 "$ctl" policy fmt --write hl.pol
has err 'hl\.pol: warning: had 2 hard links'
cmp -s hl.pol messy.want && ok || bad "fmt --write hl.pol result"
cmp -s hl2.pol messy.pol && ok || bad "the other hard link changed"
expect 0 "$ctl" policy fmt --check good.pol
expect 0 sh -c "\"$ctl\" policy fmt - <messy.pol"
cmp -s out messy.want && ok || bad "fmt - (stdin) output: $(cat out)"
expect 2 "$ctl" policy fmt --write -
expect 1 sh -c "\"$ctl\" policy check - <r3.pol"
has err '^-:1:[0-9]+: error: .*\(EBADMSG\)$'
expect 1 "$ctl" policy fmt r3.pol
has err '\(EBADMSG\)'

# --- keys
expect 0 "$ctl" key generate --out keys
[ "$(stat -c %a keys/key.pem)" = 600 ] && ok || bad "key.pem mode $(stat -c %a keys/key.pem)"
hasnot out 'PRIVATE'
has out '^fingerprint: sha256:[0-9a-f]{64}$'
expect 1 "$ctl" key generate --out keys
expect 0 "$ctl" key show keys
has out '^type: ec-p256$'
has out '^key: .*matches certificate'
openssl x509 -in keys/cert.pem -noout -ext extendedKeyUsage,keyUsage >x509.txt 2>&1
has x509.txt 'Code Signing'
has x509.txt 'Digital Signature'
expect 0 "$ctl" key generate --type rsa-3072 --subject rsa-test --out rsakeys
has out '^type: rsa-3072$'
# missing parents are created; the key directory itself is 0700
expect 0 "$ctl" key generate --out deep/er/keys
[ "$(stat -c %a deep/er/keys)" = 700 ] && ok || bad "deep/er/keys mode $(stat -c %a deep/er/keys)"
[ -s deep/er/keys/key.pem ] && ok || bad "no deep/er/keys/key.pem"
mkdir gwkeys && chmod 0775 gwkeys
expect 1 "$ctl" key generate --out gwkeys
has err 'gwkeys is writable by group or others'
[ -e gwkeys/key.pem ] && bad "key written into a group-writable directory" || ok
expect 1 "$ctl" key generate --out good.pol
has err 'not a directory'

# --- sign, verify, show
expect 0 "$ctl" policy sign --key keys/key.pem --cert keys/cert.pem good.pol
[ -s good.pol.p7s ] && ok || bad "no good.pol.p7s"
openssl cms -verify -inform DER -in good.pol.p7s -CAfile keys/cert.pem -purpose any -binary \
	-out embedded.txt 2>/dev/null && ok || bad "openssl cms -verify refused our blob"
cmp -s embedded.txt good.pol && ok || bad "embedded text differs from the file"
openssl asn1parse -inform DER -in good.pol.p7s >asn1.txt
has asn1.txt 'prim: OCTET STRING'
hasnot asn1.txt 'SMIME Capabilities|signingTime|messageDigest'
expect 0 "$ctl" policy verify --cert keys/cert.pem good.pol.p7s
cmp -s out good.pol && ok || bad "verify output differs from the policy"
expect 1 "$ctl" policy verify --cert rsakeys/cert.pem good.pol.p7s
has err 'EKEYREJECTED'
expect 1 "$ctl" policy verify --cert keys/cert.pem good.pol
has err 'EBADMSG'
expect 0 "$ctl" policy show good.pol.p7s
has out '^name: hvipe$'
has out '^version: 1\.0\.1$'
has out "^digest: sha256:$(sha256sum good.pol.p7s | cut -c1-64 | tr a-f A-F)$"
has out '^signer: CN=hvipe policy signing'
expect 0 "$ctl" policy sign --key rsakeys/key.pem --cert rsakeys/cert.pem -o rsa.p7s good.pol
expect 0 "$ctl" policy verify --cert rsakeys/cert.pem rsa.p7s
expect 0 "$ctl" policy sign --key keys/key.pem --cert keys/cert.pem --out out.p7s good.pol
has out '^out\.p7s: signed policy_name=hvipe policy_version=1\.0\.1 bytes=[0-9]+ digest=sha256:[0-9A-F]{64}$'
expect 0 "$ctl" policy sign --key keys/key.pem --cert keys/cert.pem -o - good.pol
cmp -s out out.p7s && bad "signatures should differ (ECDSA is randomized)" || ok
openssl cms -verify -inform DER -in out -CAfile keys/cert.pem -purpose any -binary -out /dev/null 2>/dev/null && ok || bad "stdout blob does not verify"
# FILE '-': standard input, blob to standard output, no file named '-.p7s'
expect 0 sh -c "\"$ctl\" policy sign --key keys/key.pem --cert keys/cert.pem - <good.pol"
[ -e ./-.p7s ] && bad "policy sign - wrote a file named -.p7s" || ok
openssl cms -verify -inform DER -in out -CAfile keys/cert.pem -purpose any -binary -out stdin.txt 2>/dev/null && ok || bad "blob signed from stdin does not verify"
cmp -s stdin.txt good.pol && ok || bad "blob signed from stdin embeds other text"
expect 0 sh -c "\"$ctl\" policy sign --key keys/key.pem --cert keys/cert.pem -o stdin.p7s - <good.pol"
[ -s stdin.p7s ] && ok || bad "policy sign -o stdin.p7s - wrote nothing"

# refusals
expect 1 "$ctl" policy sign --key keys/key.pem --cert keys/cert.pem -o r3.p7s r3.pol
[ -e r3.p7s ] && bad "refused policy was signed" || ok
expect 1 "$ctl" policy sign --key keys/key.pem --cert keys/cert.pem -o nul.p7s nul.pol
has err 'NUL'
expect 1 "$ctl" policy sign --key keys/key.pem --cert keys/cert.pem -o big.p7s big.pol
has err 'EMSGSIZE'
# fits as text, but not once signed with the certificate embedded
{ echo 'policy_name=edge policy_version=0.0.0'; echo 'DEFAULT action=ALLOW'
  for i in $(seq 1 570); do printf 'op=EXECUTE dmverity_roothash=sha256:%064d action=ALLOW\n' "$i"; done; } >edge.pol
expect 0 "$ctl" policy check edge.pol
expect 1 "$ctl" policy sign --key keys/key.pem --cert keys/cert.pem -o edge.p7s edge.pol
has err 'larger than 65535 bytes'
chmod 0644 keys/key.pem
expect 1 "$ctl" policy sign --key keys/key.pem --cert keys/cert.pem -o x.p7s good.pol
has err 'chmod 600'
expect 1 "$ctl" key show keys
chmod 0600 keys/key.pem
expect 1 "$ctl" policy sign --key keys/key.pem --cert rsakeys/cert.pem -o x.p7s good.pol
has err 'does not belong'
# keys too weak for a policy signature are refused by sign and flagged by show
mkdir -m 0700 weak weakec
openssl req -x509 -newkey rsa:1024 -nodes -keyout weak/key.pem -out weak/cert.pem \
	-subj /CN=weak -days 2 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp521r1 -nodes \
	-keyout weakec/key.pem -out weakec/cert.pem -subj /CN=p521 -days 2 2>/dev/null
chmod 0600 weak/key.pem weakec/key.pem
expect 1 "$ctl" policy sign --key weak/key.pem --cert weak/cert.pem -o weak.p7s good.pol
has err 'RSA key of 1024 bits \(at least 2048 needed\)'
[ -e weak.p7s ] && bad "signed with a 1024-bit RSA key" || ok
expect 1 "$ctl" policy sign --key weakec/key.pem --cert weakec/cert.pem -o weak.p7s good.pol
has err 'ec-secp521r1 key'
expect 1 "$ctl" key show weak
has out '^key: weak$'

# --- exit codes (README): a file that cannot be opened or read is 4; a file of
# the wrong kind (a directory) or too large is invalid input, 1
mkdir -p adir
expect 1 "$ctl" policy check adir
has err 'adir: is a directory, not a file'
expect 1 "$ctl" policy check /dev/zero
has err 'larger than 16777216 bytes'
expect 1 "$ctl" policy show adir
expect 4 "$ctl" policy show no-such.p7s
expect 1 "$ctl" policy sign --key adir --cert keys/cert.pem -o x.p7s good.pol
has err 'adir: not a regular file'
expect 4 "$ctl" policy sign --key no-such-key.pem --cert keys/cert.pem -o x.p7s good.pol
expect 1 "$ctl" policy sign --key keys/key.pem --cert adir -o x.p7s good.pol
expect 1 "$ctl" policy sign --key keys/key.pem --cert keys/cert.pem -o adir good.pol
has err 'adir: is a directory, not a file'
expect 1 "$ctl" kernel check adir
has err 'adir: is a directory, not a file'
expect 1 "$ctl" kernel check /dev/zero
expect 4 "$ctl" kernel check no-such-config
# read before hvipe-hostd is asked, so no daemon is needed to see these
expect 1 "$ctl" --socket "$work/none.sock" image add x --root-hash "$D64" --signature adir
has err 'signature adir: is a directory, not a file'
expect 4 "$ctl" --socket "$work/none.sock" image add x --root-hash "$D64" --signature no-such.sig
expect 3 "$ctl" --socket "$work/none.sock" image add x --root-hash "$D64" --signature good.pol.p7s

# --- firmware enroll: inputs checked before virt-fw-vars runs; the child dies with hvipectl
expect 1 "$ctl" firmware enroll --cert keys/cert.pem --out vars.fd --template /dev/zero
has err 'template /dev/zero is not a regular file'
[ -e vars.fd ] && bad "vars.fd written from /dev/zero" || ok
truncate -s 65M huge.fd
expect 1 "$ctl" firmware enroll --cert keys/cert.pem --out vars.fd --template huge.fd
has err 'template huge\.fd is larger than 64 MiB'
expect 1 "$ctl" firmware enroll --cert /dev/zero --out vars.fd
has err 'certificate /dev/zero is not a regular file'
expect 1 "$ctl" firmware enroll --cert keys/key.pem --out vars.fd
has err 'not a PEM certificate'
expect 4 "$ctl" firmware enroll --cert no-such-cert.pem --out vars.fd
expect 2 "$ctl" firmware enroll --cert keys/cert.pem --out vars.fd --owner not-a-guid
has err "--owner 'not-a-guid' is not a GUID"
hasnot err 'Traceback'
expect 2 "$ctl" firmware enroll --cert keys/cert.pem --out vars.fd --owner 4d1a6a3c6f0e4a539e1c68766970650a
if command -v virt-fw-vars >/dev/null && [ -r /usr/share/OVMF/OVMF_VARS_4M.fd ]; then
	expect 0 "$ctl" firmware enroll --cert keys/cert.pem --out vars.fd \
		--owner 0B1A6A3C-6F0E-4A53-9E1C-68766970650A
	[ -s vars.fd ] && ok || bad "firmware enroll wrote no vars.fd"
else
	echo "skip: firmware enroll with the real virt-fw-vars (not installed)"
fi
# A stand-in virt-fw-vars that never finishes: stopping hvipectl must stop it.
mkdir -p fakebin
printf '#!/bin/sh\necho $$ >"$FAKE_PIDFILE"\n: >"$6"\nexec sleep 600\n' >fakebin/virt-fw-vars
chmod +x fakebin/virt-fw-vars
# start_enroll: run hvipectl in the background with the stand-in; sets hpid, fpid
start_enroll() {
	rm -f fake.pid
	PATH="$work/fakebin:$PATH" FAKE_PIDFILE="$work/fake.pid" \
		"$ctl" firmware enroll --cert keys/cert.pem --out "$work/hang.fd" 2>enroll.err &
	hpid=$!
	for _ in $(seq 600); do [ -s fake.pid ] && break; sleep 0.1; done
	fpid=$(cat fake.pid 2>/dev/null)
}
# gone PID: no such process, or only a zombie waiting for init
gone() { [ ! -e "/proc/$1" ] || [ "$(sed 's/^.*) //' "/proc/$1/stat" | cut -c1)" = Z ]; }
start_enroll
if [ -n "$fpid" ]; then
	kill -TERM "$hpid"; wait "$hpid"
	[ $? -eq 143 ] && ok || bad "hvipectl did not end by SIGTERM"
	gone "$fpid" && ok || { bad "virt-fw-vars $fpid outlived hvipectl's SIGTERM"; kill -KILL "$fpid"; }
	ls hang.fd.tmp* >/dev/null 2>&1 && bad "SIGTERM left a temporary store" || ok
else
	bad "stand-in virt-fw-vars did not start"; kill -KILL "$hpid"
fi
start_enroll
if [ -n "$fpid" ]; then
	kill -KILL "$hpid"; wait "$hpid" 2>/dev/null
	for _ in $(seq 300); do gone "$fpid" && break; sleep 0.1; done
	gone "$fpid" && ok || { bad "virt-fw-vars $fpid outlived a killed hvipectl"; kill -KILL "$fpid"; }
else
	bad "stand-in virt-fw-vars did not start"; kill -KILL "$hpid"
fi

echo "test-ctl-policy: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
