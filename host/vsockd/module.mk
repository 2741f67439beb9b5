# hvipe-vsockd: vhost-user virtio-vsock back-end bridging to Unix sockets.
VSOCKD_LIB_SRCS := host/vsockd/vring.c host/vsockd/vsock_pkt.c host/vsockd/conn.c \
	host/vsockd/dev.c host/vsockd/vhost_user.c

PROGRAMS += hvipe-vsockd
hvipe-vsockd_SRCS := host/vsockd/main.c $(VSOCKD_LIB_SRCS)

UNIT_TESTS += test_vsockd
test_vsockd_SRCS := tests/unit/test_vsockd.c $(VSOCKD_LIB_SRCS)
test_vsockd_LIBS := $(LIBS_cmocka)

FUZZERS += fuzz_vsock_tx
fuzz_vsock_tx_SRCS := tests/fuzz/fuzz_vsock_tx.c $(VSOCKD_LIB_SRCS)
FUZZERS += fuzz_vhost_user
fuzz_vhost_user_SRCS := tests/fuzz/fuzz_vhost_user.c $(VSOCKD_LIB_SRCS)

TEST_LAYERS += test-vsockd
BENCHES += tests/bench/vsockd-bench

# Unit tests, the daemon against a fake front-end, then the VM tests (guest kernel from vm-images/fetch-kernel).
test-vsockd: $(O)/bin/hvipe-vsockd $(O)/test/test_vsockd
	test -f docs/man/hvipe-vsockd.8
	$(O)/test/test_vsockd
	python3 tests/integration/vsockd/cli_test.py $(O)/bin/hvipe-vsockd
	O=$(O) tests/vm/vsockd/run-vm-tests

# The bridge's own throughput against a synthetic guest (run by tests/bench/vsockd-bench).
vsockd_bridge_bench_SRCS := tests/bench/vsockd_bridge_bench.c $(VSOCKD_LIB_SRCS)
$(eval $(call LINK_template,vsockd_bridge_bench,bench,))
