// SPDX-License-Identifier: Apache-2.0
/* shared/util unit tests: hv_read_file() limits on regular files and on pipes. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/buf.h"

#define MAX 65535u

/* Read @total bytes through a pipe fed in @chunk-byte writes, as from stdin. */
static int read_pipe(size_t total, size_t chunk, size_t *len)
{
	char path[64];
	uint8_t *data = NULL;
	int p[2], r;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static char buf[4096];

		close(p[0]);
		memset(buf, 'a', sizeof(buf));
		for (size_t done = 0; done < total;) {
			size_t n = total - done < chunk ? total - done : chunk;

			if (write(p[1], buf, n) != (ssize_t)n)
				_exit(1);
			done += n;
			usleep(200); /* let the reader see short reads */
		}
		_exit(0);
	}
	close(p[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	r = hv_read_file(path, MAX, &data, len);
	close(p[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	free(data);
	return r;
}

static int read_regular(size_t total, size_t *len)
{
	char path[] = "/tmp/hvipe-test-util.XXXXXX";
	uint8_t *data = NULL, *buf = calloc(1, total + 1);
	int fd = mkstemp(path), r;

	assert_true(fd >= 0 && buf);
	assert_int_equal(write(fd, buf, total), (ssize_t)total);
	close(fd);
	r = hv_read_file(path, MAX, &data, len);
	unlink(path);
	free(buf);
	free(data);
	return r;
}

static void test_read_file_limits(void **state)
{
	size_t len = 0;

	(void)state;
	assert_int_equal(read_regular(MAX, &len), 0);
	assert_int_equal(len, MAX);
	assert_int_equal(read_regular(MAX + 1, &len), -EFBIG);
	assert_int_equal(read_regular(0, &len), 0);
	assert_int_equal(len, 0);
}

/* Short reads near the cap: a file of at most @max bytes is read, whatever its chunks. */
static void test_read_file_pipe_short_reads(void **state)
{
	size_t len = 0;

	(void)state;
	assert_int_equal(read_pipe(63000, 1000, &len), 0);
	assert_int_equal(len, 63000);
	assert_int_equal(read_pipe(MAX, 4096, &len), 0);
	assert_int_equal(len, MAX);
	assert_int_equal(read_pipe(MAX + 1, 1000, &len), -EFBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_read_file_limits),
	        cmocka_unit_test(test_read_file_pipe_short_reads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
