/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scope-bound cleanup. Declare with the matching attribute and hand ownership
 * out with TAKE_PTR / TAKE_FD:
 *
 *   _cleanup_free_ char *buf = malloc(n);
 *   _cleanup_close_ int fd = open(...);
 *   ...
 *   *out = TAKE_PTR(buf);
 *
 * Helpers for library handles (OpenSSL, SQLite, libvirt) live beside the code
 * that uses those libraries, built with DEFINE_CLEANUP_FUNC.
 */
#ifndef HVIPE_UTIL_CLEANUP_H
#define HVIPE_UTIL_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFINE_CLEANUP_FUNC(type, func)                                                            \
	static inline void func##p(type *p)                                                        \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}

static inline void hv_freep(void *p)
{
	free(*(void **)p);
}

static inline void hv_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}

static inline void hv_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_(f)     __attribute__((cleanup(f)))
#define _cleanup_free_   _cleanup_(hv_freep)
#define _cleanup_close_  _cleanup_(hv_closep)
#define _cleanup_fclose_ _cleanup_(hv_fclosep)

#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _tp = (p);                                                           \
		(p) = NULL;                                                                        \
		_tp;                                                                               \
	})

#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _tf = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_tf;                                                                               \
	})

/* Overwrite secret bytes so the compiler cannot drop the store. */
static inline void hv_wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
