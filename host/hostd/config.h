/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvipe-hostd configuration: defaults, then the INI file, then the command
 * line. The file has one section, [hostd], with the long option names as
 * keys (state-dir, db, key, cert, control-socket, control-group, vsock-port,
 * heartbeat-ms, deadline-ms, hello-ms, max-connections, log-level,
 * guard-tags). Anything else (another section, a key outside [hostd]) is an
 * error with its line.
 */
#ifndef HVIPE_HOSTD_CONFIG_H
#define HVIPE_HOSTD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "hostd.h"

void hv_config_defaults(struct hv_config *c);
void hv_config_free(struct hv_config *c);

/*
 * Apply one key=value (from the file or an option). Returns 0, -ENOENT for an
 * unknown key, -EINVAL/-ERANGE for a bad value.
 */
int hv_config_set(struct hv_config *c, const char *key, const char *value);

/*
 * Read @path. A missing file is fine when @optional. Returns 0 or a negative
 * errno with the line number in *@line (0 when not tied to a line) and what
 * was wrong in @why: the file cannot be read (its errno), a malformed or
 * unknown section header, a line without '=', a key outside [hostd]
 * (-EBADMSG), an unknown key (-ENOENT) or a bad value (-EINVAL, -ERANGE).
 */
int hv_config_load(struct hv_config *c, const char *path, bool optional, unsigned *line, char *why,
                   size_t whysz);

/* One of the names --log-level accepts. */
bool hv_config_level_ok(const char *v);

/* Fill derived paths (db under state-dir) and the control group id. */
int hv_config_finish(struct hv_config *c, char *why, size_t whysz);

#endif
