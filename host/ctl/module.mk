# hvipectl: the operator's command line.
PROGRAMS += hvipectl
hvipectl_SRCS := host/ctl/main.c
hvipectl_LIBS := $(LIBS_ssl)
