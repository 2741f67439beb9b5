# Build templates.
#
# A module.mk declares programs and tests by name and calls the templates:
#
#   PROGRAMS += hvipectl             -> $(O)/bin/hvipectl
#   hvipectl_SRCS := host/ctl/main.c host/ctl/ctl_policy.c
#   hvipectl_LIBS := $(LIBS_ssl)
#
#   UNIT_TESTS += test_policy        -> $(O)/test/test_policy (cmocka, run by test-unit)
#   test_policy_SRCS := tests/unit/test_policy.c
#   test_policy_LIBS := $(LIBS_ssl)
#
#   BENCH_PROGRAMS += bench_policy  -> $(O)/test/bench_policy (built by make bench)
#   bench_policy_SRCS := tests/bench/bench_policy.c
#
#   FUZZERS += fuzz_policy           -> $(O)/fuzz/fuzz_policy (built with FUZZ=1)
#   fuzz_policy_SRCS := tests/fuzz/fuzz_policy.c
#   (seed corpus in tests/fuzz/corpus/fuzz_policy/)
#
# Everything links $(O)/lib/libhvipe.a (LIBHVIPE_SRCS from shared/module.mk)
# after its own objects. Sources in $(O)/gen (generated) are allowed too.

PROGRAMS :=
UNIT_TESTS :=
FUZZERS :=
LIBHVIPE_SRCS :=
GENERATED_HEADERS :=
TEST_LAYERS :=
BENCHES :=
BENCH_PROGRAMS :=

objs = $(patsubst %.c,$(O)/obj/%.o,$(patsubst $(O)/%,%,$(1)))

# $(1)=name $(2)=output dir (bin, test, fuzz) $(3)=extra link flags
define LINK_template
$(1)_OBJS := $$(call objs,$$($(1)_SRCS))
$(O)/$(2)/$(1): $$($(1)_OBJS) $(O)/lib/libhvipe.a
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) $(3) -o $$@ $$($(1)_OBJS) $(O)/lib/libhvipe.a $$($(1)_LIBS) $$(LIBHVIPE_LIBS)
-include $$($(1)_OBJS:.o=.d)
endef

define PROGRAM_template
$(call LINK_template,$(1),bin,)
endef
define TEST_template
$(call LINK_template,$(1),test,)
endef
define FUZZ_template
$(call LINK_template,$(1),fuzz,-fsanitize=fuzzer)
endef
