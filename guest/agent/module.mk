# hvipe-guestd: the guest agent.
PROGRAMS += hvipe-guestd
GUESTD_LIB_SRCS := guest/agent/audit.c guest/agent/evidence.c guest/agent/apply.c \
	guest/agent/transport.c
hvipe-guestd_SRCS := guest/agent/main.c guest/agent/dm.c $(GUESTD_LIB_SRCS)
hvipe-guestd_LIBS := $(LIBS_devmapper) $(LIBS_crypto)

UNIT_TESTS += test_guestd_evidence test_guestd_audit test_guestd_apply
test_guestd_evidence_SRCS := tests/unit/test_guestd_evidence.c $(GUESTD_LIB_SRCS)
test_guestd_evidence_LIBS := $(LIBS_cmocka) $(LIBS_crypto)
test_guestd_audit_SRCS := tests/unit/test_guestd_audit.c $(GUESTD_LIB_SRCS)
test_guestd_audit_LIBS := $(LIBS_cmocka) $(LIBS_crypto)
test_guestd_apply_SRCS := tests/unit/test_guestd_apply.c $(GUESTD_LIB_SRCS)
test_guestd_apply_LIBS := $(LIBS_cmocka) $(LIBS_crypto)

FUZZERS += fuzz_audit
fuzz_audit_SRCS := tests/fuzz/fuzz_audit.c guest/agent/audit.c

# Helper programs of the integration tests (not unit tests: built, not run).
guestd-hostctl_SRCS := tests/integration/guestd/hostctl.c
guestd-hostctl_LIBS :=
$(eval $(call LINK_template,guestd-hostctl,test,))
GUESTD_TEST_HELPERS := $(O)/test/guestd-hostctl

# make test-guestd: the agent's unit tests, then the integration tests with the
# real hvipe-hostd (tests/integration/guestd/run).
TEST_LAYERS += test-guestd
GUESTD_UNIT := $(addprefix $(O)/test/,test_guestd_evidence test_guestd_audit test_guestd_apply)
test-guestd: $(O)/bin/hvipe-guestd $(O)/bin/hvipe-hostd $(O)/bin/hvipectl $(GUESTD_UNIT) $(GUESTD_TEST_HELPERS)
	tools/run-unit $(GUESTD_UNIT)
	tests/integration/guestd/run $(O)

# These objects include the generated protocol header; say so explicitly so a
# parallel build in a fresh output directory generates it first.
$(call objs,$(hvipe-guestd_SRCS) tests/unit/test_guestd_evidence.c tests/unit/test_guestd_apply.c \
	tests/unit/test_guestd_audit.c): $(O)/gen/hvipe.pb-c.h
$(call objs,tests/integration/guestd/hostctl.c): $(O)/gen/control.pb-c.h

FUZZERS += fuzz_guestd_tables
fuzz_guestd_tables_SRCS := tests/fuzz/fuzz_guestd_tables.c $(GUESTD_LIB_SRCS)
fuzz_guestd_tables_LIBS := $(LIBS_crypto)
