# libhvipe: code that host and guest programs both link.
LIBHVIPE_SRCS += shared/util/log.c shared/util/hex.c shared/util/buf.c
LIBHVIPE_SRCS += shared/policy/policy.c shared/policy/sign.c

# The wire protocol: protobuf-c code generated from shared/proto/hvipe.proto.
$(O)/gen/hvipe.pb-c.c $(O)/gen/hvipe.pb-c.h: shared/proto/hvipe.proto
	@mkdir -p $(O)/gen
	$(PROTOC_C) --c_out=$(O)/gen --proto_path=shared/proto shared/proto/hvipe.proto
GENERATED_HEADERS += $(O)/gen/hvipe.pb-c.h
LIBHVIPE_SRCS += $(O)/gen/hvipe.pb-c.c shared/proto/frame.c
LIBHVIPE_LIBS := $(LIBS_protobuf) $(LIBS_crypto)

# The control protocol (hvipectl <-> hvipe-hostd), same framing.
$(O)/gen/control.pb-c.c $(O)/gen/control.pb-c.h: shared/proto/control.proto
	@mkdir -p $(O)/gen
	$(PROTOC_C) --c_out=$(O)/gen --proto_path=shared/proto shared/proto/control.proto
GENERATED_HEADERS += $(O)/gen/control.pb-c.h
LIBHVIPE_SRCS += $(O)/gen/control.pb-c.c
