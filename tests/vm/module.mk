# VM tests: real guests under QEMU (TCG). Each is a make target run by `make test`.

# test-policy-vm: the kernel's IPE parser against `hvipectl policy check`
# (tests/vm/ipe-differential, see tests/vm/README.md). One boot, ~1-2 minutes.
TEST_LAYERS += test-policy-vm

# The guest helper runs in a throwaway initramfs without a libc: static, and
# without the host build's sanitizer or PIE flags.
IPE_LOAD_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -static

$(O)/test/vm/ipe-load: tests/vm/ipe-load.c
	@mkdir -p $(@D)
	$(CC) $(IPE_LOAD_CFLAGS) -o $@ $<

.PHONY: test-policy-vm
test-policy-vm: programs $(O)/test/vm/ipe-load
	O=$(O) tests/vm/ipe-differential --hvipectl $(O)/bin/hvipectl \
		--ipe-load $(O)/test/vm/ipe-load $(IPE_DIFFERENTIAL_FLAGS)
