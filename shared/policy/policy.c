/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The IPE policy parser of Linux 6.12 (security/ipe/policy_parser.c and
 * digest.c), rebuilt from its observable behaviour: the same lines, the same
 * tokens, the same order of checks and therefore the same first errno.
 *
 * The model keeps one copy of the (NUL-truncated) text; digests point into it,
 * so parsing is a single linear pass with amortised array growth.
 */
#include "policy/policy.h"
#include "util/buf.h"
#include "hv_limits.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OP_COUNT = 7 };
enum action { ACT_NONE = -1, ACT_ALLOW = 0, ACT_DENY = 1 };

enum prop_type {
	P_DMV_ROOTHASH,
	P_DMV_SIG_FALSE,
	P_DMV_SIG_TRUE,
	P_FSV_DIGEST,
	P_FSV_SIG_FALSE,
	P_FSV_SIG_TRUE,
	P_BOOT_FALSE,
	P_BOOT_TRUE,
};

static const char *const op_names[OP_COUNT] = {
        "EXECUTE", "FIRMWARE", "KMODULE", "KEXEC_IMAGE", "KEXEC_INITRAMFS", "POLICY", "X509_CERT",
};
static const char *const action_names[2] = {"ALLOW", "DENY"};
/* A token and its length, so matching needs no strlen(). */
struct tok {
	const char *s;
	size_t len;
};
#define TOK(x) ((struct tok){x, sizeof(x) - 1})

/* Exact tokens for the boolean properties; digests are "<prefix><alg>:<hex>". */
static const struct tok prop_tok[] = {
        [P_DMV_ROOTHASH] = TOK("dmverity_roothash="),
        [P_DMV_SIG_FALSE] = TOK("dmverity_signature=FALSE"),
        [P_DMV_SIG_TRUE] = TOK("dmverity_signature=TRUE"),
        [P_FSV_DIGEST] = TOK("fsverity_digest="),
        [P_FSV_SIG_FALSE] = TOK("fsverity_signature=FALSE"),
        [P_FSV_SIG_TRUE] = TOK("fsverity_signature=TRUE"),
        [P_BOOT_FALSE] = TOK("boot_verified=FALSE"),
        [P_BOOT_TRUE] = TOK("boot_verified=TRUE"),
};
static const struct tok op_tok[OP_COUNT] = {
        TOK("op=EXECUTE"),         TOK("op=FIRMWARE"), TOK("op=KMODULE"),   TOK("op=KEXEC_IMAGE"),
        TOK("op=KEXEC_INITRAMFS"), TOK("op=POLICY"),   TOK("op=X509_CERT"),
};
#define NPROPS (sizeof(prop_tok) / sizeof(prop_tok[0]))

struct prop {
	uint8_t type;
	unsigned line, col;
	/* digests only: offsets into hv_policy.text */
	size_t alg_off, alg_len, hex_off, hex_len;
};

struct rule {
	uint8_t op, action;
	unsigned line;
	size_t first, count; /* slice of hv_policy.props */
};

struct hv_policy {
	char *text; /* NUL-truncated copy, NUL-terminated */
	size_t text_len;
	char *name;
	size_t name_len;
	unsigned name_line, name_col;
	struct hv_ipe_version version;
	int8_t global_default;
	int8_t op_default[OP_COUNT];
	unsigned global_line, op_default_line[OP_COUNT];
	struct rule *rules;
	size_t nrules, rules_cap;
	struct prop *props;
	size_t nprops, props_cap;
	bool has_nul;
	unsigned nul_line, nul_col;
};

struct token {
	const char *s;
	size_t len;
	unsigned col;
};

/* The kernel's isspace(): \t \n \v \f \r, space, and Latin-1 NBSP (0xA0). */
static bool k_isspace(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0;
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool tok_eq(const struct token *t, const char *s)
{
	size_t n = strlen(s);

	return t->len == n && !memcmp(t->s, s, n);
}

/* "<prefix>%s" of the kernel's match_token(): the prefix, then one or more bytes. */
static bool tok_prefix(const struct token *t, const char *prefix)
{
	size_t n = strlen(prefix);

	return t->len > n && !memcmp(t->s, prefix, n);
}

static int set_err(struct hv_policy_error *e, unsigned line, unsigned col, int err, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));
static int set_err(struct hv_policy_error *e, unsigned line, unsigned col, int err, const char *fmt,
                   ...)
{
	va_list ap;

	if (e) {
		e->line = line;
		e->col = col;
		e->err = err;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -err;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *n;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	if (ncap > SIZE_MAX / elem)
		return -ENOMEM;
	n = realloc(*arr, ncap * elem);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

/*
 * kstrtou16(s, 10) on a token that cannot contain '\n': an optional '+', then
 * decimal digits to the end. Overflow of the 64-bit accumulator is -ERANGE
 * even with trailing garbage (the kernel checks it first); a value that fits
 * 64 bits but not 16 is -ERANGE only when the rest is clean.
 */
static int k_strtou16(const char *s, size_t len, uint16_t *out)
{
	unsigned long long res = 0;
	bool overflow = false;
	size_t i = 0, digits = 0;

	if (i < len && s[i] == '+')
		i++;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
		unsigned val = (unsigned)(s[i] - '0');

		if (res > (~0ULL - val) / 10)
			overflow = true;
		res = res * 10 + val;
	}
	if (overflow)
		return -ERANGE;
	if (!digits || i != len)
		return -EINVAL;
	if (res > 0xffff)
		return -ERANGE;
	*out = (uint16_t)res;
	return 0;
}

/* Shared by the header parser and hv_ipe_version_parse(); *@bad_off is the
 * offset of the failing component. */
static int version_parse(const char *s, size_t len, struct hv_ipe_version *v, size_t *bad_off)
{
	uint16_t c[3];
	size_t n = 0, start = 0;

	for (;;) {
		const char *dot = memchr(s + start, '.', len - start);
		size_t end = dot ? (size_t)(dot - s) : len;
		int rc;

		*bad_off = start;
		if (n >= 3)
			return -EBADMSG;
		rc = k_strtou16(s + start, end - start, &c[n]);
		if (rc)
			return rc;
		n++;
		if (!dot)
			break;
		start = end + 1;
	}
	*bad_off = 0;
	if (n != 3)
		return -EBADMSG;
	v->major = c[0];
	v->minor = c[1];
	v->rev = c[2];
	return 0;
}

int hv_ipe_version_parse(const char *s, size_t len, struct hv_ipe_version *v)
{
	struct hv_ipe_version tmp;
	size_t off;
	int rc;

	if (memchr(s, '\0', len))
		len = strnlen(s, len);
	rc = version_parse(s, len, &tmp, &off);
	if (rc)
		return rc;
	*v = tmp;
	return 0;
}

int hv_ipe_version_cmp(struct hv_ipe_version a, struct hv_ipe_version b)
{
	uint64_t x = (uint64_t)a.major << 32 | (uint64_t)a.minor << 16 | a.rev;
	uint64_t y = (uint64_t)b.major << 32 | (uint64_t)b.minor << 16 | b.rev;

	return x < y ? -1 : x > y;
}

char *hv_ipe_version_format(struct hv_ipe_version v, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%hu.%hu.%hu", v.major, v.minor, v.rev);
	return buf;
}

static const char *errname(int err)
{
	switch (err) {
	case EBADMSG:
		return "EBADMSG";
	case EINVAL:
		return "EINVAL";
	case ERANGE:
		return "ERANGE";
	default:
		return "error";
	}
}

static int parse_header(struct hv_policy *p, const struct token *t, size_t n, unsigned line,
                        struct hv_policy_error *e)
{
	static const char *const want[2] = {"policy_name=", "policy_version="};
	size_t idx;

	for (idx = 0; idx < n; idx++) {
		const struct token *k = &t[idx];
		size_t plen, off;
		int rc;

		if (idx >= 2)
			return set_err(e, line, k->col, EBADMSG,
			               "header line has a third token; it holds only policy_name= "
			               "and policy_version=");
		plen = strlen(want[idx]);
		if (!tok_prefix(k, want[idx]))
			return set_err(
			        e, line, k->col, EBADMSG,
			        idx == 0 ? "header must start with policy_name=<NAME> "
			                   "(the first non-empty line is the header)"
			                 : "header must continue with policy_version=<M.m.r>");
		if (idx == 0) {
			p->name = strndup(k->s + plen, k->len - plen);
			if (!p->name)
				return set_err(e, line, k->col, ENOMEM, "out of memory");
			p->name_len = k->len - plen;
			p->name_line = line;
			p->name_col = (unsigned)(k->col + plen);
			continue;
		}
		rc = version_parse(k->s + plen, k->len - plen, &p->version, &off);
		if (rc)
			return set_err(e, line, (unsigned)(k->col + plen + off), -rc,
			               "policy_version must be three decimal numbers 0-65535 "
			               "separated by '.' (%s)",
			               rc == -ERANGE   ? "component over 65535"
			               : rc == -EINVAL ? "component empty or not decimal"
			                               : "not exactly three components");
	}
	if (idx != 2)
		return set_err(e, line, n ? t[n - 1].col : 1, EBADMSG,
		               "header line needs policy_name=<NAME> policy_version=<M.m.r>");
	return 0;
}

static int parse_op(const struct token *t)
{
	for (int i = 0; i < OP_COUNT; i++)
		if (t->len == op_tok[i].len && !memcmp(t->s, op_tok[i].s, t->len))
			return i;
	return -1;
}

static int parse_action(const struct token *t)
{
	if (tok_eq(t, "action=ALLOW"))
		return ACT_ALLOW;
	if (tok_eq(t, "action=DENY"))
		return ACT_DENY;
	return ACT_NONE;
}

static int parse_prop(struct hv_policy *p, const struct token *t, unsigned line,
                      struct hv_policy_error *e)
{
	struct prop pr = {.line = line, .col = t->col};
	int type = -1;

	for (size_t i = 0; i < NPROPS; i++) {
		bool digest = i == P_DMV_ROOTHASH || i == P_FSV_DIGEST;
		size_t n = prop_tok[i].len;

		if (digest ? t->len > n && !memcmp(t->s, prop_tok[i].s, n)
		           : t->len == n && !memcmp(t->s, prop_tok[i].s, n)) {
			type = (int)i;
			break;
		}
	}
	if (type < 0)
		return set_err(e, line, t->col, EBADMSG,
		               "'%.*s' is not a property of Linux 6.12 IPE (or the action is not "
		               "the last token)",
		               (int)(t->len > 60 ? 60 : t->len), t->s);
	pr.type = (uint8_t)type;
	if (type == P_DMV_ROOTHASH || type == P_FSV_DIGEST) {
		size_t plen = prop_tok[type].len;
		const char *val = t->s + plen, *colon;
		size_t vlen = t->len - plen;

		colon = memchr(val, ':', vlen);
		if (!colon)
			return set_err(e, line, t->col, EBADMSG,
			               "digest needs the form <algorithm>:<hex>");
		pr.alg_off = (size_t)(val - p->text);
		pr.alg_len = (size_t)(colon - val);
		pr.hex_off = pr.alg_off + pr.alg_len + 1;
		pr.hex_len = vlen - pr.alg_len - 1;
		for (size_t i = 0; i < pr.hex_len; i++)
			if (!is_hex((unsigned char)p->text[pr.hex_off + i]))
				return set_err(e, line,
				               (unsigned)(t->col + plen + pr.alg_len + 1 + i),
				               EINVAL, "digest has a non-hex character");
		if (pr.hex_len % 2)
			return set_err(e, line, (unsigned)(t->col + plen + pr.alg_len + 1), EINVAL,
			               "digest has an odd number of hex digits");
	}
	if (grow((void **)&p->props, &p->props_cap, p->nprops + 1, sizeof(pr)))
		return set_err(e, line, t->col, ENOMEM, "out of memory");
	p->props[p->nprops++] = pr;
	return 0;
}

static int parse_rule(struct hv_policy *p, const struct token *t, size_t n, unsigned line,
                      struct hv_policy_error *e)
{
	bool is_default = false;
	int op = -1, action;
	size_t first = p->nprops;

	for (size_t i = 0; i + 1 < n; i++) {
		int rc;

		if (i == 0 && tok_eq(&t[i], "DEFAULT")) {
			is_default = true;
		} else if (op < 0) {
			op = parse_op(&t[i]);
			if (op < 0)
				return set_err(
				        e, line, t[i].col, EBADMSG,
				        is_default
				                ? "DEFAULT takes op=<OP> or action=<ACTION> "
				                  "next, no properties"
				                : "a rule starts with op=<OP> (EXECUTE, FIRMWARE, "
				                  "KMODULE, KEXEC_IMAGE, KEXEC_INITRAMFS, POLICY, "
				                  "X509_CERT)");
		} else {
			rc = parse_prop(p, &t[i], line, e);
			if (rc)
				return rc;
		}
	}

	action = parse_action(&t[n - 1]);
	if (action == ACT_NONE)
		return set_err(e, line, t[n - 1].col, EBADMSG,
		               "the last token must be action=ALLOW or action=DENY");
	if (is_default) {
		if (p->nprops != first)
			return set_err(e, line, p->props[first].col, EBADMSG,
			               "a DEFAULT line takes no properties");
		if (op < 0) {
			if (p->global_default != ACT_NONE)
				return set_err(e, line, t[0].col, EBADMSG,
				               "second global DEFAULT (first on line %u)",
				               p->global_line);
			p->global_default = (int8_t)action;
			p->global_line = line;
		} else {
			if (p->op_default[op] != ACT_NONE)
				return set_err(e, line, t[0].col, EBADMSG,
				               "second DEFAULT for op=%s (first on line %u)",
				               op_names[op], p->op_default_line[op]);
			p->op_default[op] = (int8_t)action;
			p->op_default_line[op] = line;
		}
		return 0;
	}
	if (op < 0)
		return set_err(e, line, t[0].col, EBADMSG,
		               "a rule needs op=<OP> first and action=<ACTION> last");
	if (grow((void **)&p->rules, &p->rules_cap, p->nrules + 1, sizeof(struct rule)))
		return set_err(e, line, t[0].col, ENOMEM, "out of memory");
	p->rules[p->nrules++] = (struct rule){
	        .op = (uint8_t)op,
	        .action = (uint8_t)action,
	        .line = line,
	        .first = first,
	        .count = p->nprops - first,
	};
	return 0;
}

static struct hv_policy *policy_new(void)
{
	struct hv_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->global_default = ACT_NONE;
	for (int i = 0; i < OP_COUNT; i++)
		p->op_default[i] = ACT_NONE;
	return p;
}

void hv_policy_free(struct hv_policy *p)
{
	if (!p)
		return;
	free(p->text);
	free(p->name);
	free(p->rules);
	free(p->props);
	free(p);
}

/* Editor-style position of byte @off: LF, CRLF and a lone CR end a line. */
static void position(const char *s, size_t off, unsigned *line, unsigned *col)
{
	unsigned l = 1;
	size_t start = 0;

	for (size_t i = 0; i < off; i++) {
		if (s[i] == '\n' || (s[i] == '\r' && (i + 1 >= off || s[i + 1] != '\n'))) {
			l++;
			start = i + 1;
		}
	}
	*line = l;
	*col = (unsigned)(off - start + 1);
}

static int parse_text(struct hv_policy *p, struct hv_policy_error *e)
{
	struct token *toks = NULL;
	size_t toks_cap = 0;
	bool header = false;
	unsigned line = 1;
	const char *s = p->text, *end = p->text + p->text_len;
	int rc = 0;

	while (s <= end && !rc) {
		const char *eol = s, *stop, *q;
		size_t n = 0;

		/* the copy is NUL-terminated at end, so strcspn stops there */
		eol = s + strcspn(s, "\n\r");
		stop = memchr(s, '#', (size_t)(eol - s));
		if (!stop)
			stop = eol;
		while (stop > s && k_isspace((unsigned char)stop[-1]))
			stop--;

		for (q = s; q < stop;) {
			const char *b;

			while (q < stop && (*q == ' ' || *q == '\t'))
				q++;
			if (q == stop)
				break;
			b = q;
			while (q < stop && *q != ' ' && *q != '\t')
				q++;
			if (grow((void **)&toks, &toks_cap, n + 1, sizeof(*toks))) {
				rc = set_err(e, line, 1, ENOMEM, "out of memory");
				break;
			}
			toks[n++] = (struct token){b, (size_t)(q - b), (unsigned)(b - s + 1)};
		}
		if (!rc && n) {
			if (!header) {
				rc = parse_header(p, toks, n, line, e);
				header = true;
			} else {
				rc = parse_rule(p, toks, n, line, e);
			}
		}
		if (eol >= end)
			break;
		/* A CR LF pair is one line for the operator, two for the kernel;
		 * the kernel's extra line is empty, so counting it once is exact. */
		if (eol[0] == '\r' && eol + 1 < end && eol[1] == '\n')
			eol++;
		s = eol + 1;
		line++;
	}
	free(toks);
	if (rc)
		return rc;
	if (!header)
		return set_err(e, 0, 0, EBADMSG,
		               "no header line (policy_name=... policy_version=...)");
	if (p->global_default == ACT_NONE) {
		for (int i = 0; i < OP_COUNT; i++)
			if (p->op_default[i] == ACT_NONE)
				return set_err(
				        e, 0, 0, EBADMSG,
				        "no global DEFAULT, and op=%s has no DEFAULT of its own",
				        op_names[i]);
	}
	return 0;
}

int hv_policy_parse(const void *text, size_t len, struct hv_policy **out,
                    struct hv_policy_error *err)
{
	struct hv_policy *p;
	size_t n;
	int rc;

	if (err)
		memset(err, 0, sizeof(*err));
	if (!len)
		return set_err(err, 0, 0, EBADMSG, "empty policy");
	p = policy_new();
	if (!p)
		return set_err(err, 0, 0, ENOMEM, "out of memory");
	n = strnlen(text, len);
	if (n < len) {
		p->has_nul = true;
		position(text, n, &p->nul_line, &p->nul_col);
	}
	p->text = malloc(n + 1);
	if (!p->text) {
		hv_policy_free(p);
		return set_err(err, 0, 0, ENOMEM, "out of memory");
	}
	memcpy(p->text, text, n);
	p->text[n] = '\0';
	p->text_len = n;

	rc = parse_text(p, err);
	if (rc) {
		hv_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

const char *hv_policy_errno_name(int err)
{
	switch (err) {
	case EACCES:
		return "EACCES";
	case ENAMETOOLONG:
		return "ENAMETOOLONG";
	case EMSGSIZE:
		return "EMSGSIZE";
	case ENOMEM:
		return "ENOMEM";
	default:
		return errname(err);
	}
}

int hv_policy_check_deploy(const struct hv_policy *p, size_t text_len, struct hv_policy_error *err)
{
	const char *n = p->name;

	if (err)
		memset(err, 0, sizeof(*err));
	/* securityfs looks the name up as one path component first (EACCES),
	 * then the directory refuses an over-long entry (ENAMETOOLONG). */
	if (!strcmp(n, ".") || !strcmp(n, "..") || strchr(n, '/'))
		return set_err(err, 0, 0, EACCES,
		               "policy name '%.100s' cannot be a securityfs directory name "
		               "(contains '/' or is '.' or '..')",
		               n);
	if (p->name_len > HV_IPE_MAX_NAME)
		return set_err(err, 0, 0, ENAMETOOLONG, "policy name is %zu bytes, over %u",
		               p->name_len, HV_IPE_MAX_NAME);
	if (text_len > HV_IPE_MAX_SIGNED_BLOB - HV_POLICY_SIGNED_MIN_OVERHEAD)
		return set_err(err, 0, 0, EMSGSIZE,
		               "%zu bytes of text cannot fit in a %u-byte signed blob", text_len,
		               HV_IPE_MAX_SIGNED_BLOB);
	return 0;
}

const char *hv_policy_name(const struct hv_policy *p)
{
	return p->name;
}

struct hv_ipe_version hv_policy_version(const struct hv_policy *p)
{
	return p->version;
}

/* ---- lint ---- */

struct alg_len {
	const char *name;
	size_t len;
};

/* Algorithms dm-verity (any kernel hash) and fs-verity (sha256, sha512) can
 * report; the name is compared with strcmp, so case matters. */
static const struct alg_len dmv_algs[] = {
        {"sha1", 20},        {"sha224", 28},      {"sha256", 32},      {"sha384", 48},
        {"sha512", 64},      {"sha3-224", 28},    {"sha3-256", 32},    {"sha3-384", 48},
        {"sha3-512", 64},    {"blake2b-256", 32}, {"blake2b-512", 64}, {"sm3", 32},
        {"streebog256", 32}, {"streebog512", 64}, {"md5", 16},         {"rmd160", 20},
        {"wp512", 64},       {"blake2b-384", 48}, {NULL, 0},
};
static const struct alg_len fsv_algs[] = {{"sha256", 32}, {"sha512", 64}, {NULL, 0}};

struct lint_out {
	struct hv_policy_warning *w;
	size_t max, n;
};

static void warn(struct lint_out *o, unsigned line, unsigned col, enum hv_policy_lint_code code,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void warn(struct lint_out *o, unsigned line, unsigned col, enum hv_policy_lint_code code,
                 const char *fmt, ...)
{
	va_list ap;

	if (o->n < o->max) {
		struct hv_policy_warning *w = &o->w[o->n];

		w->line = line;
		w->col = col;
		w->code = code;
		va_start(ap, fmt);
		vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
		va_end(ap);
	}
	o->n++;
}

static void lint_digest(const struct hv_policy *p, const struct prop *pr, struct lint_out *o)
{
	const struct alg_len *t = pr->type == P_DMV_ROOTHASH ? dmv_algs : fsv_algs;
	const char *alg = p->text + pr->alg_off;
	const char *what = pr->type == P_DMV_ROOTHASH ? "dmverity_roothash" : "fsverity_digest";

	if (!pr->hex_len) {
		warn(o, pr->line, pr->col, HV_LINT_DIGEST_EMPTY,
		     "%s has an empty digest, which never matches", what);
		return;
	}
	for (; t->name; t++) {
		if (strlen(t->name) == pr->alg_len && !memcmp(t->name, alg, pr->alg_len)) {
			if (pr->hex_len / 2 != t->len)
				warn(o, pr->line, pr->col, HV_LINT_DIGEST_LENGTH,
				     "%s: %s digest has %zu bytes, not %zu; it never matches", what,
				     t->name, pr->hex_len / 2, t->len);
			return;
		}
	}
	warn(o, pr->line, pr->col, HV_LINT_DIGEST_ALGORITHM,
	     "%s: algorithm '%.*s' is not one the kernel reports (names are lower-case, e.g. "
	     "sha256); it never matches",
	     what, (int)(pr->alg_len > 40 ? 40 : pr->alg_len), alg);
}

static bool digest_eq(const struct hv_policy *pa, const struct prop *a, const struct hv_policy *pb,
                      const struct prop *b)
{
	if (a->type != b->type || a->alg_len != b->alg_len || a->hex_len != b->hex_len)
		return false;
	if (memcmp(pa->text + a->alg_off, pb->text + b->alg_off, a->alg_len))
		return false;
	return !strncasecmp(pa->text + a->hex_off, pb->text + b->hex_off, a->hex_len);
}

static void lint_rule(const struct hv_policy *p, const struct rule *r, bool after_boot,
                      struct lint_out *o)
{
	static const uint8_t pairs[3][2] = {
	        {P_DMV_SIG_TRUE, P_DMV_SIG_FALSE},
	        {P_FSV_SIG_TRUE, P_FSV_SIG_FALSE},
	        {P_BOOT_TRUE, P_BOOT_FALSE},
	};
	unsigned seen = 0;
	const struct prop *dig[2] = {NULL, NULL};
	bool dig_conflict[2] = {false, false};

	for (size_t i = 0; i < r->count; i++) {
		const struct prop *pr = &p->props[r->first + i];

		seen |= 1u << pr->type;
		if (pr->type == P_DMV_ROOTHASH || pr->type == P_FSV_DIGEST) {
			int k = pr->type == P_FSV_DIGEST;

			lint_digest(p, pr, o);
			if (!dig[k])
				dig[k] = pr;
			else if (!digest_eq(p, dig[k], p, pr))
				dig_conflict[k] = true;
		}
		if (pr->type == P_BOOT_TRUE && after_boot)
			warn(o, pr->line, pr->col, HV_LINT_BOOT_VERIFIED,
			     "boot_verified=TRUE trusts the initial rootfs, which is gone after "
			     "switch_root; a policy for after boot should not rely on it");
	}
	for (int i = 0; i < 3; i++)
		if ((seen >> pairs[i][0] & 1) && (seen >> pairs[i][1] & 1))
			warn(o, r->line, 1, HV_LINT_CONTRADICTION,
			     "rule requires %s and its opposite; it never matches",
			     prop_tok[pairs[i][0]].s);
	for (int k = 0; k < 2; k++)
		if (dig_conflict[k])
			warn(o, r->line, 1, HV_LINT_CONTRADICTION,
			     "rule requires two different %s values; it never matches",
			     k ? "fsverity_digest" : "dmverity_roothash");
}

size_t hv_policy_lint(const struct hv_policy *p, bool after_boot, struct hv_policy_warning *w,
                      size_t max)
{
	struct lint_out o = {w, max, 0};
	int8_t exec = p->op_default[0];

	if (p->has_nul)
		warn(&o, p->nul_line, p->nul_col, HV_LINT_NUL,
		     "NUL byte: the kernel ignores everything from here on");
	for (size_t i = 0; i < p->name_len; i++) {
		unsigned char c = (unsigned char)p->name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-')) {
			warn(&o, p->name_line, p->name_col, HV_LINT_NAME,
			     "policy name has bytes outside [A-Za-z0-9._-]; IPE's audit records "
			     "print "
			     "it unescaped");
			break;
		}
	}
	if (exec == ACT_NONE)
		exec = p->global_default;
	if (exec == ACT_ALLOW)
		warn(&o, p->op_default[0] != ACT_NONE ? p->op_default_line[0] : p->global_line, 1,
		     HV_LINT_EXECUTE_ALLOWED,
		     "EXECUTE is allowed by default: code from any volume may run unless a rule "
		     "denies it");
	for (size_t i = 0; i < p->nrules; i++)
		lint_rule(p, &p->rules[i], after_boot, &o);
	return o.n;
}

/* ---- format ---- */

static int put_str(struct hv_buf *b, const char *s)
{
	return hv_buf_append(b, s, strlen(s));
}

static int put_prop(struct hv_buf *b, const struct hv_policy *p, const struct prop *pr)
{
	size_t start;
	int rc;

	rc = hv_buf_append(b, " ", 1);
	if (!rc)
		rc = hv_buf_append(b, prop_tok[pr->type].s, prop_tok[pr->type].len);
	if (rc || (pr->type != P_DMV_ROOTHASH && pr->type != P_FSV_DIGEST))
		return rc;
	rc = hv_buf_append(b, p->text + pr->alg_off, pr->alg_len);
	if (!rc)
		rc = hv_buf_append(b, ":", 1);
	start = b->len;
	if (!rc)
		rc = hv_buf_append(b, p->text + pr->hex_off, pr->hex_len);
	for (size_t i = start; !rc && i < b->len; i++)
		if (b->data[i] >= 'A' && b->data[i] <= 'F')
			b->data[i] = (uint8_t)(b->data[i] - 'A' + 'a');
	return rc;
}

int hv_policy_format(const struct hv_policy *p, char **out, size_t *len)
{
	struct hv_buf b;
	char ver[24];
	int rc;

	/* Canonical text is never longer than twice the input plus the header. */
	hv_buf_init(&b, 2 * p->text_len + 4096);
	rc = hv_buf_append(&b, "policy_name=", 12);
	if (!rc)
		rc = hv_buf_append(&b, p->name, p->name_len);
	if (!rc)
		rc = hv_buf_printf(&b, " policy_version=%s\n",
		                   hv_ipe_version_format(p->version, ver, sizeof(ver)));
	if (!rc && p->global_default != ACT_NONE)
		rc = hv_buf_printf(&b, "DEFAULT action=%s\n", action_names[p->global_default]);
	for (int op = 0; !rc && op < OP_COUNT; op++)
		if (p->op_default[op] != ACT_NONE)
			rc = hv_buf_printf(&b, "DEFAULT op=%s action=%s\n", op_names[op],
			                   action_names[p->op_default[op]]);
	for (int op = 0; !rc && op < OP_COUNT; op++) {
		for (size_t i = 0; !rc && i < p->nrules; i++) {
			const struct rule *r = &p->rules[i];

			if (r->op != op)
				continue;
			rc = hv_buf_append(&b, op_tok[op].s, op_tok[op].len);
			for (size_t k = 0; !rc && k < r->count; k++)
				rc = put_prop(&b, p, &p->props[r->first + k]);
			if (!rc)
				rc = put_str(&b, r->action == ACT_ALLOW ? " action=ALLOW\n"
				                                        : " action=DENY\n");
		}
	}
	if (!rc)
		rc = hv_buf_append(&b, "", 1);
	if (rc) {
		hv_buf_free(&b);
		return rc == -E2BIG ? -ENOMEM : rc;
	}
	*len = b.len - 1;
	*out = (char *)b.data;
	return 0;
}

/* ---- compare ---- */

static int prop_cmp(const struct hv_policy *pa, const struct prop *a, const struct hv_policy *pb,
                    const struct prop *b)
{
	int d;

	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->type != P_DMV_ROOTHASH && a->type != P_FSV_DIGEST)
		return 0;
	if (a->alg_len != b->alg_len)
		return a->alg_len < b->alg_len ? -1 : 1;
	if (a->hex_len != b->hex_len)
		return a->hex_len < b->hex_len ? -1 : 1;
	d = memcmp(pa->text + a->alg_off, pb->text + b->alg_off, a->alg_len);
	if (d)
		return d;
	return strncasecmp(pa->text + a->hex_off, pb->text + b->hex_off, a->hex_len);
}

static int prop_qsort_cmp(const void *x, const void *y, void *ctx)
{
	const struct hv_policy *p = ctx;

	return prop_cmp(p, *(const struct prop *const *)x, p, *(const struct prop *const *)y);
}

/* The properties of a rule as a sorted set: order and repetition do not
 * change what a rule matches (all must hold). Returns the set's size. */
static size_t prop_set(const struct hv_policy *p, const struct rule *r, const struct prop **v)
{
	size_t n = 0;

	for (size_t i = 0; i < r->count; i++)
		v[i] = &p->props[r->first + i];
	qsort_r(v, r->count, sizeof(*v), prop_qsort_cmp, (void *)p);
	for (size_t i = 0; i < r->count; i++)
		if (!n || prop_cmp(p, v[n - 1], p, v[i]))
			v[n++] = v[i];
	return n;
}

static int rule_cmp(const struct hv_policy *a, const struct rule *ra, const struct hv_policy *b,
                    const struct rule *rb)
{
	const struct prop **va, **vb;
	size_t na, nb;
	int res = 1;

	if (ra->action != rb->action)
		return 1;
	va = malloc((ra->count + 1) * sizeof(*va));
	vb = malloc((rb->count + 1) * sizeof(*vb));
	if (va && vb) {
		na = prop_set(a, ra, va);
		nb = prop_set(b, rb, vb);
		res = na != nb;
		for (size_t i = 0; !res && i < na; i++)
			res = prop_cmp(a, va[i], b, vb[i]) != 0;
	}
	free(va);
	free(vb);
	return res;
}

int hv_policy_compare(const struct hv_policy *a, const struct hv_policy *b)
{
	if (a->name_len != b->name_len || memcmp(a->name, b->name, a->name_len))
		return 1;
	if (hv_ipe_version_cmp(a->version, b->version) || a->global_default != b->global_default)
		return 1;
	for (int op = 0; op < OP_COUNT; op++) {
		size_t i = 0, j = 0;

		if (a->op_default[op] != b->op_default[op])
			return 1;
		for (;;) {
			while (i < a->nrules && a->rules[i].op != op)
				i++;
			while (j < b->nrules && b->rules[j].op != op)
				j++;
			if (i == a->nrules || j == b->nrules)
				break;
			if (rule_cmp(a, &a->rules[i], b, &b->rules[j]))
				return 1;
			i++;
			j++;
		}
		if (i != a->nrules || j != b->nrules)
			return 1;
	}
	return 0;
}

size_t hv_policy_rule_count(const struct hv_policy *p)
{
	return p->nrules;
}
