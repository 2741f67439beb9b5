# Test programs that are not part of one component. Components add their own
# unit tests, fuzzers and layers in their module.mk.

# shared/util: bounded buffers and file reading.
UNIT_TESTS += test_util
test_util_SRCS := tests/unit/test_util.c
test_util_LIBS := $(LIBS_cmocka)

# shared/policy: the IPE policy language and its signatures.
UNIT_TESTS += test_policy test_sign
test_policy_SRCS := tests/unit/test_policy.c
test_policy_LIBS := $(LIBS_cmocka) $(LIBS_crypto)
test_sign_SRCS := tests/unit/test_sign.c
test_sign_LIBS := $(LIBS_cmocka) $(LIBS_crypto)
FUZZERS += fuzz_policy fuzz_policy_blob
fuzz_policy_SRCS := tests/fuzz/fuzz_policy.c
fuzz_policy_blob_SRCS := tests/fuzz/fuzz_policy_blob.c

TEST_LAYERS += test-ctl-policy
test-ctl-policy: programs
	O=$(O) tests/integration/test-hvipectl-policy.sh

TEST_LAYERS += test-install
test-install: programs
	O=$(O) tests/integration/test-install.sh

# The end-to-end demonstration (tools/demo; README's first command).
demo:
	tools/demo
-include tests/vm/e2e.mk

-include tests/vm/module.mk

# Performance figures for the policy library (make bench).
BENCH_PROGRAMS += bench_policy
bench_policy_SRCS := tests/bench/bench_policy.c
BENCHES += tests/bench/policy-bench

# shared/proto: the frame codec.
UNIT_TESTS += test_frame
test_frame_SRCS := tests/unit/test_frame.c
test_frame_LIBS := $(LIBS_cmocka)
