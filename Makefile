# hvipe top-level build. Non-recursive: every component adds itself through its
# own module.mk (see mk/rules.mk for the variables a module may set).
#
#   make            build every program into build/bin/
#   make deps       install the Debian packages the build, tests, images and demo need
#   make test       deps, then every test layer, one summary line per layer
#   make bench      the performance figures as BENCH lines
#   make demo       the end-to-end demonstration
#
# Variables: CC (gcc or clang), O (output directory, default build), SAN=1
# (AddressSanitizer + UBSan), FUZZ=1 (libFuzzer targets, clang only).

.DEFAULT_GOAL := all
TOP := $(abspath .)

include mk/config.mk
include mk/rules.mk

# Components, in link order of dependence: the shared library first.
include shared/module.mk
-include host/hostd/act.mk
-include host/hostd/module.mk
-include host/ctl/module.mk
-include host/vsockd/module.mk
-include guest/agent/module.mk
-include guest/guard/module.mk
-include guest/initramfs/module.mk
-include vm-images/module.mk
-include tests/module.mk

include mk/targets.mk
