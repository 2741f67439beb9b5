# guest/guard: the BPF LSM guard (guard.bpf.c), its loader library (guard.c,
# linked by hvipe-guestd and hvipe-guard) and the host-side tag check
# (tags.c, in libhvipe for hvipe-hostd).
#
# vmlinux.h is generated at build time from the BTF of the pinned guest
# kernel: vm-images/fetch-kernel unpacks it, extract-vmlinux pulls the ELF out
# of the bzImage, bpftool dumps its BTF as C. Nothing generated is checked in.

GUARD_KERNEL_DIR ?= build/kernel
BPF_CLANG ?= clang
BPFTOOL ?= bpftool

$(O)/guard/vmlinux: guest/guard/extract-vmlinux vm-images/fetch-kernel
	vm-images/fetch-kernel $(GUARD_KERNEL_DIR)
	@mkdir -p $(@D)
	guest/guard/extract-vmlinux $(GUARD_KERNEL_DIR)/vmlinuz $@

$(O)/gen/vmlinux.h: $(O)/guard/vmlinux
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file $< format c > $@.tmp
	mv $@.tmp $@

$(O)/guard/guard.bpf.o: guest/guard/guard.bpf.c guest/guard/guard_abi.h $(O)/gen/vmlinux.h
	@mkdir -p $(@D)
	$(BPF_CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -I$(O)/gen \
		-c -o $@ $<

$(O)/gen/guard.skel.h: $(O)/guard/guard.bpf.o
	$(BPFTOOL) gen skeleton $< name guard > $@.tmp
	mv $@.tmp $@

$(O)/obj/guest/guard/guard.o: $(O)/gen/guard.skel.h

# For the agent's module.mk: hvipe-guestd_SRCS += $(GUARD_SRCS), _LIBS += $(GUARD_LIBS).
GUARD_SRCS := guest/guard/guard.c guest/guard/guard_proto.c
GUARD_LIBS := $(LIBS_bpf)

LIBHVIPE_SRCS += guest/guard/tags.c

PROGRAMS += hvipe-guard
hvipe-guard_SRCS := guest/guard/main.c $(GUARD_SRCS)
hvipe-guard_LIBS := $(GUARD_LIBS)

UNIT_TESTS += test_guard_tags
test_guard_tags_SRCS := tests/unit/test_guard_tags.c
test_guard_tags_LIBS := $(LIBS_cmocka)

FUZZERS += fuzz_guard_tags
fuzz_guard_tags_SRCS := tests/fuzz/fuzz_guard_tags.c

# VM test helper: the test agent and attacker; not installed, no man page.
guard_test_SRCS := tests/vm/guard/guard_test.c $(GUARD_SRCS)
guard_test_LIBS := $(GUARD_LIBS)
$(eval $(call LINK_template,guard_test,test,))
$(O)/obj/tests/vm/guard/guard_test.o: CPPFLAGS += -I.

TEST_LAYERS += test-guard
# IMAGE_DEPS comes from vm-images/module.mk, read after this file.
.SECONDEXPANSION:
test-guard: programs $(O)/test/guard_test $(O)/guard/guard.bpf.o $$(IMAGE_DEPS)
	O=$(O) tests/vm/guard/run

# GuardState filled by the agent and judged by the host (no BPF is loaded).
UNIT_TESTS += test_guard_state
test_guard_state_SRCS := tests/unit/test_guard_state.c $(GUARD_SRCS)
test_guard_state_LIBS := $(LIBS_cmocka) $(GUARD_LIBS)

# mk/rules.mk's order-only $(GENERATED_HEADERS) is expanded when rules.mk is
# read, before any module adds to it: name the generated headers explicitly.
GUARD_PB_USERS := guest/guard/tags.c guest/guard/guard_proto.c guest/guard/guard.c \
	guest/guard/main.c tests/unit/test_guard_tags.c tests/unit/test_guard_state.c \
	tests/fuzz/fuzz_guard_tags.c tests/vm/guard/guard_test.c
$(call objs,$(GUARD_PB_USERS)): $(O)/gen/hvipe.pb-c.h
$(call objs,tests/unit/test_guard_state.c tests/vm/guard/guard_test.c guest/guard/main.c): \
	$(O)/gen/guard.skel.h

# hvipe-hostd's guard check (host/hostd/verdict.c, which uses compose.c, with the
# tags from tags.c).
UNIT_TESTS += test_hostd_guard
test_hostd_guard_SRCS := tests/unit/test_hostd_guard.c host/hostd/verdict.c host/hostd/compose.c
test_hostd_guard_LIBS := $(LIBS_cmocka)
$(call objs,tests/unit/test_hostd_guard.c): $(O)/gen/hvipe.pb-c.h

# hvipe-guestd arms the guard (guest/agent/main.c); its module.mk is read
# before this one, so the guard adds itself here.
hvipe-guestd_SRCS += $(GUARD_SRCS)
hvipe-guestd_LIBS += $(GUARD_LIBS)
