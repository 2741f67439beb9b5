/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the IPE policy parser: any accepted input must format
 * to text that parses to the same policy (compare == 0), formatting must be
 * idempotent, and lint and the deployment check must not misbehave.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hv_policy *p = NULL, *q = NULL;
	struct hv_policy_error e;
	struct hv_policy_warning w[8];
	char *f1 = NULL, *f2 = NULL;
	size_t l1, l2;

	if (hv_policy_parse(data, size, &p, &e)) {
		if (e.err <= 0 || e.msg[0] == '\0')
			abort();
		return 0;
	}
	hv_policy_lint(p, true, w, 8);
	hv_policy_check_deploy(p, size, &e);
	if (hv_policy_format(p, &f1, &l1))
		abort();
	if (strlen(f1) != l1)
		abort();
	if (hv_policy_parse(f1, l1, &q, &e))
		abort();
	if (hv_policy_compare(p, q) || hv_policy_compare(q, p))
		abort();
	if (hv_policy_format(q, &f2, &l2) || l1 != l2 || memcmp(f1, f2, l1))
		abort();
	free(f1);
	free(f2);
	hv_policy_free(p);
	hv_policy_free(q);
	return 0;
}
