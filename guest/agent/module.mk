# hvipe-guestd: the guest agent.
PROGRAMS += hvipe-guestd
GUESTD_LIB_SRCS := guest/agent/audit.c guest/agent/evidence.c guest/agent/apply.c \
	guest/agent/transport.c
hvipe-guestd_SRCS := guest/agent/main.c guest/agent/dm.c $(GUESTD_LIB_SRCS)
hvipe-guestd_LIBS := $(LIBS_devmapper) $(LIBS_crypto)
