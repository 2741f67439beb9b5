/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvipectl's client side of the control protocol (shared/proto/control.proto):
 * connect to hvipe-hostd's control socket, send one Request, read its
 * Response.
 */
#ifndef HVIPE_CTL_DAEMON_H
#define HVIPE_CTL_DAEMON_H

#include <stdbool.h>
#include <stdio.h>

#include "control.pb-c.h"

/* Default socket, overridden by HVIPE_SOCKET and by `hvipectl --socket`. */
#define CTL_DEFAULT_SOCKET "/run/hvipe/hostd.sock"

/*
 * Send @rq (its seq is set here) and wait up to 30 s for the answer.
 * Returns an enum ctl_exit: CTL_OK with *@rs set (free with
 * hvipe__ctl__response__free_unpacked), CTL_UNREACHABLE when the daemon
 * cannot be reached or does not answer in time, CTL_INVALID when it refused
 * (message printed), CTL_SYSTEM otherwise.
 */
int ctl_call(Hvipe__Ctl__Request *rq, Hvipe__Ctl__Response **rs);

/*
 * ctl_call for a request about the VM named @vm: when hvipe-hostd answers
 * ENOENT, the message is "no VM named '@vm'" rather than the errno's text.
 */
int ctl_call_vm(Hvipe__Ctl__Request *rq, Hvipe__Ctl__Response **rs, const char *vm);

/* Print a string as a JSON string literal. */
void ctl_json_str(FILE *f, const char *s);

/* One VM as a JSON object (vm list/show, status). */
void ctl_print_vm_json(FILE *f, const Hvipe__Ctl__VmInfo *v);

/* Set by `hvipectl --socket PATH`; NULL: HVIPE_SOCKET or the default. */
extern const char *ctl_socket_path;

#endif
