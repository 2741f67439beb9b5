/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "hv_limits.h"
#include "util/buf.h"
#include "util/cleanup.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hv_config_defaults(struct hv_config *c)
{
	memset(c, 0, sizeof(*c));
	c->state_dir = strdup("/var/lib/hvipe");
	c->control_socket = strdup("/run/hvipe/hostd.sock");
	c->control_gid = (gid_t)-1;
	c->vsock_port = HV_DEFAULT_PORT;
	c->heartbeat_ms = HV_DEFAULT_HEARTBEAT_MS;
	c->deadline_ms = 0; /* derived: the heartbeat interval */
	c->hello_ms = 10000;
	c->max_conns = 20000;
}

void hv_config_free(struct hv_config *c)
{
	free(c->config_path);
	free(c->state_dir);
	free(c->db_path);
	free(c->key_path);
	free(c->cert_path);
	free(c->control_socket);
	free(c->control_group);
	free(c->log_level);
	free(c->guard_tags_path);
	memset(c, 0, sizeof(*c));
}

bool hv_config_level_ok(const char *v)
{
	static const char *const levels[] = {"err",    "error", "warning", "warn",
	                                     "notice", "info",  "debug"};

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (!strcmp(v, levels[i]))
			return true;
	return false;
}

static int set_str(char **dst, const char *v)
{
	char *n;

	if (!v[0] || strlen(v) > 4000)
		return -EINVAL;
	n = strdup(v);
	if (!n)
		return -ENOMEM;
	free(*dst);
	*dst = n;
	return 0;
}

static int set_uint(unsigned *dst, const char *v, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(v, &end, 10);
	if (!v[0] || *end || v[0] == '-')
		return -EINVAL;
	if (errno || x < lo || x > hi)
		return -ERANGE;
	*dst = (unsigned)x;
	return 0;
}

int hv_config_set(struct hv_config *c, const char *key, const char *v)
{
	if (!strcmp(key, "state-dir"))
		return set_str(&c->state_dir, v);
	if (!strcmp(key, "db"))
		return set_str(&c->db_path, v);
	if (!strcmp(key, "key"))
		return set_str(&c->key_path, v);
	if (!strcmp(key, "cert"))
		return set_str(&c->cert_path, v);
	if (!strcmp(key, "control-socket"))
		return set_str(&c->control_socket, v);
	if (!strcmp(key, "control-group"))
		return set_str(&c->control_group, v);
	if (!strcmp(key, "guard-tags"))
		return set_str(&c->guard_tags_path, v);
	if (!strcmp(key, "log-level"))
		return hv_config_level_ok(v) ? set_str(&c->log_level, v) : -EINVAL;
	if (!strcmp(key, "vsock-port"))
		return set_uint(&c->vsock_port, v, 1, 0xffffffffu - 1);
	if (!strcmp(key, "heartbeat-ms"))
		return set_uint(&c->heartbeat_ms, v, 50, 3600000);
	if (!strcmp(key, "deadline-ms"))
		return set_uint(&c->deadline_ms, v, 50, 3600000);
	if (!strcmp(key, "hello-ms"))
		return set_uint(&c->hello_ms, v, 50, 3600000);
	if (!strcmp(key, "max-connections"))
		return set_uint(&c->max_conns, v, 1, 1000000);
	return -ENOENT;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Why hv_config_set refused @key = @v, for a message that names the line. */
static void set_why(int r, const char *key, const char *v, char *why, size_t whysz)
{
	if (r == -ENOENT)
		snprintf(why, whysz, "unknown key '%s'", key);
	else if (r == -ENOMEM)
		snprintf(why, whysz, "%s", strerror(-r));
	else
		snprintf(why, whysz, "bad value for %s: '%.200s'%s", key, v,
		         strchr(v, '#') || strchr(v, ';') ? " (comments go on a line of their own)"
		         : r == -ERANGE                   ? " (out of range)"
		                                          : "");
}

int hv_config_load(struct hv_config *c, const char *path, bool optional, unsigned *line, char *why,
                   size_t whysz)
{
	_cleanup_free_ uint8_t *data = NULL;
	bool in_hostd = false;
	char *p, *next;
	size_t len;
	int r;

	*line = 0;
	r = hv_read_file(path, 1024 * 1024, &data, &len);
	if (r == -ENOENT && optional)
		return 0;
	if (r < 0) {
		snprintf(why, whysz, "cannot read the file: %s", strerror(-r));
		return r;
	}
	if (memchr(data, '\0', len)) {
		snprintf(why, whysz, "the file contains a NUL byte");
		return -EBADMSG;
	}
	for (p = (char *)data; p; p = next) {
		char *eq, *l, *key;

		(*line)++;
		next = strchr(p, '\n');
		if (next)
			*next++ = '\0';
		l = trim(p);
		if (!l[0] || l[0] == '#' || l[0] == ';')
			continue;
		/* The file is hostd's alone: a header that is malformed or names
		 * another section is a typo that would hide every key after it. */
		if (l[0] == '[') {
			size_t n = strlen(l);

			if (n < 2 || l[n - 1] != ']') {
				snprintf(why, whysz, "malformed section header '%.200s'", l);
				return -EBADMSG;
			}
			if (strcmp(l, "[hostd]")) {
				snprintf(why, whysz,
				         "unknown section %.200s (the only one is [hostd])", l);
				return -EBADMSG;
			}
			in_hostd = true;
			continue;
		}
		eq = strchr(l, '=');
		if (!eq) {
			snprintf(why, whysz, "expected key = value");
			return -EBADMSG;
		}
		if (!in_hostd) {
			snprintf(why, whysz, "key outside the [hostd] section");
			return -EBADMSG;
		}
		*eq = '\0';
		key = trim(l);
		r = hv_config_set(c, key, trim(eq + 1));
		if (r < 0) {
			set_why(r, key, trim(eq + 1), why, whysz);
			return r;
		}
	}
	*line = 0;
	return 0;
}

int hv_config_finish(struct hv_config *c, char *why, size_t whysz)
{
	if (!c->db_path) {
		if (asprintf(&c->db_path, "%s/hvipe.db", c->state_dir) < 0) {
			c->db_path = NULL;
			return -ENOMEM;
		}
	}
	if (!c->key_path && asprintf(&c->key_path, "%s/keys/key.pem", c->state_dir) < 0) {
		c->key_path = NULL;
		return -ENOMEM;
	}
	if (!c->cert_path && asprintf(&c->cert_path, "%s/keys/cert.pem", c->state_dir) < 0) {
		c->cert_path = NULL;
		return -ENOMEM;
	}
	if (c->deadline_ms == 0)
		c->deadline_ms = c->heartbeat_ms;
	if (c->control_group) {
		struct group *g = getgrnam(c->control_group);

		if (!g) {
			snprintf(why, whysz, "control group '%s' does not exist", c->control_group);
			return -ENOENT;
		}
		c->control_gid = g->gr_gid;
	}
	return 0;
}
