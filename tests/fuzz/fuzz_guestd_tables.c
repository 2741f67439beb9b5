// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the guest agent's other parsers of untrusted text:
 * dm-verity table lines, the kernel command line, transport addresses, boot
 * ids, and the header of a policy inside a PKCS#7 blob.
 */
#include "../../guest/agent/apply.h"
#include "../../guest/agent/evidence.h"
#include "../../guest/agent/transport.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct ga_verity_table t;
	struct ga_cmdline c;
	struct ga_addr a;
	uint8_t id[16];
	uint16_t v[3];
	char name[256], ver[32];

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (ga_verity_parse(s, &t) == 0 &&
	    (t.root_hash_len > sizeof(t.root_hash) || t.salt_len > sizeof(t.salt)))
		__builtin_trap();
	(void)ga_cmdline_parse((const char *)data, size, &c);
	(void)ga_addr_parse(s, &a);
	(void)ga_boot_id_parse((const char *)data, size, id);
	(void)ga_version_parse(s, v);
	if (ga_blob_header(data, size, name, sizeof(name), ver, sizeof(ver)) == 0 &&
	    (strlen(name) >= sizeof(name) || strlen(ver) >= sizeof(ver)))
		__builtin_trap();
	free(s);
	return 0;
}
