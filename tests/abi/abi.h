/* Shared helpers for the ABI test programs (the C files in tests/abi).
 *
 * Each program prints deterministic lines and is run twice, natively on the
 * host kernel and in the microVM (tests/e2e/cprog.rs); the two outputs must be
 * identical. So a program never prints pids, tids, addresses, times, CPU
 * numbers or counts, random bytes, host names or kernel versions: only values
 * Linux defines, errno names, and relations printed as booleans ("yes"/"no").
 *
 * Builds with glibc and musl (gcc, musl-gcc), static and static-pie: only libc
 * headers (musl-gcc has no <linux/...> headers), and no glibc-only functions
 * such as strerrorname_np.
 */
#ifndef ABI_H
#define ABI_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The name of a Linux errno value, "E<n>" for one not in the table. */
static inline const char *ename(int e)
{
	static char other[16];
	switch (e) {
#define E_(x) \
	case x: \
		return #x;
		E_(EPERM) E_(ENOENT) E_(ESRCH) E_(EINTR) E_(EIO) E_(ENXIO) E_(E2BIG)
		E_(ENOEXEC) E_(EBADF) E_(ECHILD) E_(EAGAIN) E_(ENOMEM) E_(EACCES)
		E_(EFAULT) E_(ENOTBLK) E_(EBUSY) E_(EEXIST) E_(EXDEV) E_(ENODEV)
		E_(ENOTDIR) E_(EISDIR) E_(EINVAL) E_(ENFILE) E_(EMFILE) E_(ENOTTY)
		E_(ETXTBSY) E_(EFBIG) E_(ENOSPC) E_(ESPIPE) E_(EROFS) E_(EMLINK)
		E_(EPIPE) E_(EDOM) E_(ERANGE) E_(EDEADLK) E_(ENAMETOOLONG) E_(ENOLCK)
		E_(ENOSYS) E_(ENOTEMPTY) E_(ELOOP) E_(ENOMSG) E_(EIDRM) E_(ENOSTR)
		E_(ENODATA) E_(ETIME) E_(ENOSR) E_(EREMOTE) E_(ENOLINK) E_(EPROTO)
		E_(EBADMSG) E_(EOVERFLOW) E_(EILSEQ) E_(EUSERS) E_(ENOTSOCK)
		E_(EDESTADDRREQ) E_(EMSGSIZE) E_(EPROTOTYPE) E_(ENOPROTOOPT)
		E_(EPROTONOSUPPORT) E_(EOPNOTSUPP) E_(EAFNOSUPPORT) E_(EADDRINUSE)
		E_(EADDRNOTAVAIL) E_(ENETDOWN) E_(ENETUNREACH) E_(ECONNABORTED)
		E_(ECONNRESET) E_(ENOBUFS) E_(EISCONN) E_(ENOTCONN) E_(ETIMEDOUT)
		E_(ECONNREFUSED) E_(EALREADY) E_(EINPROGRESS) E_(ESTALE) E_(EDQUOT)
		E_(ECANCELED) E_(EOWNERDEAD) E_(ENOTRECOVERABLE) E_(ERFKILL)
		E_(EHWPOISON)
#undef E_
	}
	snprintf(other, sizeof other, "E%d", e);
	return other;
}

/* Runs EXPR (a call returning -1 and setting errno on failure) and prints
 * "NAME: VALUE" or "NAME: -1 ENAME". Evaluates to the result. */
#define CHECK(name, expr) ABI_CHECK_((name), (expr), 1)
/* The same, but prints "NAME: ok" instead of a value (for results that differ
 * between runs, such as an fd-independent pointer or a tid). */
#define CHECK_OK(name, expr) ABI_CHECK_((name), (expr), 0)
#define ABI_CHECK_(name, expr, show) \
	({ \
		errno = 0; \
		long r_ = (long)(expr); \
		int e_ = errno; \
		abi_check_((name), r_, e_, (show)); \
	})

static inline long abi_check_(const char *name, long r, int e, int show_value)
{
	if (r == -1)
		printf("%s: -1 %s\n", name, ename(e));
	else if (show_value)
		printf("%s: %ld\n", name, r);
	else
		printf("%s: ok\n", name);
	return r;
}

/* For calls that return an errno value instead of setting errno
 * (posix_memalign, clock_nanosleep): "NAME: 0" or "NAME: ENAME". */
#define CHECK_RET(name, expr) abi_check_ret_((name), (int)(expr))
static inline int abi_check_ret_(const char *name, int r)
{
	if (r == 0)
		printf("%s: 0\n", name);
	else
		printf("%s: %s\n", name, ename(r));
	return r;
}

/* A relation that must hold in both runs, printed as "NAME: yes" or "NAME: no". */
#define SHOW(name, cond) printf("%s: %s\n", (name), (cond) ? "yes" : "no")

/* Line-buffered stdout: every line reaches the pipe at once, so output before
 * a fork is never duplicated and output before a crash is never lost. */
static inline void abi_line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* A pid and tid that exist neither on the host nor in the microVM (above any
 * pid_max). */
#define NO_SUCH_PID INT_MAX

/* An address that user space can never map (non-canonical), and one that is
 * never mapped in these programs (in the first page). Volatile, so that the
 * compiler does not diagnose the calls that pass them on purpose. */
static void *volatile abi_bad_addr_ __attribute__((unused)) = (void *)0x8000000000000000ul;
static void *volatile abi_null_page_ __attribute__((unused)) = (void *)8;
#define BAD_ADDR (abi_bad_addr_)
#define NULL_PAGE (abi_null_page_)

/* Describes a wait status: "exited N", "killed by SIGNAME" (no core-dump
 * flag: whether a core is written depends on the host's core_pattern). */
static inline const char *abi_status(int st)
{
	static char buf[64];
	if (WIFEXITED(st))
		snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof buf, "killed by signal %d", WTERMSIG(st));
	else if (WIFSTOPPED(st))
		snprintf(buf, sizeof buf, "stopped by signal %d", WSTOPSIG(st));
	else
		snprintf(buf, sizeof buf, "status %#x", st);
	return buf;
}

/* Waits for PID and returns the description of its status. */
static inline const char *abi_wait(pid_t pid)
{
	int st = 0;
	pid_t r = waitpid(pid, &st, 0);
	if (r != pid)
		return r == -1 ? ename(errno) : "wrong child";
	return abi_status(st);
}

/* Runs FN in a forked child that exits with FN's return value; prints what
 * the child printed (line-buffered, in order) and then "NAME: STATUS". */
static inline void abi_in_child(const char *name, int (*fn)(void))
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		int r = fn();
		fflush(stdout);
		_exit(r);
	}
	if (pid < 0) {
		printf("%s: fork: -1 %s\n", name, ename(errno));
		return;
	}
	printf("%s: %s\n", name, abi_wait(pid));
}

#endif
