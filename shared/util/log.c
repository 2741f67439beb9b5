/* SPDX-License-Identifier: Apache-2.0 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *log_prog = "hvipe";
static enum hv_log_level log_max = HV_INFO;
static int log_journal = -1;

void hv_log_init(const char *prog, enum hv_log_level max_level)
{
	const char *slash = strrchr(prog, '/');

	log_prog = slash ? slash + 1 : prog;
	log_max = max_level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void hv_log_set_level(enum hv_log_level max_level)
{
	log_max = max_level;
}

enum hv_log_level hv_log_level(void)
{
	return log_max;
}

static const char *level_name(enum hv_log_level level)
{
	switch (level) {
	case HV_ERR:
		return "error";
	case HV_WARN:
		return "warning";
	case HV_NOTICE:
		return "notice";
	case HV_INFO:
		return "info";
	default:
		return "debug";
	}
}

void hv_log(enum hv_log_level level, const char *fmt, ...)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;

	if (log_journal == 1) {
		fprintf(stderr, "<%d>%s\n", (int)level, line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: %s\n", tm.tm_year + 1900,
	        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
	        log_prog, level_name(level), line);
}

char *hv_log_escape(char *out, size_t outsz, const void *in, size_t len, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = in;
	size_t o = 0, i;

	if (outsz < 8) {
		if (outsz)
			out[0] = '\0';
		return out;
	}
	for (i = 0; i < len && i < max; i++) {
		unsigned char c = p[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			if (o + 1 >= outsz - 4)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outsz - 4)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (i < len) {
		out[o++] = '.';
		out[o++] = '.';
		out[o++] = '.';
	}
	out[o] = '\0';
	return out;
}
