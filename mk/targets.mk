# Targets that need every module to have been read.

# Compile rules live here, not in rules.mk: make expands a rule's
# prerequisites when it reads the rule, and GENERATED_HEADERS is only complete
# once every module.mk has been read. Every object waits for the generated
# headers, so fresh parallel builds cannot race protoc-c.
$(O)/obj/%.o: %.c | $(GENERATED_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(O)/obj/gen/%.o: $(O)/gen/%.c | $(GENERATED_HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -c -o $@ $<

LIBHVIPE_OBJS := $(call objs,$(LIBHVIPE_SRCS))
-include $(LIBHVIPE_OBJS:.o=.d)

$(O)/lib/libhvipe.a: $(LIBHVIPE_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(foreach p,$(PROGRAMS),$(eval $(call PROGRAM_template,$(p))))
$(foreach t,$(UNIT_TESTS),$(eval $(call TEST_template,$(t))))
$(foreach f,$(FUZZERS),$(eval $(call FUZZ_template,$(f))))
$(foreach b,$(BENCH_PROGRAMS),$(eval $(call TEST_template,$(b))))

BIN_TARGETS := $(addprefix $(O)/bin/,$(PROGRAMS))
UNIT_TARGETS := $(addprefix $(O)/test/,$(UNIT_TESTS))
FUZZ_TARGETS := $(addprefix $(O)/fuzz/,$(FUZZERS))

.PHONY: all programs unit-tests fuzzers deps test bench demo clean format format-check install \
	test-format test-unit test-asan test-fuzz $(TEST_LAYERS)

all: programs
programs: $(O)/lib/libhvipe.a $(BIN_TARGETS)
unit-tests: $(UNIT_TARGETS)
fuzzers: $(FUZZ_TARGETS)

deps:
	tools/deps.sh

# Each layer is a make target of its own; tools/run-layers runs them in order,
# keeps going after a failure, and prints one summary line per layer.
CORE_LAYERS := test-format test-unit test-asan test-fuzz
test: deps
	tools/run-layers $(CORE_LAYERS) $(TEST_LAYERS)

test-format:
	tools/format-check

test-unit: unit-tests
	tools/run-unit $(UNIT_TARGETS)

test-asan:
	$(MAKE) O=$(O)/asan SAN=1 unit-tests
	tools/run-unit $(addprefix $(O)/asan/test/,$(UNIT_TESTS))

FUZZ_SECONDS ?= 20
test-fuzz:
	$(MAKE) O=$(O)/fuzz FUZZ=1 fuzzers
	tools/run-fuzz $(FUZZ_SECONDS) $(O)/fuzz/fuzz $(FUZZERS)

bench: deps programs $(addprefix $(O)/test/,$(BENCH_PROGRAMS))
	tools/run-bench $(BENCHES)

# make install [DESTDIR=...] [PREFIX=/usr]: the host's programs, manuals,
# systemd units and the example configuration. The guest's programs are not
# installed on the host: the image build copies them into the initramfs and
# root image.
PREFIX ?= /usr
HOST_SBIN := hvipe-hostd hvipe-vsockd
HOST_BIN := hvipectl
UNITDIR ?= /lib/systemd/system
install: programs
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(PREFIX)/share/doc/hvipe
	install -m 0755 $(addprefix $(O)/bin/,$(HOST_SBIN)) $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(addprefix $(O)/bin/,$(HOST_BIN)) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 docs/man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	sed 's|/usr/sbin/|$(PREFIX)/sbin/|g' host/hostd/hvipe-hostd.service \
		>$(DESTDIR)$(UNITDIR)/hvipe-hostd.service
	install -m 0644 host/hostd/hvipe-hostd.socket $(DESTDIR)$(UNITDIR)/
	install -m 0644 host/hostd/hostd.conf.example README.md LICENSE \
		$(DESTDIR)$(PREFIX)/share/doc/hvipe/

format:
	tools/format-check --fix

format-check: test-format

clean:
	rm -rf $(O)

# Every object waits for the generated protobuf-c headers. The pattern rule in
# rules.mk is read before the modules add to GENERATED_HEADERS, so the order
# has to be stated here, once all objects are known.
ALL_OBJS := $(sort $(foreach v,$(filter %_OBJS,$(.VARIABLES)),$($(v))))
$(ALL_OBJS): | $(GENERATED_HEADERS)
