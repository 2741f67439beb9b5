#!/bin/busybox sh
# SPDX-License-Identifier: Apache-2.0
# /init of the guard test guest (busybox initramfs, no IPE policy, no vsock).
# Every check prints "GUARD-TEST ok NAME" or "GUARD-TEST FAIL NAME: why";
# the host-side runner (tests/vm/guard/run) decides from these lines.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t securityfs securityfs /sys/kernel/security
# No bpffs mount: hv_guard_arm mounts it at /sys/fs/bpf when missing.
IPE=/sys/kernel/security/ipe
PIN=/sys/fs/bpf/hvipe-guard
pass=0
fail=0
ok() { echo "GUARD-TEST ok $1"; pass=$((pass + 1)); }
bad() { echo "GUARD-TEST FAIL $1: $2"; fail=$((fail + 1)); }
finish() {
	echo "GUARD-TEST DONE pass=$pass fail=$fail"
	poweroff -f
	sleep 60
}

# refusal count of one kind, as the agent reads it
count() { guard_test status | sed -n "s/^refused=$1 count=\([0-9]*\).*/\1/p"; }

# expect NAME KIND DELTA CMD...: CMD (run as its own process, never PID 1)
# fails with EPERM (or the message in $ERRMSG) and the KIND counter grows by
# exactly DELTA, or by at least N when DELTA is "N+" (busybox tools may look
# a path up twice, libbpf retries a failed load to fetch the verifier log).
expect() {
	name=$1 kind=$2 delta=$3
	shift 3
	before=$(count "$kind")
	out=$("$@" 2>&1)
	rc=$?
	after=$(count "$kind")
	if [ $rc -eq 0 ]; then
		bad "$name" "succeeded: $out"
	elif ! echo "$out" | grep -q "${ERRMSG:-Operation not permitted}"; then
		bad "$name" "rc=$rc but not ${ERRMSG:-EPERM}: $out"
	elif [ "${delta%+}" != "$delta" ] && [ "$((after - before))" -lt "${delta%+}" ]; then
		bad "$name" "$kind count $before -> $after, expected at least +${delta%+}"
	elif [ "${delta%+}" = "$delta" ] && [ "$((after - before))" -ne "$delta" ]; then
		bad "$name" "$kind count $before -> $after, expected +$delta"
	else
		ok "$name"
	fi
}

# 1. The kernel has BPF LSM and IPE active.
lsm=$(cat /sys/kernel/security/lsm)
echo "GUARD-LSM $lsm"
echo "$lsm" | tr , '\n' | grep -qx bpf && ok lsm_bpf_active || bad lsm_bpf_active "$lsm"
echo "$lsm" | tr , '\n' | grep -qx ipe && ok lsm_ipe_active || bad lsm_ipe_active "$lsm"
hvipe-guard check-lsm && ok check_lsm_verb || bad check_lsm_verb "exit $?"

# 2. Program tags: two loads in this boot give the same tags.
hvipe-guard tags >/tmp/tags1 && hvipe-guard tags >/tmp/tags2
if [ -s /tmp/tags1 ] && cmp -s /tmp/tags1 /tmp/tags2; then ok tags_stable; else bad tags_stable "$(cat /tmp/tags1 /tmp/tags2)"; fi
sed 's/^/GUARD-TAGS /' /tmp/tags1

# 3. Before arming root may write IPE's files (this is the hole the guard closes).
sh -c "echo 1 > $IPE/enforce" && ok enforce_writable_before_arm || bad enforce_writable_before_arm "write failed"

# A descriptor opened for writing before arming (PID 1 keeps it as fd 3).
exec 3>$IPE/new_policy

# 4. Arm with guard_test as the agent; the arming process exits, the pins stay.
hvipe-guard arm --agent /bin/guard_test && ok arm || { bad arm "exit $?"; finish; }
guard_test serve >/tmp/agent.log 2>&1 &
AGENT=$!
guard_test status >/tmp/status && grep -q '^armed=1 programs=11 ' /tmp/status &&
	ok armed_after_loader_exit || bad armed_after_loader_exit "$(cat /tmp/status)"
sed -n 's/^program=\([^ ]*\) tag=\(.*\)/\2 \1/p' /tmp/status >/tmp/tags3
cmp -s /tmp/tags1 /tmp/tags3 && ok armed_tags_equal_probe || bad armed_tags_equal_probe "$(cat /tmp/tags3)"
cp /bin/guard_test /tmp/fake
sleep 1

# 5. IPE's securityfs: nobody turns enforcement off; only the agent writes the rest.
expect enforce_off_refused ipe_enforce 1 sh -c "echo 0 > $IPE/enforce"
expect enforce_off_refused_for_agent ipe_enforce 1 guard_test write $IPE/enforce 0
[ "$(cat $IPE/enforce)" = 1 ] && ok enforce_still_on || bad enforce_still_on "$(cat $IPE/enforce)"
expect new_policy_refused ipe_write 1 sh -c "echo junk > $IPE/new_policy"
expect new_policy_refused_for_copy ipe_write 1 /tmp/fake write $IPE/new_policy junk
expect preopened_fd_write_refused ipe_write 1 sh -c "echo junk >&3"
exec 3>&-
before=$(count ipe_write)
out=$(guard_test write $IPE/new_policy junk 2>&1)
# The agent passes the guard; IPE itself rejects an unsigned blob.
if echo "$out" | grep -q "Bad message" && [ "$(count ipe_write)" = "$before" ]; then
	ok new_policy_reaches_ipe_for_agent
else
	bad new_policy_reaches_ipe_for_agent "$out"
fi

# 6. The agent cannot be signalled, traced or impersonated.
expect kill9_refused signal 1 sh -c "kill -9 $AGENT"
expect sigstop_refused signal 1 sh -c "kill -STOP $AGENT"
kill -0 $AGENT 2>/dev/null && ok agent_alive || bad agent_alive "gone"
sh -c "kill -0 $AGENT" && ok signal0_allowed || bad signal0_allowed "kill -0 refused"
expect ptrace_refused ptrace 1 /tmp/fake ptrace $AGENT
# /proc/<pid>/mem turns a refused ptrace check into EACCES.
ERRMSG="Permission denied"
expect proc_mem_refused ptrace 1 head -c1 /proc/$AGENT/mem
unset ERRMSG
expect traced_exec_of_agent_refused ptrace 1 /tmp/fake traceme-exec /bin/guard_test
expect set_exe_refused identity 1 /tmp/fake setexe /bin/guard_test

# 7. bpf(): the guard's programs, maps and links are out of reach.
guard_test ids >/tmp/ids
pid1=$(sed -n 's/^prog //p' /tmp/ids | head -n1)
mid1=$(sed -n 's/^map //p' /tmp/ids | head -n1)
lid1=$(sed -n 's/^link //p' /tmp/ids | head -n1)
[ -n "$pid1" ] && [ -n "$mid1" ] && [ -n "$lid1" ] && ok ids_read || bad ids_read "$(cat /tmp/ids)"
expect prog_fd_refused bpf 1 /tmp/fake bpf-get prog "$pid1"
expect map_fd_refused bpf 1 /tmp/fake bpf-get map "$mid1"
expect link_fd_refused bpf 1 /tmp/fake bpf-get link "$lid1"
expect bpftool_link_detach_refused bpf 1+ bpftool link detach id "$lid1"
expect bpftool_map_update_refused bpf 1+ bpftool map update id "$mid1" key 0 0 0 0 value 0
expect lsm_prog_load_refused bpf_load 1+ /tmp/fake load /guard.bpf.o
expect kprobe_prog_load_refused bpf_load 1 /tmp/fake load-type kprobe
/tmp/fake load-type socket_filter | grep -q "load-type: ok" && ok socket_filter_load_allowed ||
	bad socket_filter_load_allowed "$(/tmp/fake load-type socket_filter 2>&1)"
expect config_write_refused_for_agent ipe_write 0 guard_test config-write

# 8. The pins: no reading, unlinking, renaming, unmounting.
expect pin_obj_get_refused pin 1 /tmp/fake obj-get $PIN/link_guard_task_kill
expect pin_unlink_refused pin 1+ rm -f $PIN/link_guard_file_open
expect pin_rename_refused pin 1+ mv $PIN/config /sys/fs/bpf/config
expect bpffs_umount_refused pin 1+ umount /sys/fs/bpf
expect status_refused_for_non_agent pin 1 hvipe-guard status

# 9. Still enforcing after all of that.
expect enforce_off_still_refused ipe_enforce 1 sh -c "echo 0 > $IPE/enforce"

# 10. PID 1 may send the shutdown signals, nothing else.
before=$(count signal)
out=$(kill -STOP $AGENT 2>&1)
[ $? -ne 0 ] && [ "$(count signal)" = $((before + 1)) ] && ok pid1_sigstop_refused || bad pid1_sigstop_refused "$out"
kill -TERM $AGENT && wait $AGENT && grep -q "stopped by SIGTERM" /tmp/agent.log &&
	ok pid1_sigterm_allowed || bad pid1_sigterm_allowed "$(cat /tmp/agent.log)"

guard_test status | sed 's/^/GUARD-STATUS /'
finish
