# End-to-end layer and bench (tests/vm/e2e, tests/bench/e2e-bench): real
# guests under TCG, hostd, vsockd, libvirtd. Needs root and the image.
TEST_LAYERS += test-e2e
.PHONY: test-e2e
test-e2e: programs
	$(MAKE) image
	O=$(O) tests/vm/e2e

BENCHES += tests/bench/e2e-bench
