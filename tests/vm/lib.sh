# SPDX-License-Identifier: Apache-2.0
# Shell helpers for the end-to-end scenarios and the demo (sourced, bash).
#
# Every process is started through e2e_bg in its own process group and
# recorded; an EXIT trap stops them all (TERM, then KILL after 10 s), also
# when a step fails. Waiting is always "poll until true or a generous
# deadline": nothing asserts on how fast a TCG guest is.

E2E_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
O=${O:-build}
case $O in /*) ;; *) O=$E2E_TOP/$O ;; esac
BIN=$O/bin
IMG=${HVIPE_IMAGE_DIR:-$O/images/minimal}
KEYS=${HVIPE_KEYS:-$E2E_TOP/var/keys}
E2E_PIDS=()
E2E_T0=$(date +%s.%N)

e2e_log() { printf '%s\n' "e2e: $*" >&2; }
e2e_die() {
	printf '%s\n' "e2e: FAILED: $*" >&2
	exit 1
}

# e2e_init NAME: a scratch directory $W and the cleanup trap.
e2e_init() {
	if [ -n "${E2E_DIR:-}" ]; then
		rm -rf "$E2E_DIR"
		mkdir -p "$E2E_DIR"
		W=$(cd "$E2E_DIR" && pwd)
	else
		W=$(mktemp -d "/tmp/hvipe-e2e-$1.XXXXXX")
	fi
	E2E_NAME=$1
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
}

e2e_cleanup() {
	local rc=$? i pid
	# A hook for what is not a child process (a libvirt domain).
	[ -z "${E2E_EXTRA_CLEANUP:-}" ] || "$E2E_EXTRA_CLEANUP" || true
	for ((i = ${#E2E_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${E2E_PIDS[$i]}
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	done
	for ((i = ${#E2E_PIDS[@]} - 1; i >= 0; i--)); do
		pid=${E2E_PIDS[$i]}
		for _ in $(seq 1 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	E2E_PIDS=()
	if [ "$rc" -ne 0 ] && [ -n "${W:-}" ]; then
		e2e_log "logs kept in $W"
		for f in "$W"/*.log; do
			[ -f "$f" ] || continue
			echo "---- tail $f" >&2
			tail -n 25 "$f" >&2
		done
	elif [ -n "${W:-}" ] && [ -z "${E2E_KEEP:-}" ]; then
		rm -rf "$W"
	fi
	return "$rc"
}

# e2e_bg NAME CMD...: start CMD in its own process group, output to $W/NAME.log.
# Sets E2E_LAST_PID.
e2e_bg() {
	local name=$1
	shift
	setsid "$@" >"$W/$name.log" 2>&1 </dev/null &
	E2E_LAST_PID=$!
	E2E_PIDS+=("$E2E_LAST_PID")
}

# e2e_stop PID: stop one process (group) started by e2e_bg, and forget it.
e2e_stop() {
	local pid=$1 i
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for i in "${!E2E_PIDS[@]}"; do
		[ "${E2E_PIDS[$i]}" = "$pid" ] && unset "E2E_PIDS[$i]"
	done
	E2E_PIDS=("${E2E_PIDS[@]}")
}

# wait_for SECONDS WHAT CMD...: poll CMD every 0.5 s until it succeeds.
wait_for() {
	local secs=$1 what=$2 end
	shift 2
	end=$(($(date +%s) + secs))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || e2e_die "timed out after ${secs}s waiting for: $what"
		sleep 0.5
	done
}

# Seconds since the start, for timelines.
e2e_elapsed() { echo "$(date +%s.%N) $E2E_T0" | awk '{printf "%6.1f", $1 - $2}'; }
timeline() { printf '[%ss] %s\n' "$(e2e_elapsed)" "$*"; }

# ---- hvipe-hostd and hvipectl ----

ensure_keys() {
	if [ ! -f "$KEYS/key.pem" ]; then
		mkdir -p "$KEYS"
		"$BIN/hvipectl" key generate --out "$KEYS" >/dev/null
	fi
}

# hostd_start [EXTRA ARGS]: state in $W/state (kept across restarts).
hostd_start() {
	mkdir -p "$W/state"
	e2e_bg hostd "$BIN/hvipe-hostd" --state-dir "$W/state" --db "$W/state/hvipe.db" \
		--key "$KEYS/key.pem" --cert "$KEYS/cert.pem" --control-socket "$W/hostd.sock" \
		--heartbeat-ms "${HEARTBEAT_MS:-1000}" --log-level info "$@"
	HOSTD_PID=$E2E_LAST_PID
	# Keep every hostd log: a restart appends.
	wait_for 30 "hvipe-hostd control socket" ctl status
}

hostd_stop() {
	e2e_stop "$HOSTD_PID"
	cat "$W/hostd.log" >>"$W/hostd-all.log"
}

ctl() { "$BIN/hvipectl" --socket "$W/hostd.sock" "$@"; }

# vm_field VM JQ: one field of 'vm show --json'.
vm_field() { ctl vm show "$1" --json | jq -r "$2"; }

# ---- guests ----
#
# vm_boot NAME IMAGE [run-vm options]: boot IMAGE with vm-images/run-vm (its
# hvipe-vsockd and QEMU), state in $W/NAME, hybrid-vsock base $W/NAME/vsock,
# QMP at $W/NAME/qmp.sock. The serial console is run-vm's stdio: input from
# the FIFO $W/NAME.in (held open by this shell, fd in CON_FD_<NAME>), output
# appended to $W/NAME.console.log. Sets VM_PID_<NAME>.
vm_boot() {
	local name=$1 image=$2 fd
	shift 2
	mkdir -p "$W/$name"
	[ -p "$W/$name.in" ] || mkfifo "$W/$name.in"
	exec {fd}<>"$W/$name.in"
	eval "CON_FD_${name//-/_}=$fd"
	: >>"$W/$name.console.log"
	setsid "$E2E_TOP/vm-images/run-vm" "$image" --state "$W/$name" --uds "$W/$name/vsock" \
		--qmp "$W/$name/qmp.sock" --accel "${HVIPE_ACCEL:-tcg}" "$@" \
		<"$W/$name.in" >>"$W/$name.console.log" 2>>"$W/$name.run-vm.log" &
	E2E_PIDS+=("$!")
	eval "VM_PID_${name//-/_}=$!"
}

# vm_halt NAME: stop a guest started by vm_boot (run-vm stops its QEMU and
# hvipe-vsockd).
vm_halt() {
	local pidvar="VM_PID_${1//-/_}"
	e2e_stop "${!pidvar}"
}

vm_qmp() { # vm_qmp NAME COMMAND: one QMP command, prints the reply line
	printf '{"execute":"qmp_capabilities"}\n{"execute":"%s"}\n' "$2" |
		socat -t 5 - "UNIX-CONNECT:$W/$1/qmp.sock" | grep '"return"' | tail -n 1
}
vm_qmp_status() { vm_qmp "$1" query-status | jq -r .return.status; }

# ---- the guest's serial console as a command channel ----
console_has() { grep -aq -- "$2" "$W/$1.console.log"; }

# guest_send NAME CMD: type CMD without waiting for it to finish.
guest_send() {
	local fdvar="CON_FD_${1//-/_}"
	printf '%s\n' "$2" >&"${!fdvar}"
}

E2E_SEQ=0
# guest_run NAME SECONDS CMD: run CMD in the guest's console shell; sets
# GUEST_OUT to what it printed (with the echoed command line) and returns
# its exit status. The end marker is split in the typed command so that the
# terminal's echo of the command does not match it.
guest_run() {
	local name=$1 secs=$2 cmd=$3 n fdvar fd log start end rc
	n=$((++E2E_SEQ))
	fdvar="CON_FD_${name//-/_}"
	fd=${!fdvar}
	log="$W/$name.console.log"
	start=$(($(stat -c %s "$log") + 1))
	printf '%s; echo "@@E2""E_%s_rc=$?@@"\n' "$cmd" "$n" >&"$fd"
	end=$(($(date +%s) + secs))
	while ! tail -c "+$start" "$log" | grep -aq "@@E2E_${n}_rc="; do
		[ "$(date +%s)" -lt "$end" ] || e2e_die "guest $name: no answer to '$cmd' in ${secs}s"
		sleep 0.3
	done
	GUEST_OUT=$(tail -c "+$start" "$log" | tr -d '\r')
	rc=$(printf '%s\n' "$GUEST_OUT" | sed -n "s/.*@@E2E_${n}_rc=\([0-9]*\)@@.*/\1/p" | head -n1)
	return "${rc:-255}"
}
