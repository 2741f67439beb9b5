# hvipectl: the operator's command line.
PROGRAMS += hvipectl
hvipectl_SRCS := host/ctl/main.c
hvipectl_SRCS += host/ctl/ctl_kernel.c host/ctl/kconfig.c
hvipectl_SRCS += host/ctl/ctl_firmware.c
hvipectl_LIBS := $(LIBS_ssl)
