# hvipe-hostd: the host's attestation verifier and policy authority.
HOSTD_CORE_SRCS := host/hostd/compose.c host/hostd/verdict.c host/hostd/store.c \
	host/hostd/signer.c host/hostd/actuator.c host/hostd/vm.c host/hostd/guest.c \
	host/hostd/control.c host/hostd/config.c
HOSTD_LIBS := $(LIBS_systemd) $(LIBS_sqlite) $(LIBS_ssl)
# The qmp and libvirt actuators (host/hostd/act.mk).
HOSTD_CORE_SRCS += $(HOSTD_ACT_SRCS) host/hostd/domains.c
HOSTD_LIBS += $(HOSTD_ACT_LIBS)

PROGRAMS += hvipe-hostd
hvipe-hostd_SRCS := host/hostd/main.c $(HOSTD_CORE_SRCS)
hvipe-hostd_LIBS := $(HOSTD_LIBS)

# Test helpers (built into $(O)/test/, not installed, not run as unit tests).
HOSTD_TEST_TOOLS := hvipe-testguest
hvipe-testguest_SRCS := tests/integration/hvipe-testguest.c
hvipe-testguest_LIBS := $(LIBS_ssl)
$(foreach t,$(HOSTD_TEST_TOOLS),$(eval $(call LINK_template,$(t),test,)))
HOSTD_TEST_TOOLS2 := hostd-sim
hostd-sim_SRCS := tests/bench/hostd-sim.c
hostd-sim_LIBS := $(LIBS_ssl)
$(foreach t,$(HOSTD_TEST_TOOLS2),$(eval $(call LINK_template,$(t),test,)))

# Unit tests (cmocka) and fuzzers.
UNIT_TESTS += test_hostd
test_hostd_SRCS := tests/unit/test_hostd.c host/hostd/compose.c host/hostd/verdict.c \
	host/hostd/store.c host/hostd/config.c
test_hostd_LIBS := $(LIBS_cmocka) $(LIBS_sqlite) $(LIBS_crypto)

TEST_LAYERS += test-hostd
test-hostd: programs $(O)/test/test_hostd $(O)/test/hvipe-testguest $(O)/test/hostd-sim
	$(O)/test/test_hostd
	O=$(O) tests/integration/test-hostd.sh

FUZZERS += fuzz_frame fuzz_hostd_handlers
fuzz_frame_SRCS := tests/fuzz/fuzz_frame.c
fuzz_hostd_handlers_SRCS := tests/fuzz/fuzz_hostd_handlers.c $(HOSTD_CORE_SRCS)
fuzz_hostd_handlers_LIBS := $(HOSTD_LIBS)
HOSTD_TEST_TOOLS3 := sign-bench
sign-bench_SRCS := tests/bench/sign-bench.c
sign-bench_LIBS := $(LIBS_ssl)
$(foreach t,$(HOSTD_TEST_TOOLS3),$(eval $(call LINK_template,$(t),test,)))

BENCHES += tests/bench/hostd-bench
