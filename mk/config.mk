# Toolchain and flags shared by every component.

CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
O ?= build
SAN ?= 0
FUZZ ?= 0
PKG_CONFIG ?= pkg-config
PROTOC_C ?= protoc-c

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith \
	-Wstrict-prototypes -Wmissing-prototypes -Wvla -Wno-unused-parameter
HARDEN := -fstack-protector-strong -fPIE -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2
LDHARDEN := -pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack

OPT ?= -O2 -g
ifeq ($(SAN),1)
OPT := -O1 -g -fno-omit-frame-pointer
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
HARDEN := -fstack-protector-strong -fPIE
endif
ifeq ($(FUZZ),1)
CC := clang
OPT := -O1 -g -fno-omit-frame-pointer
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-DHVIPE_FUZZING=1
HARDEN := -fPIE
endif

CPPFLAGS += -D_GNU_SOURCE -Ishared -I$(O)/gen
CFLAGS += -std=gnu11 $(OPT) $(WARN) $(HARDEN) $(SANFLAGS) -MMD -MP
# Binaries do not depend on where the tree is checked out (reproducible images).
CFLAGS += -ffile-prefix-map=$(TOP)=.
LDFLAGS += $(LDHARDEN) $(SANFLAGS)

# pkg-config'd libraries. A module names what it links, e.g. $(LIBS_ssl).
pc = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)
pcflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
LIBS_crypto := $(call pc,libcrypto)
LIBS_ssl := $(call pc,libssl libcrypto)
LIBS_protobuf := $(call pc,libprotobuf-c)
LIBS_systemd := $(call pc,libsystemd)
LIBS_sqlite := $(call pc,sqlite3)
LIBS_virt := $(call pc,libvirt)
LIBS_cryptsetup := $(call pc,libcryptsetup)
LIBS_devmapper := $(call pc,devmapper)
LIBS_bpf := $(call pc,libbpf)
LIBS_cmocka := $(call pc,cmocka)
