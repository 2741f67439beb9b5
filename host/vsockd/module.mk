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

TEST_LAYERS += test-vsockd
BENCHES += tests/bench/vsockd-bench

# Unit tests, then the VM tests (guest kernel from vm-images/fetch-kernel).
test-vsockd: $(O)/bin/hvipe-vsockd $(O)/test/test_vsockd
	$(O)/test/test_vsockd
	O=$(O) tests/vm/vsockd/run-vm-tests
