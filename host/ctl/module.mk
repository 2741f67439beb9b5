# hvipectl: the operator's command line.
PROGRAMS += hvipectl
hvipectl_SRCS := host/ctl/main.c
hvipectl_SRCS += host/ctl/ctl_policy.c host/ctl/ctl_key.c
hvipectl_LIBS := $(LIBS_ssl)
