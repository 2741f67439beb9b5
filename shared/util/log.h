/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Operator logging: one line per decision, key=value, untrusted strings escaped.
 *
 *   hv_log(HV_INFO, "vm=%s cid=%u step=attest verdict=trusted", name, cid);
 *
 * Lines go to stderr with a level prefix; under systemd (JOURNAL_STREAM set)
 * the prefix is the syslog "<N>" form the journal understands. Libraries in
 * shared/ return errors and never log; programs log at their boundary.
 */
#ifndef HVIPE_UTIL_LOG_H
#define HVIPE_UTIL_LOG_H

#include <stddef.h>

enum hv_log_level {
	HV_ERR = 3,
	HV_WARN = 4,
	HV_NOTICE = 5,
	HV_INFO = 6,
	HV_DEBUG = 7,
};

/* Set the program name and the most verbose level printed (default HV_INFO). */
void hv_log_init(const char *prog, enum hv_log_level max_level);
void hv_log_set_level(enum hv_log_level max_level);
enum hv_log_level hv_log_level(void);

void hv_log(enum hv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Escape an untrusted string for a log field: printable ASCII other than '"'
 * and '\\' is kept, anything else becomes \xHH; at most @max input bytes are
 * shown, then "..." marks the cut. Writes a NUL-terminated string into
 * @out (@outsz bytes, at least 8) and returns @out.
 */
char *hv_log_escape(char *out, size_t outsz, const void *in, size_t len, size_t max);

#endif
