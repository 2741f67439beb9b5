# The initramfs init: static, no libhvipe (it must run before anything else
# exists), so it has its own link rule instead of PROGRAMS.
INITRAMFS_INIT := $(O)/initramfs/init
initramfs_init_SRCS := guest/initramfs/init.c guest/initramfs/bootparams.c
initramfs_init_OBJS := $(call objs,$(initramfs_init_SRCS))
-include $(initramfs_init_OBJS:.o=.d)

$(INITRAMFS_INIT): $(initramfs_init_OBJS)
	@mkdir -p $(@D)
	$(CC) -static $(SANFLAGS) -o $@ $^

programs: $(INITRAMFS_INIT)

UNIT_TESTS += test_bootparams
test_bootparams_SRCS := tests/unit/test_bootparams.c guest/initramfs/bootparams.c
test_bootparams_LIBS := $(LIBS_cmocka)

FUZZERS += fuzz_bootparams
fuzz_bootparams_SRCS := tests/fuzz/fuzz_bootparams.c guest/initramfs/bootparams.c
