#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Integration tests of hvipe-hostd: the real daemon, driven over Unix sockets
# by hvipe-testguest (one simulated guest that can misbehave), hostd-sim (many
# guests) and hvipectl. Each check prints "ok - ..." or "not ok - ...".
# Waits poll for a condition with a generous limit; no assertion is timed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}
case $O in /*) ;; *) O=$top/$O ;; esac
BIN=$O/bin
TB=$O/test
T=$(mktemp -d /tmp/hvipe-hostd-it.XXXXXX)
LOG=$T/hostd.log
export HVIPE_SOCKET=$T/ctl.sock
# A vsock port of our own: hostd refuses to start when another daemon owns
# its port, and other test runs may share this machine. Unix socket names
# end in _<port>.
PORT=${HVIPE_TEST_PORT:-$((20000 + $$ % 30000))}
pids=()
pass=0
fail=0

cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "$fail" -ne 0 ] || [ -n "${KEEP:-}" ]; then
		echo "state kept in $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

ok() { echo "ok - $1"; pass=$((pass + 1)); }
nok() {
	echo "not ok - $1"
	fail=$((fail + 1))
}
check() { # description command...
	local d=$1
	shift
	if "$@"; then ok "$d"; else nok "$d"; fi
}
wait_for() { # seconds command...
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}
has() { grep -q -- "$2" "$1"; }
logcount() { grep -c -- "$1" "$LOG"; }

H1=$(printf '1%.0s' {1..64})
H2=$(printf '2%.0s' {1..64})
H3=$(printf '3%.0s' {1..64})

mkdir -p "$T/keys" "$T/state"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/keys/key.pem" \
	-out "$T/keys/cert.pem" -subj /CN=hvipe-hostd-test -days 30 2>/dev/null
chmod 600 "$T/keys/key.pem"

HPID=
start_hostd() {
	"$BIN/hvipe-hostd" --config /dev/null --state-dir "$T/state" --key "$T/keys/key.pem" \
		--cert "$T/keys/cert.pem" --control-socket "$T/ctl.sock" --heartbeat-ms 500 \
		--deadline-ms 5000 --hello-ms 3000 --vsock-port "$PORT" "$@" >>"$LOG" 2>&1 &
	HPID=$!
	pids+=("$HPID")
	wait_for 60 test -S "$T/ctl.sock" && wait_for 60 "$BIN/hvipectl" vm list >/dev/null 2>&1
}
stop_hostd() {
	kill -TERM "$HPID" 2>/dev/null
	wait "$HPID" 2>/dev/null
}
guest() { # vm args... (output in $T/out)
	local vm=$1
	shift
	timeout 60 "$TB/hvipe-testguest" --connect "$T/${vm}_$PORT" --timeout-ms 30000 "$@" >"$T/out" 2>&1
}

echo "# hvipe-hostd integration tests in $T"
check "hostd starts and answers the control socket" start_hostd
check "vsock listener failure, if any, is logged and not fatal" \
	grep -q "step=listen socket=vsock:$PORT" "$LOG"

# --- registration through hvipectl -------------------------------------------
# The simulated guest has no BPF guard: these VMs do not require one
# (vm add defaults to --require-guard yes; make test-guard covers the guard).
check "vm add g1 with a Unix base path" "$BIN/hvipectl" vm add g1 --uds "$T/g1" --require-guard no
check "hostd listens on <base>_$PORT" wait_for 10 test -S "$T/g1_$PORT"
check "image add img1" "$BIN/hvipectl" image add img1 --root-hash "$H1"
check "image approve img1 for g1" "$BIN/hvipectl" image approve img1 --vm g1
"$BIN/hvipectl" vm add g1 --uds "$T/g1x" 2>/dev/null
check "vm add of an existing name is refused (exit 1)" test $? -eq 1
"$BIN/hvipectl" vm add 2>/dev/null
check "hvipectl usage error exits 2" test $? -eq 2
"$BIN/hvipectl" --socket "$T/nowhere.sock" vm list 2>/dev/null
check "hvipectl --socket to a missing daemon exits 3" test $? -eq 3
"$BIN/hvipectl" image add bad --root-hash abc 2>/dev/null
check "a root hash of the wrong length is refused" test $? -eq 1
"$BIN/hvipectl" audit --vm nope 2>"$T/err"
check "audit --vm of an unknown VM is refused (exit 1)" test $? -eq 1
check "audit --vm nope says no VM named 'nope', once" grep -qx "hvipectl: no VM named 'nope'" "$T/err"
"$BIN/hvipectl" vm show nope 2>"$T/err"
check "vm show of an unknown VM names it (exit 1)" grep -qx "hvipectl: no VM named 'nope'" "$T/err"
"$BIN/hvipectl" image approve img1 --vm nope 2>"$T/err"
check "image approve --vm nope names the VM" grep -qx "hvipectl: no VM named 'nope'" "$T/err"

# --- root-hash signatures -----------------------------------------------------
# As vm-images/build-image makes them: detached, DER, no signed attributes,
# over the lower-case hex root hash without a newline.
H5=$(printf '5%.0s' {1..64})
HS=$(printf 'a5%.0s' {1..32})
sigfail() { # name file description
	"$BIN/hvipectl" image add "$1" --root-hash "$HS" --signature "$2" 2>"$T/sig.err"
	check "image add with $3 is refused (exit 1)" test $? -eq 1
	check "$3: the reason is named" grep -q "signature does not verify over the root hash with the host certificate: $4" "$T/sig.err"
	check "$3: nothing is stored" bash -c "! '$BIN/hvipectl' image list | grep -q '^$1 '"
}
printf 'this is not a signature\n' >"$T/garbage.sig"
sigfail sbad "$T/garbage.sig" "a plain-text signature file" 'not DER PKCS#7/CMS'
check "log: the refusal is logged once with its reason" \
	test "$(logcount 'image=sbad step=control op=image_add verdict=refused reason="signature does not verify')" -eq 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/keys/other.key" \
	-out "$T/keys/other.pem" -subj /CN=not-the-host -days 30 2>/dev/null
printf '%s' "$HS" >"$T/hs.txt"
cms_sign() { # in out key cert [extra openssl args]
	local in=$1 out=$2 key=$3 cert=$4
	shift 4
	openssl cms -sign -in "$in" -signer "$cert" -inkey "$key" -noattr -binary -md sha256 \
		-outform DER -out "$out" "$@"
}
cms_sign "$T/hs.txt" "$T/other.sig" "$T/keys/other.key" "$T/keys/other.pem"
sigfail sother "$T/other.sig" "a signature made with another key" 'certificate verify error'
printf '%s\n' "$HS" >"$T/hs-nl.txt"
cms_sign "$T/hs-nl.txt" "$T/nl.sig" "$T/keys/key.pem" "$T/keys/cert.pem"
sigfail snl "$T/nl.sig" "a signature over the root hash and a newline" 'content verify error'
cms_sign "$T/hs.txt" "$T/h5.sig" "$T/keys/key.pem" "$T/keys/cert.pem"
"$BIN/hvipectl" image add sh5 --root-hash "$H5" --signature "$T/h5.sig" 2>/dev/null
check "a signature over another root hash is refused (exit 1)" test $? -eq 1
cms_sign "$T/hs.txt" "$T/attached.sig" "$T/keys/key.pem" "$T/keys/cert.pem" -nodetach
sigfail satt "$T/attached.sig" "a signature with the content attached" 'content attached'
cms_sign "$T/hs.txt" "$T/good.sig" "$T/keys/key.pem" "$T/keys/cert.pem"
check "a detached signature by the host key over the root hash is accepted" \
	"$BIN/hvipectl" image add ssigned --root-hash "$HS" --signature "$T/good.sig"
"$BIN/hvipectl" image list --json >"$T/images-sig.json"
check "image list: the signed image shows signed" grep -q '{"name":"ssigned","alg":"sha256","root_hash":"'"$HS"'","signed":true' "$T/images-sig.json"
check "log: image_add signed=yes" has "$LOG" 'image=ssigned step=control op=image_add alg=sha256 root_hash=[0-9a-f]* signed=yes'

for cid in 1 2 4294967295; do
	"$BIN/hvipectl" vm add "cid$cid" --cid "$cid" --require-guard no 2>"$T/err"
	check "vm add --cid $cid (reserved) is refused (exit 1)" test $? -eq 1
	check "vm add --cid $cid: the message says the CID is reserved" \
		has "$T/err" "CID $cid is reserved (1 local, 2 host, 4294967295 any): guest CIDs are 3 to 4294967294, 0 for none"
done
for name in . ..; do
	"$BIN/hvipectl" vm add "$name" --uds "$T/dot" --require-guard no 2>"$T/err"
	check "vm add '$name' is refused (exit 1)" test $? -eq 1
	check "vm add '$name': the message says why" has "$T/err" "not '\.' or '\.\.'"
done
"$BIN/hvipectl" vm list >"$T/list.txt"
check "none of the refused VMs was stored" bash -c "! grep -Eq '^(cid1|cid2|cid4294967295|\.|\.\.) ' '$T/list.txt'"

# --- one daemon per database ---------------------------------------------------
second() { # args... (a second hostd in the foreground, at most 60 s; status in $rc)
	timeout 60 "$BIN/hvipe-hostd" --config /dev/null --key "$T/keys/key.pem" \
		--cert "$T/keys/cert.pem" "$@" >>"$LOG" 2>&1
	rc=$?
}
second --state-dir "$T/state" --control-socket "$T/ctl2.sock" --vsock-port "$PORT"
check "a second hostd on the same state dir is refused (exit 1)" test $rc -eq 1
check "log: the state dir is in use by the first daemon's pid" \
	has "$LOG" "reason=\"state dir $T/state is in use by pid $HPID\""
check "the second hostd created no control socket" test ! -e "$T/ctl2.sock"
check "the first daemon still answers on its control socket" "$BIN/hvipectl" vm list
check "the first daemon's VM socket is still there" test -S "$T/g1_$PORT"
mkdir -p "$T/state2"
second --state-dir "$T/state2" --db "$T/state/hvipe.db" --control-socket "$T/ctl2.sock" \
	--vsock-port "$PORT"
check "a second hostd on the same database from elsewhere is refused (exit 1)" test $rc -eq 1
check "log: the database is in use by the first daemon's pid" \
	has "$LOG" "reason=\"database $T/state/hvipe.db is in use by pid $HPID\""
if grep -q "step=listen socket=vsock:$PORT\$" "$LOG"; then
	second --state-dir "$T/state2" --control-socket "$T/ctl3.sock" --vsock-port "$PORT"
	check "a second hostd on a vsock port in use is refused (exit 1)" test $rc -eq 1
	check "log: the vsock port belongs to another hostd" \
		has "$LOG" "step=listen socket=vsock:$PORT verdict=refused reason=\"Address already in use: another hvipe-hostd owns this port"
	check "the refused hostd removed its control socket" test ! -e "$T/ctl3.sock"
else
	echo "ok - # skip vsock port in use (no vsock on this host)"
fi
check "the first daemon still answers after the refusals" "$BIN/hvipectl" vm list

# --- SIGHUP is noted, not fatal ------------------------------------------------
kill -HUP "$HPID"
check "log: SIGHUP is noted and ignored" \
	wait_for 30 grep -q 'step=signal signal=SIGHUP pid=[0-9]* verdict=ignored' "$LOG"
check "hostd is still running after SIGHUP" kill -0 "$HPID"
check "hostd still answers after SIGHUP" "$BIN/hvipectl" vm list
check "g1's socket is still there after SIGHUP" test -S "$T/g1_$PORT"

# --- the control socket's client table ----------------------------------------
# holders.py PATH N busy|idle: N connections; "busy" ones send a request
# (seq only: answered with an error, which is all they need) every second and
# read the answer, "idle" ones never send a byte. Prints "held" once all are up.
cat >"$T/holders.py" <<'PY'
import socket, struct, sys, time
path, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
req = struct.pack(">I", 2) + bytes([0x08, 0x01])
def ask(s):
    s.sendall(req)
    hdr = b""
    while len(hdr) < 4:
        hdr += s.recv(4 - len(hdr))
    left = struct.unpack(">I", hdr)[0]
    while left:
        left -= len(s.recv(left))
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    socks.append(s)
    if mode == "busy":
        ask(s)
print("held", flush=True)
while True:
    time.sleep(1)
    if mode == "busy":
        for s in socks:
            ask(s)
PY
python3 "$T/holders.py" "$T/ctl.sock" 64 busy >"$T/busy.out" 2>&1 &
holders=$!
pids+=("$holders")
wait_for 60 has "$T/busy.out" '^held'
"$BIN/hvipectl" status >/dev/null 2>"$T/busy.err"
check "a client beyond the 64 active ones is refused (exit 3)" test $? -eq 3
check "hvipectl says why: too many clients" has "$T/busy.err" 'too many clients (64 connections open)'
for i in $(seq 1 30); do "$BIN/hvipectl" status >/dev/null 2>&1; done
check "31 refusals do not log 31 lines" test "$(logcount 'reason="too many clients"')" -lt 10
check "log: a refusal line counts the refused clients" \
	has "$LOG" 'step=control uid=[0-9]* verdict=refused reason="too many clients" open=64 refused=[0-9]*'
kill "$holders"
wait "$holders" 2>/dev/null
check "once the clients leave, hvipectl is served again" wait_for 60 "$BIN/hvipectl" status
python3 "$T/holders.py" "$T/ctl.sock" 64 idle >"$T/idle.out" 2>&1 &
holders=$!
pids+=("$holders")
wait_for 60 has "$T/idle.out" '^held'
quiet_status() { "$BIN/hvipectl" status >/dev/null 2>&1; }
check "64 silent connections do not lock hvipectl out" wait_for 60 quiet_status
check "log: silent connections are closed" \
	has "$LOG" 'step=control uid=[0-9]* verdict=closed reason="no complete request within 5000 ms"'
kill "$holders"
wait "$holders" 2>/dev/null

# --- full attestation ---------------------------------------------------------
guest g1 --root-hash "$H1" --cert "$T/keys/cert.pem" --dump-policy "$T/p1.txt" \
	--state "$T/g1.state" --heartbeats 3 --daemon
check "first verdict: policy missing, policy follows" has "$T/out" 'verdict trusted=0 findings=policy_missing policy_follows=1'
check "policy 1.0.1 delivered, signature verifies against the host cert" has "$T/out" 'policy version=1.0.1 bytes=[0-9]* verified=1'
check "PolicyResult acknowledged" has "$T/out" '^ack ref=3 err=0'
check "later verdicts trusted" has "$T/out" 'verdict trusted=1 findings=- policy_follows=0'
check "policy text is named hvipe, version 1.0.1" has "$T/p1.txt" '^policy_name=hvipe policy_version=1.0.1$'
check "policy denies EXECUTE by default" has "$T/p1.txt" '^DEFAULT op=EXECUTE action=DENY$'
check "policy denies KEXEC_INITRAMFS by default" has "$T/p1.txt" '^DEFAULT op=KEXEC_INITRAMFS action=DENY$'
check "policy allows the approved root hash for EXECUTE" has "$T/p1.txt" "^op=EXECUTE dmverity_roothash=sha256:$H1 action=ALLOW$"
check "policy allows the approved root hash for KMODULE" has "$T/p1.txt" "^op=KMODULE dmverity_roothash=sha256:$H1 action=ALLOW$"
check "log: policy applied" has "$LOG" 'vm=g1 cid=0 step=policy_result verdict=applied version=1.0.1'
cp "$T/g1.state" "$T/g1.state.v1"

# --- status while a guest is attested ----------------------------------------
"$TB/hvipe-testguest" --connect "$T/g1_$PORT" --root-hash "$H1" --state "$T/g1.state" \
	--heartbeats 100000 --daemon --timeout-ms 30000 >"$T/bg.out" 2>&1 &
bg=$!
pids+=("$bg")
status_ok() {
	"$BIN/hvipectl" status --json >"$T/status.json" &&
		grep -q '"name":"g1","cid":0' "$T/status.json" &&
		grep -q '"connected":true,"last_verdict":"trusted"' "$T/status.json" &&
		grep -q '"policy_version":"1.0.1","policy_confirmed":true' "$T/status.json"
}
check "hvipectl status --json: g1 connected, trusted, policy 1.0.1 applied" wait_for 30 status_ok
"$BIN/hvipectl" status >"$T/status.txt"
check "hvipectl status table shows g1 yes trusted 1.0.1" grep -Eq '^g1 +yes +trusted +[0-9TZ:-]+ +1\.0\.1 ' "$T/status.txt"
kill "$bg"
wait "$bg" 2>/dev/null
check "a daemon-mode guest gone for one heartbeat interval is a missed heartbeat" \
	wait_for 60 grep -q 'vm=g1 cid=0 step=heartbeat verdict=violation reason="heartbeat_missed: daemon-mode guest gone for 500 ms"' "$LOG"
check "the violation goes through the log actuator" has "$LOG" 'vm=g1 cid=0 step=act actuator=log action=log result=logged'

# --- findings -----------------------------------------------------------------
guest g1 --root-hash "$H1" --state "$T/g1.state" --wrong-nonce
check "wrong nonce: nonce_mismatch" has "$T/out" 'verdict trusted=0 findings=nonce_mismatch policy_follows=0'
check "log: wrong nonce is a violation" has "$LOG" 'verdict=violation findings=1 reason="nonce_mismatch'
guest g1 --root-hash "$H2" --state "$T/g1.state"
check "unapproved root hash: verity_unapproved" has "$T/out" 'findings=verity_unapproved '
guest g1 --root-hash "$H1" --alg sha512 --state "$T/g1.state"
check "approved hash under another algorithm: verity_wrong_hash" has "$T/out" 'findings=verity_wrong_hash '
guest g1 --root-hash "$H1" --signed --state "$T/g1.state"
check "a signature the host never issued: verity_bad_signature" has "$T/out" 'findings=verity_bad_signature '
guest g1 --root-hash "$H1" --no-enforce --state "$T/g1.state"
check "enforce off: ipe_not_enforcing" has "$T/out" 'findings=ipe_not_enforcing '
guest g1 --root-hash "$H1" --no-ipe --state "$T/g1.state"
check "IPE absent: ipe_absent" has "$T/out" 'findings=ipe_absent '

# --- approvals change the policy; rollback is caught --------------------------
"$BIN/hvipectl" image add img2 --root-hash "$H2" >/dev/null
"$BIN/hvipectl" image approve img2 --vm g1 >/dev/null
guest g1 --root-hash "$H1" --state "$T/g1.state" --cert "$T/keys/cert.pem" --dump-policy "$T/p2.txt"
check "approval change: trusted verdict, then policy 1.0.2 follows" has "$T/out" 'verdict trusted=1 findings=- policy_follows=1'
check "policy 1.0.2 delivered" has "$T/out" 'policy version=1.0.2 '
check "policy 1.0.2 allows both images" grep -q "dmverity_roothash=sha256:$H2" "$T/p2.txt"
guest g1 --root-hash "$H2" --state "$T/g1.state"
check "the newly approved image attests trusted" has "$T/out" 'verdict trusted=1 findings=- '
# The simulated guest refuses a version below its loaded one (ESTALE), as IPE
# does: each reissue below must be above what the guest reports to be applied.
read -r v1 d1 <"$T/g1.state.v1"
guest g1 --root-hash "$H1" --state "$T/g1.state" --report-version "$v1" --report-digest "$d1"
check "rollback to 1.0.1: policy_outdated, and a new policy follows" has "$T/out" 'verdict trusted=0 findings=policy_outdated policy_follows=1'
check "rollback: the host reissues 1.0.3 and the guest applies it" has "$T/out" '^ack ref=3 err=0'
check "rollback: log names the reason" has "$LOG" 'vm=g1 cid=0 step=policy_update policy=hvipe version=1.0.3 .* reason=policy_outdated'
guest g1 --root-hash "$H1" --state "$T/g1.state"
check "rollback: after the reissue the guest is trusted" has "$T/out" 'verdict trusted=1 findings=- policy_follows=0'
guest g1 --root-hash "$H1" --state "$T/g1.state" --report-version 1.0.9 --report-digest "$(printf 'ab%.0s' {1..32})"
check "unknown active digest: policy_mismatch, and a new policy follows" has "$T/out" 'verdict trusted=0 findings=policy_mismatch policy_follows=1'
check "unknown 1.0.9: the new policy is 1.0.10, above it" has "$T/out" 'policy version=1.0.10 '
check "unknown 1.0.9: log says the counter skipped" has "$LOG" 'vm=g1 cid=0 step=issue decision=skip counter=3 issue=10 reason="the guest reports hvipe version 1.0.9: the new one must be above"'
guest g1 --root-hash "$H1" --state "$T/g1.state" --report-version 1.0.4 --report-digest "$(printf 'cd%.0s' {1..32})"
check "a lower unknown version later: the counter never goes back (1.0.11)" has "$T/out" 'policy version=1.0.11 '
guest g1 --root-hash "$H1" --state "$T/g1.state"
check "after the reissues the guest is trusted" has "$T/out" 'verdict trusted=1 findings=- policy_follows=0'

# --- a guest whose policy this store does not know ---------------------------
# vm forget, then the same socket under a new name: the new name's counter
# starts afresh, but the guest still runs the old record's 1.0.4.
E=$(printf 'e%.0s' {1..64})
"$BIN/hvipectl" vm add u1 --uds "$T/u1" --require-guard no >/dev/null
"$BIN/hvipectl" vm forget u1 >/dev/null
"$BIN/hvipectl" vm add u1b --uds "$T/u1" --require-guard no >/dev/null
"$BIN/hvipectl" image approve img1 --vm u1b >/dev/null
wait_for 10 test -S "$T/u1_$PORT"
guest u1 --root-hash "$H1" --state "$T/u1.state" --report-version 1.0.4 --report-digest "$E" \
	--cert "$T/keys/cert.pem" --heartbeats 3 --daemon
check "re-added VM, guest on unknown 1.0.4: mismatch once, a policy follows" has "$T/out" 'verdict trusted=0 findings=policy_mismatch policy_follows=1'
check "re-added VM: the policy is 1.0.5 (above 1.0.4), signed by the host" has "$T/out" 'policy version=1.0.5 bytes=[0-9]* verified=1'
check "re-added VM: the guest applied it" has "$T/out" '^ack ref=3 err=0'
check "re-added VM: the mismatch is in one verdict only" test "$(grep -c policy_mismatch "$T/out")" -eq 1
check "re-added VM: later verdicts are trusted" test "$(grep -c 'verdict trusted=1 findings=- policy_follows=0' "$T/out")" -eq 2
check "re-added VM: the action fired once" test "$(logcount 'vm=u1b cid=0 step=act ')" -eq 1
check "re-added VM: store confirms 1.0.5" wait_for 10 bash -c "'$BIN/hvipectl' vm show u1b | grep -q '^policy: *1.0.5 (applied)$'"
guest u1 --root-hash "$H1" --state "$T/u1.state" --report-version 2.0.0 --report-digest "$E"
check "unknown 2.0.0 (above any 1.x issue): the host issues 2.0.1" has "$T/out" 'policy version=2.0.1 '
guest u1 --root-hash "$H1" --state "$T/u1.state" --report-version 65535.65535.65535 --report-digest "$E"
check "unknown 65535.65535.65535: mismatch, no policy follows" has "$T/out" 'verdict trusted=0 findings=policy_mismatch policy_follows=0'
check "unknown 65535.65535.65535: the verdict says the host cannot issue above it" has "$LOG" 'vm=u1b cid=0 step=verdict .*reason="policy_mismatch: active policy digest differs from the one issued; no reissue: the host cannot issue a version above 65535.65535.65535"'
guest u1 --root-hash "$H1" --state "$T/u1.state" --report-version 1.0.70000 --report-digest "$E"
check "a reported version over 16 bits: mismatch, no policy follows" has "$T/out" 'verdict trusted=0 findings=policy_mismatch policy_follows=0'
check "a reported version over 16 bits: the verdict says why" has "$LOG" "vm=u1b cid=0 step=verdict .*no reissue: reported version '1.0.70000' is not M.m.r"
guest u1 --root-hash "$H1" --state "$T/u1.state" --report-version 65535.65535.65534 --report-digest "$E"
check "unknown 65535.65535.65534: the host issues the last version" has "$T/out" 'policy version=65535.65535.65535 '
guest u1 --root-hash "$H1" --state "$T/u1.state"
check "at the last version the guest is trusted" has "$T/out" 'verdict trusted=1 findings=- policy_follows=0'
"$BIN/hvipectl" image approve img2 --vm u1b >/dev/null
guest u1 --root-hash "$H1" --state "$T/u1.state"
check "counter exhausted: no wrap, the failure is logged" has "$LOG" 'vm=u1b cid=0 step=issue verdict=failed reason="issue counter exhausted'
check "counter exhausted: the verdict promises no policy" has "$T/out" 'verdict trusted=1 findings=- policy_follows=0'
check "counter exhausted: the guest keeps its policy" has "$T/u1.state" '^65535.65535.65535 '

# --- operator verbs ----------------------------------------------------------
check "vm set-action g1 pause" "$BIN/hvipectl" vm set-action g1 pause
"$BIN/hvipectl" vm show g1 --json >"$T/g1.json"
check "vm show --json: action pause" has "$T/g1.json" '"action":"pause"'
"$BIN/hvipectl" vm set-action g1 explode 2>/dev/null
check "vm set-action with an unknown action is refused (exit 1)" test $? -eq 1
"$BIN/hvipectl" vm set-action g1 log >/dev/null
check "vm resume g1" "$BIN/hvipectl" vm resume g1
check "log: resume goes through the actuator" has "$LOG" 'vm=g1 cid=0 step=act actuator=log action=resume result=logged'
"$BIN/hvipectl" image add img3 --root-hash "$H3" >/dev/null
"$BIN/hvipectl" image approve img3 --vm g1 >/dev/null
guest g1 --root-hash "$H3" --state "$T/g1.state"
check "approved img3 runs (after its policy arrives)" has "$T/out" 'verdict trusted=1 '
check "image revoke img3 --vm g1" "$BIN/hvipectl" image revoke img3 --vm g1
guest g1 --root-hash "$H3" --state "$T/g1.state"
check "a revoked image is unapproved again" has "$T/out" 'findings=verity_unapproved '
"$BIN/hvipectl" image list --json >"$T/images.json"
check "image list --json: img1 approved for g1" grep -q '{"name":"img1","alg":"sha256","root_hash":"'"$H1"'","signed":false,"vms":\["g1"' "$T/images.json"

# --- hostile frames -----------------------------------------------------------
"$BIN/hvipectl" vm add g2 --uds "$T/g2" --require-guard no >/dev/null
"$BIN/hvipectl" image approve img1 --vm g2 >/dev/null
"$BIN/hvipectl" vm add g3 --uds "$T/g3" --require-guard no >/dev/null
wait_for 10 test -S "$T/g3_$PORT"
fault() { # name log-pattern
	guest g2 --root-hash "$H1" --fault "$1"
	check "fault $1: connection closed by host" has "$T/out" '^closed by host'
	check "fault $1: logged ($2)" grep -q "vm=g2 .*$2" "$LOG"
}
fault garbage 'reason="malformed frame"'
fault oversized 'reason="frame length out of bounds"'
fault zero 'reason="frame length out of bounds"'
fault unexpected 'reason="unexpected evidence"'
fault flood 'reason="unexpected ack"'
fault stall 'step=hello verdict=dropped reason="no hello in 3000 ms"'
fault silent 'step=heartbeat session=[0-9]* verdict=violation reason="heartbeat_missed: no evidence within 5000 ms"'
guest g2 --root-hash "$H1" --fault truncated
check "fault truncated: connection closed" has "$T/out" '^closed by host'

# A guest stalled mid-frame must not hold up another.
"$TB/hvipe-testguest" --connect "$T/g3_$PORT" --root-hash "$H1" --fault stall --timeout-ms 30000 >"$T/stall.out" 2>&1 &
st=$!
pids+=("$st")
sleep 0.5
guest g1 --root-hash "$H1" --state "$T/g1.state"
check "a stalled guest does not block another's attestation" has "$T/out" 'verdict trusted=1 '
wait "$st" 2>/dev/null
check "the stalled guest is dropped at its deadline" has "$T/stall.out" '^closed by host'

# --- a violation is on disk before the VM is acted on --------------------------
# A stand-in QEMU monitor: the moment hostd connects to pause g4 it reads the
# store (another SQLite reader) and notes whether the violation is already
# there; then it answers like QEMU. Without a commit before the action the
# event sits in hostd's open transaction and this reader cannot see it.
cat >"$T/fakeqmp.py" <<'PY'
import json, os, socket, sqlite3, sys
sock, db, out = sys.argv[1:4]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock)
srv.listen(1)
open(out + ".ready", "w").close()
c, _ = srv.accept()
con = sqlite3.connect("file:" + db + "?mode=ro", uri=True, timeout=5)
n = con.execute("SELECT count(*) FROM events e JOIN vms v ON v.id = e.vm_id "
                "WHERE v.name = 'g4' AND e.kind = 'violation'").fetchone()[0]
con.close()
with open(out, "w") as f:
    f.write("violations_seen_at_connect=%d\n" % n)
f = c.makefile("rw")
f.write('{"QMP": {"version": {}, "capabilities": []}}\n')
f.flush()
for line in f:
    if not line.strip():
        continue
    cmd = json.loads(line).get("execute")
    f.write('{"return": {}}\n')
    f.flush()
    if cmd == "stop":
        with open(out, "a") as o:
            o.write("stopped\n")
        break
PY
"$BIN/hvipectl" vm add g4 --uds "$T/g4" --require-guard no --action pause --actuator qmp \
	--target "$T/qmp4.sock" >/dev/null
"$BIN/hvipectl" image approve img1 --vm g4 >/dev/null
wait_for 10 test -S "$T/g4_$PORT"
python3 "$T/fakeqmp.py" "$T/qmp4.sock" "$T/state/hvipe.db" "$T/qmp4.out" &
pids+=("$!")
wait_for 10 test -e "$T/qmp4.out.ready"
guest g4 --root-hash "$H1" --wrong-nonce
check "g4: a wrong nonce is acted on through QMP (stop)" wait_for 30 grep -qs '^stopped' "$T/qmp4.out"
check "g4: the violation was committed before hostd reached the monitor" \
	grep -q '^violations_seen_at_connect=1$' "$T/qmp4.out"

# --- identity: forgotten VM ---------------------------------------------------
"$TB/hvipe-testguest" --connect "$T/g2_$PORT" --root-hash "$H1" --heartbeats 100000 --daemon \
	--timeout-ms 30000 >"$T/fg.out" 2>&1 &
fg=$!
pids+=("$fg")
wait_for 30 grep -qs '^verdict' "$T/fg.out"
check "vm forget g2" "$BIN/hvipectl" vm forget g2
wait "$fg" 2>/dev/null
check "forgetting a VM drops its connection" has "$T/fg.out" '^closed by host'
check "forgetting a VM removes its socket" test ! -e "$T/g2_$PORT"
guest g2 --root-hash "$H1"
check "an unknown peer cannot connect" has "$T/out" '^connect failed'
check "log: drop reason is the forget" has "$LOG" 'vm=g2 cid=0 step=close session=[0-9]* state=idle reason="vm forgotten"'

# --- audit records ------------------------------------------------------------
guest g1 --root-hash "$H1" --state "$T/g1.state" --audit 'ipe_op=EXECUTE action=DENY comm="evil"'
check "audit batch acknowledged" has "$T/out" '^ack ref=3 err=0'
"$BIN/hvipectl" audit --vm g1 >"$T/audit.txt"
check "hvipectl audit --vm g1 lists the record" grep -q 'g1 type=1420 ipe_op=EXECUTE action=DENY comm=\\x22evil\\x22' "$T/audit.txt"

# --- 1,000 concurrent clients -------------------------------------------------
mkdir -p "$T/sim"
"$TB/hostd-sim" --port "$PORT" --control "$T/ctl.sock" --dir "$T/sim" --register --n 1000 --prefix c \
	--seconds 4 --warmup 3 >"$T/sim.out" 2>&1
check "1,000 concurrent simulated guests all attested" has "$T/sim.out" 'sim guests=1000 attested=1000 .* dropped=0 connect_failed=0'
cat "$T/sim.out"

# --- control answers larger than a guest frame -----------------------------------
# 3,000 more VMs with long names: vm list and status no longer fit in
# HV_PROTO_MAX_FRAME (256 KiB) and use the control socket's own limit.
LP=a-rather-long-vm-name-for-a-big-listing-
mkdir -p "$T/many"
"$TB/hostd-sim" --port "$PORT" --control "$T/ctl.sock" --dir "$T/many" --register --n 3000 \
	--prefix "$LP" --seconds 0 >"$T/many.out" 2>&1
check "3,000 VMs with long names registered" test $? -eq 0
"$BIN/hvipectl" vm list >"$T/many.txt" 2>"$T/many.err"
check "vm list succeeds with 4,000 VMs" test $? -eq 0
check "vm list shows all 3,000 long-named VMs" test "$(grep -c "^$LP" "$T/many.txt")" -eq 3000
check "the listing is larger than a guest frame" test "$(stat -c %s "$T/many.txt")" -gt 262144
"$BIN/hvipectl" status --json >"$T/many.json" 2>"$T/many.err"
check "status --json succeeds with 4,000 VMs" test $? -eq 0
check "status --json counts all 3,000 long-named VMs" \
	test "$(grep -o "\"name\":\"$LP[0-9]*\"" "$T/many.json" | sort -u | wc -l)" -eq 3000

# --- signature mode when root hashes do not fit -------------------------------
"$TB/hostd-sim" --port "$PORT" --control "$T/ctl.sock" --dir "$T" --register --n 1 --prefix big --images 700 \
	--seconds 0 >"$T/big.out" 2>&1
check "700 images approved for VM big0" test $? -eq 0
guest big0 --root-hash "$H1" --cert "$T/keys/cert.pem" --dump-policy "$T/pbig.txt"
check "big0: a policy is delivered" has "$T/out" 'policy version=1.0.1 .* verified=1'
check "big0: the policy uses dmverity_signature=TRUE" has "$T/pbig.txt" '^op=EXECUTE dmverity_signature=TRUE action=ALLOW$'
check "big0: no root-hash rules in it" bash -c "! grep -q dmverity_roothash '$T/pbig.txt'"
check "log: switch to signature mode" has "$LOG" 'vm=big0 cid=0 step=compose decision=signature_mode reason="70[01] root hashes exceed'
"$BIN/hvipectl" vm show big0 >"$T/big.show"
check "vm show big0: mode signature (persisted)" has "$T/big.show" '^mode: *signature$'

# --- restart with state preserved ---------------------------------------------
pv=$("$BIN/hvipectl" vm show g1 | awk '/^policy:/ {print $2}')
stop_hostd
# A signature stored before image add checked them: kept, but not counted.
python3 - "$T/state/hvipe.db" "$T/garbage.sig" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("INSERT INTO images(name, alg, root_hash, signature, created_at) VALUES(?,?,?,?,0)",
            ("sforged", "sha256", "b6" * 32, open(sys.argv[2], "rb").read()))
con.commit()
PY
check "hostd restarts" start_hostd
check "restart: a stored signature that does not verify is named in the log" has "$LOG" 'image=sforged step=load signature=ignored reason="signature does not verify over the root hash with the host certificate: not DER'
"$BIN/hvipectl" image list --json >"$T/images-restart.json"
check "restart: ... and the image is not listed as signed" grep -q '{"name":"sforged","alg":"sha256","root_hash":"[0-9a-f]*","signed":false' "$T/images-restart.json"
check "restart: a verified signature still counts" grep -q '{"name":"ssigned","alg":"sha256","root_hash":"[0-9a-f]*","signed":true' "$T/images-restart.json"
"$BIN/hvipectl" vm show g1 >"$T/g1.show"
check "restart keeps VM g1 and its approvals" grep -Eq '^images: +(img1 img2|img2 img1)$' "$T/g1.show"
check "restart keeps the issued policy version ($pv)" grep -q "^policy: *$pv (applied)$" "$T/g1.show"
guest g1 --root-hash "$H1" --state "$T/g1.state"
check "after restart the guest's policy still matches (no reissue)" has "$T/out" 'verdict trusted=1 findings=- policy_follows=0'
guest g1 --root-hash "$H1" --cert "$T/keys/cert.pem"
next=1.0.$((${pv##*.} + 1))
check "after restart a new issue continues the counter ($next, never reused)" grep -q "policy version=$next " "$T/out"

# --- kill -9 during writes -----------------------------------------------------
: >"$T/acked"
(
	for i in $(seq 1 400); do
		"$BIN/hvipectl" image add "k$i" --root-hash "$(printf '%064x' "$i")" >/dev/null 2>&1 &&
			echo "k$i" >>"$T/acked"
	done
) &
writer=$!
pids+=("$writer")
guest g1 --root-hash "$H1" --state "$T/g1.state" --audit 'kill9-audit-record'
audit_acked=$(grep -c '^ack ref=3 err=0' "$T/out")
wait_for 120 bash -c "[ \$(wc -l <'$T/acked') -ge 30 ]"
{
	kill -9 "$HPID"
	wait "$HPID"
} 2>/dev/null
wait "$writer" 2>/dev/null
n_acked=$(wc -l <"$T/acked")
rm -f "$T/ctl.sock"
check "hostd restarts after kill -9" start_hostd
"$BIN/hvipectl" image list >"$T/images.txt"
lost=0
while read -r name; do grep -q "^$name " "$T/images.txt" || lost=$((lost + 1)); done <"$T/acked"
check "kill -9: all $n_acked acknowledged image adds survived (lost $lost)" test "$lost" -eq 0 -a "$n_acked" -ge 30
"$BIN/hvipectl" audit --vm g1 >"$T/audit2.txt"
check "kill -9: the acknowledged audit record survived" test "$audit_acked" -eq 1 -a "$(grep -c kill9-audit-record "$T/audit2.txt")" -eq 1

# --- a damaged database is refused, untouched -----------------------------------
stop_hostd
hostd_on() { # state-dir args... (runs in the foreground, at most 60 s; exit status in $rc)
	local dir=$1
	shift
	timeout 60 "$BIN/hvipe-hostd" --config /dev/null --state-dir "$dir" --key "$T/keys/key.pem" \
		--cert "$T/keys/cert.pem" --vsock-port "$PORT" "$@" >>"$LOG" 2>&1
	rc=$?
}
mkdir -p "$T/corrupt" "$T/badrow"
cp "$T/state/hvipe.db" "$T/corrupt/hvipe.db"
check "the database copy holds more than 25 pages" test "$(stat -c %s "$T/corrupt/hvipe.db")" -gt $((26 * 4096))
dd if=/dev/urandom of="$T/corrupt/hvipe.db" bs=4096 seek=20 count=5 conv=notrunc 2>/dev/null
sum=$(sha256sum <"$T/corrupt/hvipe.db")
hostd_on "$T/corrupt" --control-socket "$T/corrupt.sock"
check "a database with damaged pages is refused (exit 1)" test $rc -eq 1
check "log: names the database and SQLite's complaint" \
	has "$LOG" "step=start db=$T/corrupt/hvipe.db verdict=refused reason=\"integrity check failed: [^\"]"
check "the damaged database is left as it was" test "$(sha256sum <"$T/corrupt/hvipe.db")" = "$sum"
check "no control socket for a refused database" test ! -e "$T/corrupt.sock"
# A row the loader cannot use stops the start instead of being skipped.
cp "$T/state/hvipe.db" "$T/badrow/hvipe.db"
python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE policies SET digest = x\x2700\x27 WHERE vm_id = (SELECT id FROM vms WHERE name = \x27g1\x27)")
db.commit()' "$T/badrow/hvipe.db"
hostd_on "$T/badrow" --control-socket "$T/badrow.sock"
check "a policy row with a bad digest refuses the start (exit 1)" test $rc -eq 1
check "log: names the VM, the table and the row" \
	has "$LOG" 'vm=g1 step=load table=policies issue=[0-9]* reason="digest is 1 bytes, not 32"'
check "no control socket for a database with a bad row" test ! -e "$T/badrow.sock"

# --- configuration ------------------------------------------------------------
stop_hostd
chmod 640 "$T/keys/key.pem"
"$BIN/hvipe-hostd" --config /dev/null --state-dir "$T/state" --key "$T/keys/key.pem" \
	--cert "$T/keys/cert.pem" --control-socket "$T/ctl.sock" >>"$LOG" 2>&1
rc=$?
chmod 600 "$T/keys/key.pem"
check "refuses to start with a group-readable key (exit 1)" test $rc -eq 1
check "log: why it refused" has "$LOG" 'verdict=refused reason="key file is readable by group or others'
printf '[hostd]\nheartbeat-ms = 700\nbogus = 1\n' >"$T/bad.conf"
"$BIN/hvipe-hostd" --config "$T/bad.conf" --state-dir "$T/state" >>"$LOG" 2>&1
check "an unknown config key is refused (exit 2)" test $? -eq 2
check "log: the unknown key is named with its file and line" \
	has "$LOG" "step=config file=$T/bad.conf line=3 reason=\"unknown key 'bogus'\""
conf_refused() { # description file-text log-pattern
	printf "$2" >"$T/c.conf"
	"$BIN/hvipe-hostd" --config "$T/c.conf" --state-dir "$T/state" >>"$LOG" 2>&1
	check "$1 is refused (exit 2)" test $? -eq 2
	check "log: $1, with file and line" has "$LOG" "step=config file=$T/c.conf $3"
}
conf_refused "a section header without ']'" '# x\n[hostd\nheartbeat-ms = 700\n' \
	"line=2 reason=\"malformed section header '\\[hostd'\""
conf_refused "an unknown section" '[Hostd]\nheartbeat-ms = 700\n' \
	'line=1 reason="unknown section \[Hostd\] (the only one is \[hostd\])"'
conf_refused "a comment after a value" '[hostd]\nlog-level = info # chatty\n' \
	"line=2 reason=\"bad value for log-level: 'info # chatty' (comments go on a line of their own)\""
"$BIN/hvipe-hostd" --config "$T/missing.conf" --state-dir "$T/state" >>"$LOG" 2>&1
check "a missing --config file is refused (exit 2)" test $? -eq 2
check "log: the missing file cannot be read" \
	has "$LOG" "step=config file=$T/missing.conf line=0 reason=\"cannot read the file: No such file or directory\""
"$BIN/hvipe-hostd" --help >"$T/help.txt"
check "--help documents --hello-ms" grep -q -- '--hello-ms N' "$T/help.txt"
printf '# test\n[hostd]\nheartbeat-ms = 700\n' >"$T/good.conf"
"$BIN/hvipe-hostd" --config "$T/good.conf" --vsock-port "$PORT" --state-dir "$T/state" --key "$T/keys/key.pem" \
	--cert "$T/keys/cert.pem" --control-socket "$T/ctl.sock" >>"$LOG" 2>&1 &
HPID=$!
pids+=("$HPID")
wait_for 60 "$BIN/hvipectl" vm list >/dev/null 2>&1
guest g1 --root-hash "$H1" --state "$T/g1.state"
check "config file sets heartbeat-ms" has "$T/out" 'heartbeat_ms=700'
stop_hostd
"$BIN/hvipe-hostd" --config "$T/good.conf" --heartbeat-ms 900 --vsock-port "$PORT" --state-dir "$T/state" \
	--key "$T/keys/key.pem" --cert "$T/keys/cert.pem" --control-socket "$T/ctl.sock" >>"$LOG" 2>&1 &
HPID=$!
pids+=("$HPID")
wait_for 60 "$BIN/hvipectl" vm list >/dev/null 2>&1
guest g1 --root-hash "$H1" --state "$T/g1.state"
check "the command line overrides the config file" has "$T/out" 'heartbeat_ms=900'
stop_hostd

# --- socket activation and readiness ------------------------------------------
# The socket is 0600 (SocketMode=0600) while --control-group names our own
# group: hostd keeps systemd's mode and warns that the group cannot use it.
python3 - "$BIN/hvipe-hostd" "$T" "$PORT" "$(id -gn)" >"$T/activate.out" 2>&1 <<'PY'
import os, socket, subprocess, sys, time
hostd, t, port, group = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
path = t + "/sa.sock"
ctl.bind(path); ctl.listen(16)
os.chmod(path, 0o600)
note = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
note.bind(t + "/notify.sock"); note.settimeout(60)
pid = os.fork()
if pid == 0:
    if ctl.fileno() != 3:
        os.dup2(ctl.fileno(), 3)
    os.set_inheritable(3, True)
    env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()),
               NOTIFY_SOCKET=t + "/notify.sock")
    os.execve(hostd, [hostd, "--config", "/dev/null", "--state-dir", t + "/state",
              "--key", t + "/keys/key.pem", "--cert", t + "/keys/cert.pem",
              "--control-socket", t + "/unused.sock", "--vsock-port", port,
              "--control-group", group], env)
ctl.close()
try:
    msg = note.recv(4096).decode()
    print("notify:", msg.replace("\n", " "))
    r = subprocess.run([os.path.dirname(hostd) + "/hvipectl", "--socket", path, "vm", "list"],
                       capture_output=True, text=True, timeout=60)
    print("vm list rc=%d" % r.returncode)
    print(r.stdout)
finally:
    os.kill(pid, 15)
    for _ in range(300):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            print("exit status=%d" % status)
            break
        time.sleep(0.1)
    else:
        print("did not stop on SIGTERM")
        os.kill(pid, 9)
        os.waitpid(pid, 0)
PY
check "sd_notify READY=1 sent" has "$T/activate.out" 'notify: READY=1'
check "socket-activated control socket serves hvipectl --socket" has "$T/activate.out" 'vm list rc=0'
check "log: control socket came from systemd" has "$T/activate.out" 'source=systemd kind=control'
check "no control socket was created when activated" test ! -e "$T/unused.sock"
check "log: an activated socket the control group cannot use is named with the fix" \
	has "$T/activate.out" "step=listen socket=$T/sa.sock source=systemd mode=0600 reason=\"control group $(id -gn) cannot use it: set SocketGroup=$(id -gn) and SocketMode=0660"
check "the activated socket's mode is left as systemd made it" test "$(stat -c %a "$T/sa.sock")" = 600
check "socket-activated hostd stops on SIGTERM" has "$T/activate.out" '^exit status=0$'
cat "$T/activate.out" >>"$LOG"

echo "# hostd integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
