# The initramfs init: static, no libhvipe (it must run before anything else
# exists), so it has its own compile and link rules instead of PROGRAMS. It is
# built without the sanitizer flags of SAN=1/FUZZ=1 builds: those runtimes do
# not link statically. Its parsers are covered under sanitizers by
# test_bootparams and fuzz_bootparams below.
INITRAMFS_INIT := $(O)/initramfs/init
initramfs_init_SRCS := guest/initramfs/init.c guest/initramfs/bootparams.c
initramfs_init_OBJS := $(patsubst %.c,$(O)/initramfs/obj/%.o,$(initramfs_init_SRCS))
INITRAMFS_CFLAGS := -std=gnu11 -O2 -g $(WARN) -fstack-protector-strong \
	-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2 -MMD -MP -ffile-prefix-map=$(TOP)=.
-include $(initramfs_init_OBJS:.o=.d)

$(O)/initramfs/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(INITRAMFS_CFLAGS) -c -o $@ $<

$(INITRAMFS_INIT): $(initramfs_init_OBJS)
	@mkdir -p $(@D)
	$(CC) -static -o $@ $^

programs: $(INITRAMFS_INIT)

UNIT_TESTS += test_bootparams
test_bootparams_SRCS := tests/unit/test_bootparams.c guest/initramfs/bootparams.c
test_bootparams_LIBS := $(LIBS_cmocka)

FUZZERS += fuzz_bootparams
fuzz_bootparams_SRCS := tests/fuzz/fuzz_bootparams.c guest/initramfs/bootparams.c
