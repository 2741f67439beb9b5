/* SPDX-License-Identifier: Apache-2.0 */
/*
 * QMP actuator: acts on a QEMU process through its QMP Unix socket (the
 * VM record's target is the socket path, e.g. the one run-vm creates).
 *
 * Each action opens its own non-blocking connection, driven by hostd's
 * sd-event loop: greeting, qmp_capabilities, then the command, all under one
 * deadline. pause = "stop", poweroff = "quit", resume = "query-status" then
 * "cont" unless already running. QEMU serves one QMP client at a time, so a
 * tool that holds the socket open makes actions time out (-ETIMEDOUT).
 */
#ifndef HVIPE_HOSTD_ACT_QMP_H
#define HVIPE_HOSTD_ACT_QMP_H

#include <systemd/sd-event.h>

#include "actuator.h"

/*
 * Create a QMP actuator on @loop; @timeout_ms bounds each action (0 means
 * HV_ACT_DEFAULT_TIMEOUT_MS). Returns 0 and fills @out, or -ENOMEM.
 */
int hv_act_qmp_new(sd_event *loop, unsigned timeout_ms, struct hv_actuator *out);

#endif
