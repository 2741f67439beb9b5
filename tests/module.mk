# Test programs that are not part of one component. Components add their own
# unit tests, fuzzers and layers in their module.mk.

-include tests/vm/module.mk
