/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipe-load: the guest half of tests/vm/ipe-differential.
 *
 * Runs inside a throwaway initramfs, performs one operation on IPE's securityfs
 * (or one execve) and prints exactly one line that the host parses:
 *
 *   RESULT <id> OK [detail]
 *   RESULT <id> <ERRNO-NAME>
 *
 * A policy blob is written with ONE write() call, because IPE treats every
 * write() as a complete blob. The "chunked" form of `put` deliberately writes
 * in pieces to show that the kernel does not reassemble them.
 *
 * usage:
 *   ipe-load put ID PATH FILE [CHUNK]   write FILE to PATH (in CHUNK-byte writes)
 *   ipe-load str ID PATH STRING         write STRING to PATH
 *   ipe-load read ID PATH               print PATH's content (one line) as detail
 *   ipe-load exec ID PROGRAM [ARG...]   execve PROGRAM; OK when the exec succeeded
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_BLOB (4u << 20)

static int result(const char *id, int err, const char *detail)
{
	const char *name = err ? strerrorname_np(err) : "OK";

	if (!name)
		printf("RESULT %s E%d\n", id, err);
	else if (detail)
		printf("RESULT %s %s %s\n", id, name, detail);
	else
		printf("RESULT %s %s\n", id, name);
	fflush(stdout);
	return err ? 1 : 0;
}

/* Reads all of FILE into a malloc'd buffer; returns its length or -errno. */
static ssize_t slurp(const char *file, char **out)
{
	struct stat st;
	ssize_t n;
	char *buf;
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_size < 0 || (size_t)st.st_size > MAX_BLOB) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return n < 0 ? -errno : -EIO;
	}
	*out = buf;
	return n;
}

/* Writes LEN bytes of BUF to PATH in writes of at most CHUNK bytes (0: one write). */
static int put(const char *path, const char *buf, size_t len, size_t chunk)
{
	size_t off = 0;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (!chunk)
		chunk = len ? len : 1;
	do {
		size_t n = len - off < chunk ? len - off : chunk;
		ssize_t w = write(fd, buf + off, n);

		if (w < 0) {
			err = errno;
			break;
		}
		if ((size_t)w != n) {
			err = EIO;
			break;
		}
		off += n;
	} while (off < len);
	if (close(fd) < 0 && !err)
		err = errno;
	return err;
}

static int cmd_put(const char *id, int argc, char **argv)
{
	char *buf = NULL;
	size_t chunk = 0;
	ssize_t len;
	int err;

	if (argc < 2 || argc > 3)
		return result(id, EINVAL, "usage");
	if (argc == 3)
		chunk = strtoul(argv[2], NULL, 10);
	len = slurp(argv[1], &buf);
	if (len < 0)
		return result(id, (int)-len, "reading-blob");
	err = put(argv[0], buf, (size_t)len, chunk);
	free(buf);
	return result(id, err, NULL);
}

static int cmd_read(const char *id, const char *path)
{
	char buf[256], *nl;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return result(id, errno, NULL);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		int err = errno;

		close(fd);
		return result(id, err, NULL);
	}
	close(fd);
	buf[n] = '\0';
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	return result(id, 0, buf);
}

/*
 * Forks and execs; the child reports a failed execve through a close-on-exec
 * pipe, so "OK" means the kernel let the program start.
 */
static int cmd_exec(const char *id, char **argv)
{
	int pfd[2], err = 0, status;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return result(id, errno, "pipe");
	pid = fork();
	if (pid < 0)
		return result(id, errno, "fork");
	if (pid == 0) {
		int e;

		close(pfd[0]);
		execv(argv[0], argv);
		e = errno;
		if (write(pfd[1], &e, sizeof(e)) != sizeof(e))
			_exit(126);
		_exit(127);
	}
	close(pfd[1]);
	n = read(pfd[0], &err, sizeof(err));
	close(pfd[0]);
	if (n != sizeof(err))
		err = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return result(id, err, NULL);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: ipe-load put|str|read|exec ID PATH [ARG...]\n");
		return 2;
	}
	if (!strcmp(argv[1], "put"))
		return cmd_put(argv[2], argc - 3, argv + 3);
	if (!strcmp(argv[1], "str") && argc == 5)
		return result(argv[2], put(argv[3], argv[4], strlen(argv[4]), 0), NULL);
	if (!strcmp(argv[1], "read") && argc == 4)
		return cmd_read(argv[2], argv[3]);
	if (!strcmp(argv[1], "exec"))
		return cmd_exec(argv[2], argv + 3);
	fprintf(stderr, "ipe-load: unknown command or arguments\n");
	return 2;
}
