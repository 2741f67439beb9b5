# hvipe-hostd's actuators (libvirt, QMP). Kept apart from hostd's own
# module.mk so that hostd links them with:
#   hvipe-hostd_SRCS += $(HOSTD_ACT_SRCS)
#   hvipe-hostd_LIBS += $(HOSTD_ACT_LIBS)
LIBS_jsonc := $(call pc,json-c)
LIBS_xml := $(call pc,libxml-2.0)
CPPFLAGS += $(call pcflags,libxml-2.0) -Ihost/hostd
HOSTD_ACT_SRCS := host/hostd/act_qmp.c host/hostd/act_libvirt.c host/hostd/act_shared.c
HOSTD_ACT_LIBS := $(LIBS_systemd) $(LIBS_jsonc) $(LIBS_virt) $(LIBS_xml) -lpthread

# Unit: the domain XML parser (table of inputs and errors).
UNIT_TESTS += test_act_xml
test_act_xml_SRCS := tests/unit/test_act_xml.c $(HOSTD_ACT_SRCS) host/hostd/actuator.c
test_act_xml_LIBS := $(HOSTD_ACT_LIBS) $(LIBS_cmocka)

FUZZERS += fuzz_domain_xml
fuzz_domain_xml_SRCS := tests/fuzz/fuzz_domain_xml.c $(HOSTD_ACT_SRCS) host/hostd/actuator.c
fuzz_domain_xml_LIBS := $(HOSTD_ACT_LIBS)

# Integration: the actuators against a real QEMU and a real libvirtd. Built
# as test programs but run by their own layer (they start QEMU and daemons).
ACT_TESTS := test_act_qmp test_act_libvirt
test_act_qmp_SRCS := tests/integration/test_act_qmp.c $(HOSTD_ACT_SRCS) host/hostd/actuator.c
test_act_qmp_LIBS := $(HOSTD_ACT_LIBS) $(LIBS_cmocka)
test_act_libvirt_SRCS := tests/integration/test_act_libvirt.c $(HOSTD_ACT_SRCS) host/hostd/actuator.c
test_act_libvirt_LIBS := $(HOSTD_ACT_LIBS) $(LIBS_cmocka)
$(foreach t,$(ACT_TESTS),$(eval $(call TEST_template,$(t))))

TEST_LAYERS += test-actuators
test-actuators: $(addprefix $(O)/test/,$(ACT_TESTS))
	tools/run-unit $(O)/test/test_act_qmp
	tests/vm/libvirt-env run $(O)/test/test_act_libvirt
