# vm-images: guest images the host builds and trusts (see vm-images/README.md).
#
#   make image          build/images/minimal (kernel, verity root, initramfs,
#                       OVMF variables, launch descriptions)
#   make image-debian   build/images/debian (mmdebstrap; booted by make test-images)
#   make test-images    image unit checks and the VM scenarios under tests/vm/

# A probe shipped inside the minimal image for its self-checks (libc only).
VMCHECK := $(O)/test-guest/hvipe-vmcheck
$(VMCHECK): tests/vm/vmcheck.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

IMAGE_DEPS := $(O)/bin/hvipectl $(INITRAMFS_INIT) $(VMCHECK)

# BUILD_IMAGE_FLAGS passes options to build-image, e.g. --no-register.
.PHONY: image image-debian
image: programs $(IMAGE_DEPS)
	O=$(O) vm-images/build-image $(BUILD_IMAGE_FLAGS) minimal

image-debian: programs $(IMAGE_DEPS)
	O=$(O) vm-images/build-image $(BUILD_IMAGE_FLAGS) debian

TEST_LAYERS += test-images
test-images: programs $(IMAGE_DEPS)
	O=$(O) tests/vm/run-image-tests

# hvipectl kernel check's .config reader (host/ctl/kconfig.c).
UNIT_TESTS += test_kconfig
test_kconfig_SRCS := tests/unit/test_kconfig.c host/ctl/kconfig.c
test_kconfig_LIBS := $(LIBS_cmocka)

FUZZERS += fuzz_kconfig
fuzz_kconfig_SRCS := tests/fuzz/fuzz_kconfig.c host/ctl/kconfig.c
