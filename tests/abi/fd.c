/* File descriptors: dup/dup2/dup3, fcntl, vectored and positioned I/O on a
 * regular file created with a relative name in the current directory,
 * write/writev to stdout (a pipe), ioctls on fds 0-2 (stdin /dev/null,
 * stdout and stderr pipes, in both runs), fstat of fds 0-2, memfd_create,
 * and running out of descriptors.
 *
 * Only fds 0, 1 and 2 are open at start in both runs, so descriptor numbers
 * are deterministic and printed. Raw syscall() for the error cases.
 */
#include "abi.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <termios.h>

#ifndef F_DUPFD_CLOEXEC
#define F_DUPFD_CLOEXEC 1030
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1
#endif
#ifndef MFD_ALLOW_SEALING
#define MFD_ALLOW_SEALING 2
#endif

#define PAGE 4096ul
#define FILE_NAME "abi-fd.tmp"

static long sys_fcntl(int fd, int cmd, long arg) { return syscall(SYS_fcntl, fd, cmd, arg); }

/* Closes every descriptor above stderr (all below RLIMIT_NOFILE). */
static void close_from_3(void)
{
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
}

static void dups(void)
{
	CHECK("dup(1)", syscall(SYS_dup, 1));
	CHECK("dup(1) again", syscall(SYS_dup, 1));
	CHECK("close(3)", close(3));
	CHECK("dup(1) reuses the lowest free number", syscall(SYS_dup, 1));
	CHECK("close(3)", close(3));
	CHECK("close(4)", close(4));
	CHECK("close(4) again", syscall(SYS_close, 4));
	CHECK("dup(-1)", syscall(SYS_dup, -1));
	CHECK("dup(99) (not open)", syscall(SYS_dup, 99));
	CHECK("dup2(1, 1)", syscall(SYS_dup2, 1, 1));
	CHECK("dup2(99, 99) (not open)", syscall(SYS_dup2, 99, 99));
	CHECK("dup2(1, 10)", syscall(SYS_dup2, 1, 10));
	CHECK("dup2(2, 10) (replaces)", syscall(SYS_dup2, 2, 10));
	CHECK("dup2(99, 10) (bad old fd)", syscall(SYS_dup2, 99, 10));
	CHECK("dup2(1, -1)", syscall(SYS_dup2, 1, -1));
	CHECK("dup2(1, 1023) (RLIMIT_NOFILE - 1)", syscall(SYS_dup2, 1, 1023));
	CHECK("dup2(1, 1024) (RLIMIT_NOFILE)", syscall(SYS_dup2, 1, 1024));
	CHECK("dup2(1, 1 << 20)", syscall(SYS_dup2, 1, 1 << 20));
	CHECK("dup3(1, 1, 0)", syscall(SYS_dup3, 1, 1, 0));
	CHECK("dup3(1, 11, 0)", syscall(SYS_dup3, 1, 11, 0));
	CHECK("dup3(1, 12, O_CLOEXEC)", syscall(SYS_dup3, 1, 12, O_CLOEXEC));
	CHECK("F_GETFD of 11", sys_fcntl(11, F_GETFD, 0));
	CHECK("F_GETFD of 12", sys_fcntl(12, F_GETFD, 0));
	CHECK("dup3(1, 13, 0x1234) (bad flags)", syscall(SYS_dup3, 1, 13, 0x1234));
	CHECK("dup3(1, 13, O_NONBLOCK) (bad flags)", syscall(SYS_dup3, 1, 13, O_NONBLOCK));
	CHECK("dup3(99, 13, 0)", syscall(SYS_dup3, 99, 13, 0));
	CHECK("dup3(1, 1024, 0)", syscall(SYS_dup3, 1, 1024, 0));
	close_from_3();
	CHECK("dup after closing them", syscall(SYS_dup, 0));
	close_from_3();
}

/* F_SETOWN and friends: the owner is recorded per open file description.
   Run in a child with a process group of its own: the group the test
   harness runs us in is not ours to rely on (natively it varies with how
   the suite runs), and the VM's process 1 leads a session (no setpgid). */
static int owners_child(void)
{
	struct f_owner_ex o;
	CHECK_OK("setpgid(0, 0)", setpgid(0, 0));
	int fd = CHECK("dup(1) for the owner calls", syscall(SYS_dup, 1));
	CHECK("F_GETOWN unset", sys_fcntl(fd, F_GETOWN, 0));
	CHECK("F_GETOWN_EX unset", sys_fcntl(fd, F_GETOWN_EX, (long)&o));
	printf("unset owner: type %d pid %d\n", o.type, o.pid);
	CHECK("F_SETOWN getpid()", sys_fcntl(fd, F_SETOWN, getpid()));
	SHOW("F_GETOWN is getpid()", sys_fcntl(fd, F_GETOWN, 0) == getpid());
	CHECK("F_GETOWN_EX after F_SETOWN", sys_fcntl(fd, F_GETOWN_EX, (long)&o));
	printf("owner: type %d (F_OWNER_PID %d), pid is getpid(): %d\n", o.type, F_OWNER_PID, o.pid == getpid());
	int dup_fd = CHECK("dup of it", syscall(SYS_dup, fd));
	SHOW("the dup shares the owner", sys_fcntl(dup_fd, F_GETOWN, 0) == getpid());
	CHECK("F_SETOWN -getpgrp()", sys_fcntl(fd, F_SETOWN, -getpgrp()));
	/* F_GETOWN would now return -pgrp, which a pgrp below 4096 (the VM's
	   pids are small) turns into an "error" in syscall(2): fcntl(2), BUGS.
	   F_GETOWN_EX is how to read it. */
	CHECK("F_GETOWN_EX of a group", sys_fcntl(fd, F_GETOWN_EX, (long)&o));
	printf("group owner: type %d (F_OWNER_PGRP %d)\n", o.type, F_OWNER_PGRP);
	CHECK("F_SETOWN of no such process", sys_fcntl(fd, F_SETOWN, 999999));
	CHECK("F_SETOWN INT_MIN", sys_fcntl(fd, F_SETOWN, -2147483647 - 1));
	o.type = 7;
	o.pid = 0;
	CHECK("F_SETOWN_EX bad type", sys_fcntl(fd, F_SETOWN_EX, (long)&o));
	o.type = F_OWNER_TID;
	o.pid = -5;
	CHECK("F_SETOWN_EX negative pid", sys_fcntl(fd, F_SETOWN_EX, (long)&o));
	o.pid = 0;
	CHECK("F_SETOWN_EX pid 0 (clears)", sys_fcntl(fd, F_SETOWN_EX, (long)&o));
	CHECK("F_GETOWN after clearing", sys_fcntl(fd, F_GETOWN, 0));
	CHECK("F_SETOWN_EX bad pointer", sys_fcntl(fd, F_SETOWN_EX, 8));
	CHECK("F_GETOWN_EX bad pointer", sys_fcntl(fd, F_GETOWN_EX, 8));
	CHECK("F_GETSIG unset", sys_fcntl(fd, F_GETSIG, 0));
	CHECK("F_SETSIG 64", sys_fcntl(fd, F_SETSIG, 64));
	CHECK("F_GETSIG after 64", sys_fcntl(fd, F_GETSIG, 0));
	CHECK("F_SETSIG 65", sys_fcntl(fd, F_SETSIG, 65));
	CHECK("F_SETSIG -1", sys_fcntl(fd, F_SETSIG, -1));
	CHECK("F_SETSIG 0", sys_fcntl(fd, F_SETSIG, 0));
	close_from_3();
	return 0;
}

static void owners(void)
{
	abi_in_child("owner calls in a child with its own process group", owners_child);
}

static void fcntls(void)
{
	CHECK("F_GETFL stdin", sys_fcntl(0, F_GETFL, 0));
	CHECK("F_GETFL stdout", sys_fcntl(1, F_GETFL, 0));
	CHECK("F_GETFL stderr", sys_fcntl(2, F_GETFL, 0));
	CHECK("F_GETFD stdout", sys_fcntl(1, F_GETFD, 0));
	int fd = CHECK("open " FILE_NAME " O_CREAT|O_RDWR|O_TRUNC", open(FILE_NAME, O_CREAT | O_RDWR | O_TRUNC, 0600));
	CHECK("F_GETFL file", sys_fcntl(fd, F_GETFL, 0));
	CHECK("F_SETFL O_APPEND", sys_fcntl(fd, F_SETFL, O_APPEND));
	CHECK("F_GETFL after O_APPEND", sys_fcntl(fd, F_GETFL, 0));
	CHECK("write 5 bytes", write(fd, "hello", 5));
	CHECK("lseek to 0", lseek(fd, 0, SEEK_SET));
	CHECK("write with O_APPEND (goes to the end)", write(fd, "WORLD", 5));
	CHECK("lseek SEEK_CUR after an append", lseek(fd, 0, SEEK_CUR));
	CHECK("F_SETFL O_NONBLOCK (clears O_APPEND)", sys_fcntl(fd, F_SETFL, O_NONBLOCK));
	CHECK("F_GETFL after O_NONBLOCK", sys_fcntl(fd, F_GETFL, 0));
	CHECK("F_SETFL O_RDONLY|O_TRUNC|O_CREAT (ignored bits)", sys_fcntl(fd, F_SETFL, O_RDONLY | O_TRUNC | O_CREAT));
	CHECK("F_GETFL after that", sys_fcntl(fd, F_GETFL, 0));
	CHECK("F_GETFD file", sys_fcntl(fd, F_GETFD, 0));
	CHECK("F_SETFD FD_CLOEXEC", sys_fcntl(fd, F_SETFD, FD_CLOEXEC));
	CHECK("F_GETFD after FD_CLOEXEC", sys_fcntl(fd, F_GETFD, 0));
	CHECK("F_SETFD 0xff (only FD_CLOEXEC kept)", sys_fcntl(fd, F_SETFD, 0xff));
	CHECK("F_GETFD after 0xff", sys_fcntl(fd, F_GETFD, 0));
	CHECK("F_SETFD 0", sys_fcntl(fd, F_SETFD, 0));
	CHECK("F_DUPFD min 10", sys_fcntl(fd, F_DUPFD, 10));
	CHECK("F_DUPFD min 10 again", sys_fcntl(fd, F_DUPFD, 10));
	CHECK("F_GETFD of the F_DUPFD copy", sys_fcntl(10, F_GETFD, 0));
	CHECK("F_DUPFD_CLOEXEC min 20", sys_fcntl(fd, F_DUPFD_CLOEXEC, 20));
	CHECK("F_GETFD of the F_DUPFD_CLOEXEC copy", sys_fcntl(20, F_GETFD, 0));
	CHECK("F_DUPFD min 0", sys_fcntl(fd, F_DUPFD, 0));
	CHECK("F_DUPFD min 1023", sys_fcntl(fd, F_DUPFD, 1023));
	CHECK("F_DUPFD min 1023 again (full)", sys_fcntl(fd, F_DUPFD, 1023));
	CHECK("F_DUPFD min 1024 (RLIMIT_NOFILE)", sys_fcntl(fd, F_DUPFD, 1024));
	CHECK("F_DUPFD min -1", sys_fcntl(fd, F_DUPFD, -1));
	CHECK("fcntl unknown command 9999", sys_fcntl(fd, 9999, 0));
	CHECK("fcntl bad fd", sys_fcntl(99, F_GETFL, 0));
	CHECK("fcntl F_GETFD bad fd", sys_fcntl(-1, F_GETFD, 0));
	close_from_3();
	owners();
}

static void shared_offset(void)
{
	int fd = open(FILE_NAME, O_RDWR | O_TRUNC);
	int d = dup(fd);
	CHECK("write 10 through the original", write(fd, "0123456789", 10));
	CHECK("lseek SEEK_CUR of the dup (shared offset)", lseek(d, 0, SEEK_CUR));
	CHECK("lseek the dup to 2", lseek(d, 2, SEEK_SET));
	char c[4] = {0};
	CHECK("read 3 through the original", read(fd, c, 3));
	printf("read: %s\n", c);
	CHECK("lseek SEEK_CUR of the dup", lseek(d, 0, SEEK_CUR));
	int fd2 = open(FILE_NAME, O_RDWR);
	CHECK("lseek SEEK_CUR of a second open (own offset)", lseek(fd2, 0, SEEK_CUR));
	CHECK("lseek SEEK_END", lseek(fd2, 0, SEEK_END));
	CHECK("lseek SEEK_END -20 (negative)", lseek(fd2, -20, SEEK_END));
	CHECK("lseek whence 7", lseek(fd2, 0, 7));
	CHECK("lseek beyond the end", lseek(fd2, 100, SEEK_SET));
	CHECK("read at the hole's end", read(fd2, c, 3));
	CHECK("lseek on stdout (a pipe)", lseek(1, 0, SEEK_CUR));
	CHECK("open " FILE_NAME " O_CREAT|O_EXCL (exists)", open(FILE_NAME, O_CREAT | O_EXCL | O_RDWR, 0600));
	CHECK("open a missing file", open("abi-no-such-file", O_RDONLY));
	CHECK("unlink a missing file", unlink("abi-no-such-file"));
	CHECK("read from stdout (write-only)", read(1, c, 1));
	CHECK("write to stdin (read-only)", write(0, "x", 1));
	CHECK("read from stdin (/dev/null)", read(0, c, 1));
	CHECK("close(-1)", close(-1));
	close(fd2);
	close(d);
	close(fd);
}

static void vectored(void)
{
	int fd = open(FILE_NAME, O_RDWR | O_TRUNC);
	struct iovec iov[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
	CHECK("writev 3 iovecs", writev(fd, iov, 3));
	CHECK("writev iovcnt 0", writev(fd, iov, 0));
	CHECK("raw writev iovcnt 1025", syscall(SYS_writev, fd, iov, 1025));
	CHECK("raw writev iovcnt 1024 (all but 3 zero length)", ({
		      static struct iovec many[1024];
		      many[0] = iov[0];
		      syscall(SYS_writev, fd, many, 1024);
	      }));
	CHECK("raw writev iovcnt -1", syscall(SYS_writev, fd, iov, -1));
	CHECK("raw writev bad iov pointer", syscall(SYS_writev, fd, NULL_PAGE, 2));
	struct iovec huge[2] = {{(void *)"x", (size_t)SSIZE_MAX / 2 + 1}, {(void *)"y", (size_t)SSIZE_MAX / 2 + 1}};
	CHECK("raw writev two iov_len summing past SSIZE_MAX", syscall(SYS_writev, fd, huge, 2));
	struct iovec neg[1] = {{(void *)"x", (size_t)-1}};
	CHECK("raw writev iov_len SIZE_MAX", syscall(SYS_writev, fd, neg, 1));

	unsigned char *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(m, 'm', PAGE);
	mprotect(m + PAGE, PAGE, PROT_NONE);
	struct iovec part[2] = {{m + PAGE - 6, 6}, {m + PAGE, 10}};
	CHECK("writev with the second iovec inaccessible", writev(fd, part, 2));
	struct iovec cross[1] = {{m + PAGE - 4, 20}};
	CHECK("writev one iovec crossing into PROT_NONE", writev(fd, cross, 1));
	struct iovec bad_first[2] = {{m + PAGE, 4}, {m, 4}};
	CHECK("writev with the first iovec inaccessible", writev(fd, bad_first, 2));
	CHECK("lseek SEEK_END: file size", lseek(fd, 0, SEEK_END));

	char a[4] = {0}, b[20] = {0};
	struct iovec rd[2] = {{a, 3}, {b, 19}};
	CHECK("preadv at 0", preadv(fd, rd, 2, 0));
	printf("preadv: \"%s\" \"%s\"\n", a, b);
	CHECK("preadv at 5", preadv(fd, rd, 2, 5));
	CHECK("preadv beyond the end", preadv(fd, rd, 2, 1000));
	CHECK("preadv negative offset", preadv(fd, rd, 2, -1));
	CHECK("pwritev negative offset", pwritev(fd, iov, 3, -5));
	CHECK("pwritev at 1", pwritev(fd, iov, 1, 1));
	CHECK("lseek SEEK_CUR (positioned I/O leaves it)", lseek(fd, 0, SEEK_CUR));
	CHECK("lseek to 0", lseek(fd, 0, SEEK_SET));
	memset(b, 0, sizeof b);
	struct iovec rd2[3] = {{a, 2}, {b, 0}, {b, 5}};
	CHECK("readv 2+0+5", readv(fd, rd2, 3));
	printf("readv: \"%.2s\" \"%s\"\n", a, b);
	struct iovec into_none[1] = {{m + PAGE - 3, 10}};
	CHECK("lseek to 0", lseek(fd, 0, SEEK_SET));
	CHECK("readv into a buffer crossing into PROT_NONE", readv(fd, into_none, 1));
	CHECK("lseek SEEK_CUR after the short read", lseek(fd, 0, SEEK_CUR));
	CHECK("read into an inaccessible buffer", read(fd, m + PAGE, 4));
	CHECK("pread into an inaccessible buffer", pread(fd, m + PAGE, 4, 0));
	CHECK("pwrite at 100 (extends with a hole)", pwrite(fd, "Z", 1, 100));
	char z[2] = {9, 9};
	CHECK("pread from the hole", pread(fd, z, 2, 50));
	printf("hole bytes: %d %d\n", z[0], z[1]);
	CHECK("pread negative offset", pread(fd, z, 1, -1));
	CHECK("ftruncate to 4", ftruncate(fd, 4));
	CHECK("pread at 3 after truncation", pread(fd, z, 2, 3));
	CHECK("ftruncate to -1", ftruncate(fd, -1));
	CHECK("ftruncate to 8 (grows with zeros)", ftruncate(fd, 8));
	CHECK("pread at 3", pread(fd, z, 2, 4));
	printf("grown bytes: %d %d\n", z[0], z[1]);
	CHECK("ftruncate stdout (a pipe)", ftruncate(1, 0));

	fflush(stdout);
	CHECK("pwrite on stdout", pwrite(1, "x", 1, 0));
	CHECK("pwritev on stdout", pwritev(1, iov, 1, 0));
	CHECK("preadv on stdout", preadv(1, rd, 1, 0));
	CHECK("pread on stdin (/dev/null)", pread(0, a, 1, 0));
	munmap(m, 2 * PAGE);
	close(fd);
}

static void stdout_writes(void)
{
	fflush(stdout);
	struct iovec iov[3] = {{"writev ", 7}, {"to ", 3}, {"stdout\n", 7}};
	CHECK("writev(1, 3 iovecs)", writev(1, iov, 3));
	CHECK("write(1, \"\", 0)", write(1, "", 0));
	CHECK("write(1, NULL, 0)", write(1, NULL, 0));
	CHECK("write(1, bad pointer, 5)", write(1, NULL_PAGE, 5));
	CHECK("write(99, ...) (bad fd)", write(99, "x", 1));
	unsigned char *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(m + PAGE - 8, "partial\n", 8);
	mprotect(m + PAGE, PAGE, PROT_NONE);
	CHECK("write(1) of 8 good bytes then PROT_NONE", write(1, m + PAGE - 8, 20));
	munmap(m, 2 * PAGE);
}

static void ioctls(void)
{
	struct termios t;
	struct winsize w;
	for (int fd = 0; fd <= 2; fd++) {
		char name[64];
		snprintf(name, sizeof name, "ioctl(%d, TCGETS)", fd);
		CHECK(name, syscall(SYS_ioctl, fd, TCGETS, &t));
		snprintf(name, sizeof name, "ioctl(%d, TIOCGWINSZ)", fd);
		CHECK(name, syscall(SYS_ioctl, fd, TIOCGWINSZ, &w));
		snprintf(name, sizeof name, "isatty(%d)", fd);
		errno = 0;
		int tty = isatty(fd);
		printf("%s: %d %s\n", name, tty, ename(errno));
	}
	CHECK("ioctl bad fd", syscall(SYS_ioctl, 99, TCGETS, &t));
	CHECK("ioctl(-1)", syscall(SYS_ioctl, -1, TIOCGWINSZ, &w));
	int fd = open(FILE_NAME, O_RDWR | O_TRUNC);
	(void)!write(fd, "0123456789", 10);
	lseek(fd, 3, SEEK_SET);
	int n = -1;
	CHECK("ioctl(file, FIONREAD)", syscall(SYS_ioctl, fd, FIONREAD, &n));
	printf("FIONREAD: %d\n", n);
	CHECK("ioctl(file, TCGETS)", syscall(SYS_ioctl, fd, TCGETS, &t));
	CHECK("ioctl(file, FIOCLEX)", syscall(SYS_ioctl, fd, FIOCLEX, 0));
	CHECK("F_GETFD after FIOCLEX", sys_fcntl(fd, F_GETFD, 0));
	CHECK("ioctl(file, FIONCLEX)", syscall(SYS_ioctl, fd, FIONCLEX, 0));
	CHECK("F_GETFD after FIONCLEX", sys_fcntl(fd, F_GETFD, 0));
	CHECK("ioctl(file, unknown 0x12345678)", syscall(SYS_ioctl, fd, 0x12345678, 0));
	CHECK("ioctl(file, FIONREAD, bad pointer)", syscall(SYS_ioctl, fd, FIONREAD, NULL_PAGE));
	close(fd);
}

static const char *ftype(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG:
		return "S_IFREG";
	case S_IFCHR:
		return "S_IFCHR";
	case S_IFIFO:
		return "S_IFIFO";
	case S_IFDIR:
		return "S_IFDIR";
	case S_IFSOCK:
		return "S_IFSOCK";
	case S_IFBLK:
		return "S_IFBLK";
	case S_IFLNK:
		return "S_IFLNK";
	}
	return "unknown";
}

static void stats(void)
{
	struct stat st;
	for (int fd = 0; fd <= 2; fd++) {
		long r = syscall(SYS_fstat, fd, &st);
		printf("fstat(%d): %ld %s\n", fd, r, r ? ename(errno) : ftype(st.st_mode));
		r = syscall(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH);
		printf("newfstatat(%d, \"\", AT_EMPTY_PATH): %ld %s\n", fd, r, r ? ename(errno) : ftype(st.st_mode));
	}
	CHECK("fstat bad fd", syscall(SYS_fstat, 99, &st));
	CHECK("fstat bad pointer", syscall(SYS_fstat, 1, NULL_PAGE));
	CHECK("newfstatat bad fd", syscall(SYS_newfstatat, 99, "", &st, AT_EMPTY_PATH));
	CHECK("newfstatat unknown flag with AT_EMPTY_PATH", syscall(SYS_newfstatat, 1, "", &st, AT_EMPTY_PATH | 0x40000000));
	int fd = open(FILE_NAME, O_RDWR | O_TRUNC);
	(void)!write(fd, "abcdefg", 7);
	CHECK("fstat file", syscall(SYS_fstat, fd, &st));
	printf("file: %s size %ld nlink %ld\n", ftype(st.st_mode), (long)st.st_size, (long)st.st_nlink);
	CHECK("unlink " FILE_NAME, unlink(FILE_NAME));
	CHECK("fstat after unlink", syscall(SYS_fstat, fd, &st));
	printf("file after unlink: %s size %ld nlink %ld\n", ftype(st.st_mode), (long)st.st_size, (long)st.st_nlink);
	CHECK("write after unlink", write(fd, "h", 1));
	CHECK("pread after unlink", pread(fd, (char[8]){0}, 8, 0));
	CHECK("open the unlinked name", open(FILE_NAME, O_RDONLY));
	close(fd);
}

static void memfds(void)
{
	int fd = CHECK("memfd_create(\"abi\", MFD_CLOEXEC)", memfd_create("abi", MFD_CLOEXEC));
	CHECK("F_GETFD memfd", sys_fcntl(fd, F_GETFD, 0));
	CHECK("F_GETFL memfd", sys_fcntl(fd, F_GETFL, 0));
	CHECK("write memfd", write(fd, "memfd!", 6));
	struct stat st;
	syscall(SYS_fstat, fd, &st);
	printf("memfd: %s size %ld nlink %ld\n", ftype(st.st_mode), (long)st.st_size, (long)st.st_nlink);
	CHECK("memfd_create bad flags", syscall(SYS_memfd_create, "abi", 0x1000));
	char longname[300];
	memset(longname, 'n', sizeof longname);
	longname[299] = 0;
	CHECK("memfd_create 299-byte name", syscall(SYS_memfd_create, longname, 0));
	longname[249] = 0;
	CHECK("memfd_create 249-byte name", syscall(SYS_memfd_create, longname, 0));
	CHECK("memfd_create bad name pointer", syscall(SYS_memfd_create, NULL_PAGE, 0));
	close_from_3();
}

static void exhaustion(void)
{
	int n = 0, last = -1;
	for (;;) {
		int fd = dup(0);
		if (fd < 0) {
			printf("dup failed after %d new fds (last %d): %s\n", n, last, ename(errno));
			break;
		}
		last = fd;
		n++;
	}
	CHECK("open when full", open(FILE_NAME, O_CREAT | O_RDWR, 0600));
	CHECK("memfd_create when full", memfd_create("x", 0));
	close_from_3();
	CHECK("dup after closing them", dup(0));
	close_from_3();
}

int main(void)
{
	abi_line_buffered();
	dups();
	fcntls();
	shared_offset();
	vectored();
	stdout_writes();
	ioctls();
	stats();
	memfds();
	exhaustion();
	return 0;
}
