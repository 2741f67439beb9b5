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
