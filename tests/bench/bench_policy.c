/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy parsing budget (ARCHITECTURE section 6): parse and validate a
 * 10,000-rule policy in under 10 ms.
 *
 * Prints BENCH lines: the median time of hv_policy_parse() + lint over a
 * generated 10,000-rule policy, and as its ratio the same figure divided by a
 * baseline measured in the same run: a bare tokenizer that only splits the
 * same text into lines and space-separated tokens (the least work any parser
 * must do). A second line gives the canonical formatter the same way.
 */
#include "policy/policy.h"
#include "util/buf.h"
#include "util/hex.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RULES 10000
#define REPS  31

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Count tokens: the floor any parser of this grammar pays. */
static size_t tokenize(const char *s, size_t len)
{
	size_t tokens = 0, i = 0;

	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n'))
			i++;
		if (i < len)
			tokens++;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\n')
			i++;
	}
	return tokens;
}

int main(void)
{
	static const char *ops[] = {"EXECUTE", "KMODULE"};
	double parse_t[REPS], fmt_t[REPS], base_t[REPS];
	struct hv_policy_warning warn[4];
	volatile size_t sink = 0;
	struct hv_buf b;
	uint32_t seed = 12345;

	hv_buf_init(&b, 64u << 20);
	hv_buf_printf(&b, "policy_name=bench policy_version=1.0.0\nDEFAULT action=ALLOW\n"
	                  "DEFAULT op=EXECUTE action=DENY\nDEFAULT op=KMODULE action=DENY\n");
	for (int i = 0; i < RULES; i++) {
		uint8_t h[32];
		char hex[65];

		for (size_t k = 0; k < sizeof(h); k++) {
			seed = seed * 1103515245u + 12345u;
			h[k] = (uint8_t)(seed >> 16);
		}
		hv_hex_encode(hex, h, sizeof(h));
		hv_buf_printf(&b, "op=%s dmverity_roothash=sha256:%s action=ALLOW\n", ops[i % 2],
		              hex);
	}

	for (int r = 0; r < REPS; r++) {
		struct hv_policy_error err;
		struct hv_policy *p = NULL;
		char *out = NULL;
		size_t outlen;
		double t0;

		t0 = now_ms();
		sink += tokenize((const char *)b.data, b.len);
		base_t[r] = now_ms() - t0;

		t0 = now_ms();
		if (hv_policy_parse(b.data, b.len, &p, &err) < 0) {
			fprintf(stderr, "bench_policy: generated policy refused: %u:%u %s\n",
			        err.line, err.col, err.msg);
			return 1;
		}
		sink += hv_policy_lint(p, true, warn, 4);
		parse_t[r] = now_ms() - t0;

		t0 = now_ms();
		if (hv_policy_format(p, &out, &outlen) < 0) {
			fprintf(stderr, "bench_policy: format failed\n");
			return 1;
		}
		fmt_t[r] = now_ms() - t0;
		sink += outlen;
		free(out);
		hv_policy_free(p);
	}

	double base = median(base_t, REPS), parse = median(parse_t, REPS),
	       fmt = median(fmt_t, REPS);
	if (base <= 0)
		base = 1e-6;
	printf("BENCH policy_parse_10k_rules %.3f ms ratio=%.2f\n", parse, parse / base);
	printf("BENCH policy_format_10k_rules %.3f ms ratio=%.2f\n", fmt, fmt / base);
	printf("BENCH policy_parse_10k_rules_budget %.3f ms ratio=%.3f\n", parse, parse / 10.0);
	printf("# baseline: bare tokenizer over the same %zu bytes, median %.3f ms; "
	       "budget ratio is against the 10 ms goal\n",
	       b.len, base);
	hv_buf_free(&b);
	return sink == 0;
}
