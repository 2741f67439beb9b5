/* SPDX-License-Identifier: Apache-2.0 */
/* Names of the actions an actuator takes, as shown and stored. */
#include <errno.h>
#include <string.h>

#include "actuator.h"

static const char *const action_names[] = {
        [HV_ACTION_LOG] = "log",
        [HV_ACTION_PAUSE] = "pause",
        [HV_ACTION_POWEROFF] = "poweroff",
        [HV_ACTION_RESUME] = "resume",
};

const char *hv_action_name(enum hv_action a)
{
	if ((unsigned)a >= sizeof(action_names) / sizeof(action_names[0]))
		return "?";
	return action_names[a];
}

int hv_action_parse(const char *name, enum hv_action *out)
{
	for (unsigned i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++) {
		if (name && strcmp(name, action_names[i]) == 0) {
			*out = (enum hv_action)i;
			return 0;
		}
	}
	return -EINVAL;
}
