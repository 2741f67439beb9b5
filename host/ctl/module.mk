# hvipectl: the operator's command line.
PROGRAMS += hvipectl
hvipectl_SRCS := host/ctl/main.c host/ctl/ctl_daemon.c host/ctl/ctl_vm.c host/ctl/ctl_image.c \
	host/ctl/ctl_status.c
hvipectl_SRCS += host/ctl/ctl_kernel.c host/ctl/kconfig.c
hvipectl_SRCS += host/ctl/ctl_firmware.c
hvipectl_SRCS += host/ctl/ctl_policy.c host/ctl/ctl_key.c
hvipectl_LIBS := $(LIBS_ssl)
