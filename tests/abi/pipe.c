/*
 * Pipes: pipe/pipe2 (flags, EFAULT, EMFILE), fstat and /proc/self/fd links,
 * reads and writes (EOF, EAGAIN, EPIPE and SIGPIPE, PIPE_BUF atomicity with
 * two writers, partial writes, faults), O_DIRECT packets, FIONREAD,
 * F_GETPIPE_SZ/F_SETPIPE_SZ, poll and select/pselect6 over pipes (timeouts
 * written back, nfds cut to the table, signals), vmsplice, splice, tee and
 * sendfile.
 */
#include "abi.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#define PAGE 4096ul

static int got_signal;
static int got_code;

static void on_sig(int s, siginfo_t *si, void *uc)
{
	(void)uc;
	got_signal = s;
	got_code = si->si_code;
}

static void handle(int sig, int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | flags;
	sigaction(sig, &sa, NULL);
}

static void dfl(int sig)
{
	signal(sig, SIG_DFL);
}

static void sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&t, NULL);
}

static long nread(int fd)
{
	int n = -1;
	if (ioctl(fd, FIONREAD, &n) < 0)
		return -errno;
	return n;
}

/* Fills a non-blocking write end with writes of LEN bytes; returns the bytes taken. */
static long fill(int fd, size_t len)
{
	static char buf[1 << 17];
	long total = 0;
	for (;;) {
		ssize_t r = write(fd, buf, len);
		if (r < 0)
			break;
		total += r;
	}
	return total;
}

static void drain(int fd)
{
	char buf[PAGE];
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while (read(fd, buf, sizeof buf) > 0)
		;
	fcntl(fd, F_SETFL, fl);
}

static void creation(void)
{
	int p[2];
	CHECK("pipe", pipe(p));
	printf("fds %d %d\n", p[0], p[1]);
	printf("flags %#x %#x\n", fcntl(p[0], F_GETFL), fcntl(p[1], F_GETFL));
	close(p[0]);
	close(p[1]);
	CHECK("pipe2 O_CLOEXEC|O_NONBLOCK|O_DIRECT", pipe2(p, O_CLOEXEC | O_NONBLOCK | O_DIRECT));
	printf("flags %#x %#x cloexec %d %d\n", fcntl(p[0], F_GETFL), fcntl(p[1], F_GETFL), fcntl(p[0], F_GETFD), fcntl(p[1], F_GETFD));
	close(p[0]);
	close(p[1]);
	CHECK("pipe2 O_APPEND", syscall(SYS_pipe2, p, O_APPEND));
	CHECK("pipe2 O_WRONLY", syscall(SYS_pipe2, p, O_WRONLY));
	CHECK("pipe2 O_TRUNC", syscall(SYS_pipe2, p, O_TRUNC));
	CHECK("pipe2 O_NOTIFICATION_PIPE (O_EXCL)", syscall(SYS_pipe2, p, O_EXCL));
	CHECK("pipe NULL page", syscall(SYS_pipe, NULL_PAGE));
	CHECK("pipe2 bad address", syscall(SYS_pipe2, BAD_ADDR, 0));
	int d = dup(0);
	printf("no descriptor leaked: next is %d\n", d);
	close(d);
	/* EMFILE: one free number is not enough. */
	struct rlimit old, one;
	getrlimit(RLIMIT_NOFILE, &old);
	one = old;
	one.rlim_cur = 4;
	setrlimit(RLIMIT_NOFILE, &one);
	CHECK("pipe with one free descriptor", pipe(p));
	one.rlim_cur = 3;
	setrlimit(RLIMIT_NOFILE, &one);
	CHECK("pipe with none", pipe(p));
	setrlimit(RLIMIT_NOFILE, &old);
	d = dup(0);
	printf("after EMFILE next is %d\n", d);
	close(d);
}

static void stat_and_links(void)
{
	int p[2], q[2];
	pipe(p);
	pipe(q);
	struct stat a, b, c;
	CHECK("fstat read end", fstat(p[0], &a));
	CHECK("fstat write end", fstat(p[1], &b));
	fstat(q[0], &c);
	SHOW("S_ISFIFO", S_ISFIFO(a.st_mode));
	printf("mode %o nlink %ld size %ld blksize %ld blocks %ld rdev %ld\n", a.st_mode, (long)a.st_nlink, (long)a.st_size,
	       (long)a.st_blksize, (long)a.st_blocks, (long)a.st_rdev);
	SHOW("uid and gid are ours", a.st_uid == geteuid() && a.st_gid == getegid());
	SHOW("both ends one inode", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	SHOW("two pipes two inodes", a.st_ino != c.st_ino && a.st_dev == c.st_dev);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	SHOW("times are the creation time", a.st_atime == a.st_mtime && a.st_ctime == a.st_mtime && now.tv_sec - a.st_mtime < 5 && a.st_mtime <= now.tv_sec);
	struct timespec m0 = a.st_mtim;
	sleep_ms(15);
	write(p[1], "abc", 3);
	fstat(p[0], &a);
	printf("size with data %ld\n", (long)a.st_size);
	SHOW("a write leaves mtime", a.st_mtim.tv_sec == m0.tv_sec && a.st_mtim.tv_nsec == m0.tv_nsec);
	char path[64], link[64], want[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
	ssize_t n = readlink(path, link, sizeof link - 1);
	link[n < 0 ? 0 : n] = 0;
	snprintf(want, sizeof want, "pipe:[%lu]", (unsigned long)b.st_ino);
	SHOW("readlink /proc/self/fd/N is pipe:[INODE]", strcmp(link, want) == 0);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
}

static void reads_and_writes(void)
{
	int p[2];
	char buf[200];
	pipe(p);
	CHECK("write 5", write(p[1], "hello", 5));
	printf("FIONREAD %ld\n", nread(p[0]));
	printf("FIONREAD on the write end %ld\n", nread(p[1]));
	CHECK("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
	CHECK("lseek", lseek(p[0], 0, SEEK_SET));
	CHECK("pread", pread(p[0], buf, 1, 0));
	CHECK("pwrite", pwrite(p[1], buf, 1, 0));
	CHECK("read the write end", read(p[1], buf, 1));
	CHECK("write the read end", write(p[0], buf, 1));
	CHECK("write 0", write(p[1], buf, 0));
	CHECK("read 0", read(p[0], buf, 0));
	CHECK("read 2 of 5", read(p[0], buf, 2));
	CHECK("read the rest", read(p[0], buf, sizeof buf));
	CHECK("ioctl TCGETS", ioctl(p[0], TCGETS, buf));
	/* Vectors. */
	struct iovec w[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
	CHECK("writev", writev(p[1], w, 3));
	char x[3], y[10];
	struct iovec r[2] = {{x, 3}, {y, 10}};
	CHECK("readv", readv(p[0], r, 2));
	printf("readv got %.3s %.3s\n", x, y);
	/* Faults: a write whose page faults writes nothing of it; a read whose
	 * buffer faults leaves the data. */
	struct iovec bad[2] = {{"0123456789", 10}, {NULL_PAGE, 10}};
	CHECK("writev with a faulting segment", writev(p[1], bad, 2));
	printf("FIONREAD %ld\n", nread(p[0]));
	CHECK("write from a bad address", write(p[1], BAD_ADDR, 10));
	write(p[1], "data", 4);
	CHECK("read into the null page", read(p[0], NULL_PAGE, 4));
	printf("FIONREAD after %ld\n", nread(p[0]));
	CHECK("read", read(p[0], buf, sizeof buf));
	close(p[1]);
	CHECK("read at EOF", read(p[0], buf, sizeof buf));
	close(p[0]);
}

static void nonblocking_and_capacity(void)
{
	int p[2];
	static char buf[2 * PAGE];
	pipe2(p, O_NONBLOCK);
	CHECK("read of an empty pipe", read(p[0], buf, 1));
	printf("one big write takes %ld\n", fill(p[1], 100000));
	CHECK("write to a full pipe", write(p[1], "x", 1));
	CHECK("read 1", read(p[0], buf, 1));
	CHECK("write 1 after reading 1", write(p[1], "x", 1));
	CHECK("read a page", read(p[0], buf, PAGE));
	CHECK("write a page", write(p[1], buf, PAGE));
	drain(p[0]);
	printf("1-byte writes take %ld\n", fill(p[1], 1));
	drain(p[0]);
	printf("4000-byte writes take %ld\n", fill(p[1], 4000));
	drain(p[0]);
	printf("5000-byte writes take %ld\n", fill(p[1], 5000));
	drain(p[0]);
	printf("3000-byte writes take %ld\n", fill(p[1], 3000));
	drain(p[0]);
	/* O_DIRECT: every write a packet. */
	CHECK("F_SETFL O_DIRECT", fcntl(p[1], F_SETFL, O_NONBLOCK | O_DIRECT));
	printf("1-byte packets take %ld\n", fill(p[1], 1));
	drain(p[0]);
	write(p[1], "first", 5);
	write(p[1], "second", 6);
	memset(buf, 0, 16);
	CHECK("read a packet", read(p[0], buf, 100));
	CHECK("read 3 of a packet", read(p[0], buf, 3));
	printf("got %.3s\n", buf);
	CHECK("the rest is gone", read(p[0], buf, 100));
	write(p[1], buf, 6000);
	CHECK("a 6000-byte packet write reads as", read(p[0], buf, sizeof buf));
	CHECK("then", read(p[0], buf, sizeof buf));
	close(p[0]);
	close(p[1]);
}

static void set_size(void)
{
	int p[2];
	const char *names[] = {"/proc/sys/fs/pipe-max-size", "/proc/sys/fs/pipe-user-pages-soft", "/proc/sys/fs/pipe-user-pages-hard"};
	for (int i = 0; i < 3; i++) {
		char v[32] = "";
		int fd = open(names[i], O_RDONLY);
		ssize_t n = fd < 0 ? -1 : read(fd, v, sizeof v - 1);
		printf("%s: %s", names[i], n > 0 ? v : "unreadable\n");
		if (fd >= 0)
			close(fd);
	}
	pipe2(p, O_NONBLOCK);
	CHECK("F_SETPIPE_SZ 0", fcntl(p[0], F_SETPIPE_SZ, 0));
	CHECK("F_GETPIPE_SZ", fcntl(p[1], F_GETPIPE_SZ));
	printf("a 4096-byte pipe takes %ld\n", fill(p[1], 5000));
	drain(p[0]);
	CHECK("F_SETPIPE_SZ 4097", fcntl(p[0], F_SETPIPE_SZ, 4097));
	CHECK("F_SETPIPE_SZ 1 MiB", fcntl(p[0], F_SETPIPE_SZ, 1 << 20));
	CHECK("F_SETPIPE_SZ 1 MiB + 1", fcntl(p[0], F_SETPIPE_SZ, (1 << 20) + 1));
	CHECK("F_SETPIPE_SZ UINT_MAX", syscall(SYS_fcntl, p[0], F_SETPIPE_SZ, 0xfffffffful));
	CHECK("F_SETPIPE_SZ 2^31", syscall(SYS_fcntl, p[0], F_SETPIPE_SZ, 1ul << 31));
	CHECK("F_SETPIPE_SZ 2^32 + 8192", syscall(SYS_fcntl, p[0], F_SETPIPE_SZ, (1ul << 32) + 8192));
	CHECK("F_SETPIPE_SZ -1", syscall(SYS_fcntl, p[0], F_SETPIPE_SZ, -1l));
	CHECK("F_SETPIPE_SZ 64 KiB", fcntl(p[0], F_SETPIPE_SZ, 65536));
	char buf[3 * PAGE];
	write(p[1], buf, sizeof buf);
	CHECK("shrink below 3 used slots", fcntl(p[0], F_SETPIPE_SZ, 8192));
	CHECK("shrink to 4 slots", fcntl(p[0], F_SETPIPE_SZ, 16384));
	for (int i = 0; i < 3; i++)
		write(p[1], "x", 1);
	CHECK("FIONREAD", nread(p[0]));
	int m = memfd_create("abi-pipe", 0);
	CHECK("F_GETPIPE_SZ of a memfd", fcntl(m, F_GETPIPE_SZ));
	CHECK("F_SETPIPE_SZ of a memfd", fcntl(m, F_SETPIPE_SZ, 4096));
	close(m);
	close(p[0]);
	close(p[1]);
}

static void sigpipe(void)
{
	int p[2];
	pipe(p);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	CHECK("write with no reader, SIGPIPE ignored", write(p[1], "x", 1));
	handle(SIGPIPE, 0);
	got_signal = 0;
	CHECK("write with no reader, a handler", write(p[1], "x", 1));
	printf("handler got signal %d code %d\n", got_signal, got_code);
	CHECK("write of 0 bytes with no reader", write(p[1], "x", 0));
	dfl(SIGPIPE);
	pid_t c = fork();
	if (c == 0) {
		write(p[1], "x", 1);
		_exit(0);
	}
	printf("child writing with no reader: %s\n", abi_wait(c));
	close(p[1]);
}

static void between_processes(void)
{
	int p[2];
	char buf[100];
	pipe(p);
	pid_t c = fork();
	if (c == 0) {
		close(p[0]);
		sleep_ms(30);
		write(p[1], "ping", 4);
		/* A large amount with the reader draining it. */
		static char big[300000];
		for (size_t i = 0; i < sizeof big; i++)
			big[i] = (char)(i * 7);
		ssize_t n = write(p[1], big, sizeof big);
		_exit(n == (ssize_t)sizeof big ? 0 : 1);
	}
	close(p[1]);
	CHECK("blocking read gets", read(p[0], buf, 4));
	printf("got %.4s\n", buf);
	long total = 0;
	unsigned long sum = 0;
	static char in[70000];
	ssize_t n;
	while ((n = read(p[0], in, sizeof in)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			sum = sum * 31 + (unsigned char)in[i];
		total += n;
	}
	printf("read %ld bytes, sum %lx, then %ld\n", total, sum, (long)n);
	printf("writer: %s\n", abi_wait(c));
	close(p[0]);
}

static void atomic_writers(void)
{
	int p[2];
	pipe(p);
	pid_t w[2];
	for (int k = 0; k < 2; k++) {
		w[k] = fork();
		if (w[k] == 0) {
			close(p[0]);
			char chunk[PAGE];
			memset(chunk, 'a' + k, sizeof chunk);
			for (int i = 0; i < 100; i++)
				if (write(p[1], chunk, sizeof chunk) != (ssize_t)sizeof chunk)
					_exit(1);
			_exit(0);
		}
	}
	close(p[1]);
	static char all[200 * PAGE + 1];
	long total = 0;
	ssize_t n;
	while ((n = read(p[0], all + total, sizeof all - total)) > 0)
		total += n;
	int mixed = 0, as = 0, bs = 0;
	for (long b = 0; b + (long)PAGE <= total; b += PAGE) {
		for (size_t i = 1; i < PAGE; i++)
			if (all[b + i] != all[b])
				mixed++;
		as += all[b] == 'a';
		bs += all[b] == 'b';
	}
	printf("two writers of 4096-byte chunks: %ld bytes, %d a-blocks, %d b-blocks, mixed %d\n", total, as, bs, mixed);
	printf("writers: %s", abi_wait(w[0]));
	printf(", %s\n", abi_wait(w[1]));
	close(p[0]);
}

static void interrupted(void)
{
	int p[2];
	pipe(p);
	pid_t parent = getpid();
	handle(SIGUSR1, 0);
	/* A read that sleeps: EINTR with a handler. */
	pid_t c = fork();
	if (c == 0) {
		sleep_ms(50);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	char buf[8];
	CHECK("read interrupted by a handler", read(p[0], buf, 1));
	abi_wait(c);
	/* A write that sleeps after moving some bytes returns them. */
	static char big[100000];
	c = fork();
	if (c == 0) {
		sleep_ms(50);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	CHECK("write interrupted after 64 KiB", write(p[1], big, sizeof big));
	abi_wait(c);
	/* With SA_RESTART a read restarts and gets what the child writes later. */
	drain(p[0]);
	handle(SIGUSR1, SA_RESTART);
	c = fork();
	if (c == 0) {
		sleep_ms(30);
		kill(parent, SIGUSR1);
		sleep_ms(30);
		write(p[1], "r", 1);
		_exit(0);
	}
	got_signal = 0;
	CHECK("read with SA_RESTART", read(p[0], buf, 1));
	printf("handler ran %d\n", got_signal);
	abi_wait(c);
	dfl(SIGUSR1);
	close(p[0]);
	close(p[1]);
}

static void polling(void)
{
	int p[2];
	pipe2(p, O_NONBLOCK);
	struct pollfd f[2] = {{p[0], POLLIN | POLLOUT, 0}, {p[1], POLLIN | POLLOUT, 0}};
	CHECK("poll empty", poll(f, 2, 0));
	printf("revents %#x %#x\n", f[0].revents, f[1].revents);
	write(p[1], "x", 1);
	CHECK("poll with data", poll(f, 2, 0));
	printf("revents %#x %#x\n", f[0].revents, f[1].revents);
	fill(p[1], PAGE);
	CHECK("poll full", poll(f, 2, 0));
	printf("revents %#x %#x\n", f[0].revents, f[1].revents);
	char buf[PAGE];
	read(p[0], buf, 100);
	CHECK("poll after reading 100 bytes", poll(f, 2, 0));
	printf("revents %#x %#x\n", f[0].revents, f[1].revents);
	read(p[0], buf, PAGE);
	CHECK("poll after reading a page", poll(f, 2, 0));
	printf("revents %#x %#x\n", f[0].revents, f[1].revents);
	int q[2];
	pipe(q);
	close(q[1]);
	struct pollfd h = {q[0], POLLIN, 0};
	CHECK("poll with no writer", poll(&h, 1, 0));
	printf("revents %#x\n", h.revents);
	close(q[0]);
	pipe(q);
	close(q[0]);
	struct pollfd e = {q[1], POLLOUT, 0};
	CHECK("poll with no reader", poll(&e, 1, 0));
	printf("revents %#x\n", e.revents);
	e.events = 0;
	CHECK("poll with no reader, no events", poll(&e, 1, 0));
	printf("revents %#x\n", e.revents);
	close(q[1]);
	/* A poll that waits for a writer in another process. */
	drain(p[0]);
	pid_t c = fork();
	if (c == 0) {
		sleep_ms(30);
		write(p[1], "y", 1);
		_exit(0);
	}
	struct pollfd w = {p[0], POLLIN, 0};
	CHECK("poll waits for data", poll(&w, 1, 5000));
	printf("revents %#x\n", w.revents);
	abi_wait(c);
	close(p[0]);
	close(p[1]);
}

static void selecting(void)
{
	int p[2];
	pipe(p);
	fd_set r, w, x;
	struct timeval tv = {0, 0};
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&x);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	FD_SET(p[0], &x);
	FD_SET(p[1], &x);
	CHECK("select empty pipe", select(p[1] + 1, &r, &w, &x, &tv));
	printf("r %d w %d x %d %d\n", FD_ISSET(p[0], &r), FD_ISSET(p[1], &w), FD_ISSET(p[0], &x), FD_ISSET(p[1], &x));
	write(p[1], "x", 1);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	FD_SET(p[1], &r);
	CHECK("select read set with data (and the write end)", select(p[1] + 1, &r, NULL, NULL, &tv));
	printf("r %d %d\n", FD_ISSET(p[0], &r), FD_ISSET(p[1], &r));
	/* The time left is written back; microseconds above a second carry. */
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	tv.tv_sec = 0;
	tv.tv_usec = 2500000;
	CHECK("select ready with 2.5 s", select(p[0] + 1, &r, NULL, NULL, &tv));
	printf("time left: %ld s, usec valid %d\n", (long)tv.tv_sec, tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	drain(p[0]);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	tv.tv_sec = 0;
	tv.tv_usec = 20000;
	CHECK("select times out", select(p[0] + 1, &r, NULL, NULL, &tv));
	printf("time left %ld %ld, r %d\n", (long)tv.tv_sec, (long)tv.tv_usec, FD_ISSET(p[0], &r));
	tv.tv_sec = 0;
	tv.tv_usec = -1;
	CHECK("select negative usec", syscall(SYS_select, 1, NULL, NULL, NULL, &tv));
	tv.tv_sec = -1;
	tv.tv_usec = 0;
	CHECK("select negative sec", syscall(SYS_select, 1, NULL, NULL, NULL, &tv));
	CHECK("select negative nfds", syscall(SYS_select, -1, NULL, NULL, NULL, NULL));
	tv.tv_sec = 0;
	tv.tv_usec = 0;
	CHECK("select bad timeout", syscall(SYS_select, 1, NULL, NULL, NULL, BAD_ADDR));
	CHECK("select bad set", syscall(SYS_select, 1, NULL_PAGE, NULL, NULL, &tv));
	FD_ZERO(&r);
	FD_SET(50, &r);
	CHECK("select a closed fd", select(51, &r, NULL, NULL, &tv));
	/* nfds beyond the table: bits past it are neither checked nor written. */
	write(p[1], "x", 1);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	FD_SET(1000, &r);
	CHECK("select nfds 1024 with fd 1000 set", select(1024, &r, NULL, NULL, &tv));
	printf("r %d, bit 1000 %d\n", FD_ISSET(p[0], &r), FD_ISSET(1000, &r));
	/* pselect6. */
	struct timespec ts = {0, 1000000000};
	CHECK("pselect nsec 1e9", syscall(SYS_pselect6, 1, NULL, NULL, NULL, &ts, NULL));
	ts.tv_nsec = 0;
	sigset_t mask;
	sigemptyset(&mask);
	struct {
		void *ss;
		size_t len;
	} arg = {&mask, 4};
	CHECK("pselect sigset size 4", syscall(SYS_pselect6, 1, NULL, NULL, NULL, &ts, &arg));
	arg.len = 8;
	arg.ss = NULL_PAGE;
	CHECK("pselect bad sigset", syscall(SYS_pselect6, 1, NULL, NULL, NULL, &ts, &arg));
	CHECK("pselect bad argpack", syscall(SYS_pselect6, 1, NULL, NULL, NULL, &ts, NULL_PAGE));
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	ts.tv_sec = 3;
	CHECK("pselect ready", pselect(p[0] + 1, &r, NULL, NULL, &ts, &mask));
	/* A signal with a handler ends a waiting select with EINTR and the time left. */
	drain(p[0]);
	handle(SIGUSR1, SA_RESTART);
	pid_t parent = getpid(), c = fork();
	if (c == 0) {
		sleep_ms(50);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	tv.tv_sec = 5;
	tv.tv_usec = 0;
	CHECK("select interrupted (SA_RESTART does not restart it)", select(p[0] + 1, &r, NULL, NULL, &tv));
	printf("time left below 5 s: %d, r %d\n", tv.tv_sec < 5, FD_ISSET(p[0], &r));
	abi_wait(c);
	dfl(SIGUSR1);
	close(p[0]);
	close(p[1]);
}

static void vmsplicing(void)
{
	int p[2];
	pipe2(p, O_NONBLOCK);
	char *page = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(page, 'v', 4 * PAGE);
	struct iovec v = {page + 100, 10000};
	CHECK("vmsplice 10000 bytes", vmsplice(p[1], &v, 1, 0));
	printf("FIONREAD %ld\n", nread(p[0]));
	/* Each page piece is a buffer: 10000 bytes at offset 100 took 3 slots. */
	printf("then 1-byte writes take %ld\n", fill(p[1], 1));
	drain(p[0]);
	struct iovec ones[20];
	for (int i = 0; i < 20; i++) {
		ones[i].iov_base = page + i;
		ones[i].iov_len = 1;
	}
	CHECK("vmsplice 20 one-byte segments", vmsplice(p[1], ones, 20, 0));
	CHECK("vmsplice into a full pipe, SPLICE_F_NONBLOCK", vmsplice(p[1], ones, 1, SPLICE_F_NONBLOCK));
	char buf[64];
	struct iovec out = {buf, sizeof buf};
	CHECK("vmsplice from the read end", vmsplice(p[0], &out, 1, 0));
	drain(p[0]);
	CHECK("vmsplice from an empty pipe, SPLICE_F_NONBLOCK", vmsplice(p[0], &out, 1, SPLICE_F_NONBLOCK));
	CHECK("vmsplice bad flags", syscall(SYS_vmsplice, p[1], &v, 1, 0x10));
	struct iovec bad = {NULL_PAGE, 10};
	CHECK("vmsplice from the null page", vmsplice(p[1], &bad, 1, 0));
	CHECK("vmsplice nothing", vmsplice(p[1], &v, 0, 0));
	int m = memfd_create("abi-vmsplice", 0);
	CHECK("vmsplice to a memfd", vmsplice(m, &v, 1, 0));
	close(m);
	/* What a reader gets is what the memory held at vmsplice time when a
	 * forked child writes its copy afterwards. */
	memcpy(page, "before", 6);
	struct iovec six = {page, 6};
	pid_t c = fork();
	if (c == 0) {
		vmsplice(p[1], &six, 1, 0);
		memcpy(page, "after!", 6);
		_exit(0);
	}
	abi_wait(c);
	memset(buf, 0, sizeof buf);
	CHECK("read what the child vmspliced", read(p[0], buf, sizeof buf));
	printf("got %s\n", buf);
	close(p[0]);
	close(p[1]);
	int q[2];
	pipe(q);
	close(q[0]);
	signal(SIGPIPE, SIG_IGN);
	CHECK("vmsplice with no reader", vmsplice(q[1], &v, 1, 0));
	dfl(SIGPIPE);
	close(q[1]);
	munmap(page, 4 * PAGE);
}

static void splicing(void)
{
	int a[2], b[2];
	char buf[64];
	pipe(a);
	pipe(b);
	write(a[1], "hello world", 11);
	CHECK("splice pipe to pipe 5", splice(a[0], NULL, b[1], NULL, 5, 0));
	memset(buf, 0, sizeof buf);
	CHECK("read", read(b[0], buf, sizeof buf));
	printf("got %s, left %ld\n", buf, nread(a[0]));
	CHECK("splice a pipe to itself", splice(a[0], NULL, a[1], NULL, 5, 0));
	loff_t off = 0;
	CHECK("splice with an offset on a pipe", splice(a[0], &off, b[1], NULL, 5, 0));
	CHECK("splice 0 bytes", splice(a[0], NULL, b[1], NULL, 0, 0));
	CHECK("splice bad flags", syscall(SYS_splice, a[0], NULL, b[1], NULL, 5, 0x20));
	CHECK("splice from the write end", splice(a[1], NULL, b[1], NULL, 5, 0));
	CHECK("splice to a bad descriptor", splice(a[0], NULL, 77, NULL, 5, 0));
	int m = memfd_create("abi-splice", 0);
	write(m, "0123456789", 10);
	off = 2;
	CHECK("splice memfd at 2 to a pipe", splice(m, &off, b[1], NULL, 5, 0));
	printf("off %ld, file position %ld\n", (long)off, (long)lseek(m, 0, SEEK_CUR));
	lseek(m, 8, SEEK_SET);
	CHECK("splice memfd at its position", splice(m, NULL, b[1], NULL, 100, 0));
	printf("file position %ld\n", (long)lseek(m, 0, SEEK_CUR));
	CHECK("splice memfd at its end", splice(m, NULL, b[1], NULL, 100, 0));
	off = -1;
	CHECK("splice memfd at -1", splice(m, &off, b[1], NULL, 100, 0));
	memset(buf, 0, sizeof buf);
	read(b[0], buf, sizeof buf);
	printf("pipe got %s\n", buf);
	CHECK("splice memfd to memfd", splice(m, NULL, m, NULL, 5, 0));
	/* stdout is a pipe in both runs. Linux puts the page-cache page itself
	 * into that pipe, so the file is never written again: the reader at the
	 * other end may read it at any time. */
	int once = memfd_create("abi-splice-once", 0);
	write(once, "0123456789", 10);
	lseek(once, 0, SEEK_SET);
	fflush(stdout);
	CHECK("splice memfd to stdout", splice(once, NULL, 1, NULL, 4, 0));
	printf("\nfile position %ld\n", (long)lseek(once, 0, SEEK_CUR));
	fflush(stdout);
	write(a[1], "pipe to stdout\n", 15);
	CHECK("splice a pipe to stdout", splice(a[0], NULL, 1, NULL, 100, 0));
	/* Pipe to file. */
	write(a[1], "ABCDEFGH", 8);
	drain(a[0]);
	write(a[1], "ABCDEFGH", 8);
	off = 3;
	CHECK("splice pipe to memfd at 3", splice(a[0], NULL, m, &off, 4, 0));
	printf("off %ld, left in pipe %ld\n", (long)off, nread(a[0]));
	pread(m, buf, 10, 0);
	printf("memfd %.10s\n", buf);
	lseek(m, 0, SEEK_SET);
	CHECK("splice pipe to memfd at its position", splice(a[0], NULL, m, NULL, 100, 0));
	printf("file position %ld\n", (long)lseek(m, 0, SEEK_CUR));
	/* Empty input: EAGAIN non-blocking, 0 without writers. */
	fcntl(a[0], F_SETFL, O_NONBLOCK);
	CHECK("splice from an empty non-blocking pipe", splice(a[0], NULL, b[1], NULL, 5, 0));
	CHECK("splice to a file from an empty non-blocking pipe", splice(a[0], NULL, m, NULL, 5, 0));
	CHECK("SPLICE_F_NONBLOCK", splice(a[0], NULL, b[1], NULL, 5, SPLICE_F_NONBLOCK));
	close(a[1]);
	CHECK("splice from a pipe without writers", splice(a[0], NULL, b[1], NULL, 5, 0));
	close(a[0]);
	/* No reader on the output. */
	pipe(a);
	write(a[1], "x", 1);
	close(b[0]);
	signal(SIGPIPE, SIG_IGN);
	CHECK("splice to a pipe without readers", splice(a[0], NULL, b[1], NULL, 5, 0));
	CHECK("splice a file to a pipe without readers", splice(m, &off, b[1], NULL, 5, 0));
	dfl(SIGPIPE);
	close(b[1]);
	/* Packets keep their boundaries when spliced. */
	pipe(b);
	fcntl(a[1], F_SETFL, O_DIRECT);
	drain(a[0]);
	write(a[1], "pk1", 3);
	write(a[1], "pk2", 3);
	CHECK("splice 6 bytes of packets", splice(a[0], NULL, b[1], NULL, 6, 0));
	CHECK("read 100", read(b[0], buf, sizeof buf));
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	close(m);
	close(once);
}

static void teeing(void)
{
	int a[2], b[2];
	char buf[64];
	pipe(a);
	pipe(b);
	write(a[1], "abcdef", 6);
	CHECK("tee 4", tee(a[0], b[1], 4, 0));
	printf("FIONREAD in %ld out %ld\n", nread(a[0]), nread(b[0]));
	CHECK("tee to itself", tee(a[0], a[1], 4, 0));
	int m = memfd_create("abi-tee", 0);
	CHECK("tee to a memfd", tee(a[0], m, 4, 0));
	CHECK("tee from a memfd", tee(m, b[1], 4, 0));
	CHECK("tee bad flags", syscall(SYS_tee, a[0], b[1], 4, 0x10));
	CHECK("tee 0", tee(a[0], b[1], 0, 0));
	CHECK("tee from the write end", tee(a[1], b[1], 4, 0));
	memset(buf, 0, sizeof buf);
	read(b[0], buf, sizeof buf);
	printf("out got %s\n", buf);
	/* stdout is a pipe in both runs: tee into it. */
	drain(a[0]);
	write(a[1], "tee to stdout\n", 14);
	fflush(stdout);
	CHECK("tee to stdout", tee(a[0], 1, 100, 0));
	printf("FIONREAD in %ld\n", nread(a[0]));
	drain(a[0]);
	CHECK("tee from an empty pipe, SPLICE_F_NONBLOCK", tee(a[0], b[1], 4, SPLICE_F_NONBLOCK));
	close(a[1]);
	CHECK("tee from an empty pipe without writers", tee(a[0], b[1], 4, 0));
	close(m);
	close(a[0]);
	close(b[0]);
	close(b[1]);
}

static void sendfiling(void)
{
	int p[2];
	char buf[64];
	pipe(p);
	int m = memfd_create("abi-sendfile", 0);
	write(m, "sendfile to stdout\n", 19);
	off_t off = 0;
	fflush(stdout);
	CHECK("sendfile memfd to stdout", sendfile(1, m, &off, 100));
	printf("off %ld, position %ld\n", (long)off, (long)lseek(m, 0, SEEK_CUR));
	lseek(m, 9, SEEK_SET);
	CHECK("sendfile memfd to a pipe at its position", sendfile(p[1], m, NULL, 4));
	printf("position %ld\n", (long)lseek(m, 0, SEEK_CUR));
	memset(buf, 0, sizeof buf);
	read(p[0], buf, sizeof buf);
	printf("pipe got %s\n", buf);
	int n = memfd_create("abi-sendfile-out", 0);
	off = 5;
	CHECK("sendfile memfd to memfd", sendfile(n, m, &off, 6));
	printf("off %ld, out position %ld\n", (long)off, (long)lseek(n, 0, SEEK_CUR));
	off = 100;
	CHECK("sendfile past the end", sendfile(n, m, &off, 6));
	off = -1;
	CHECK("sendfile at -1", sendfile(n, m, &off, 6));
	CHECK("sendfile bad offset pointer", sendfile(n, m, NULL_PAGE, 6));
	write(p[1], "xyz", 3);
	CHECK("sendfile from a pipe", sendfile(n, p[0], NULL, 3));
	CHECK("sendfile from a pipe with an offset", sendfile(n, p[0], &off, 3));
	CHECK("sendfile to the read end", sendfile(p[0], m, NULL, 3));
	CHECK("sendfile from the write end", sendfile(n, p[1], NULL, 3));
	CHECK("sendfile to O_APPEND memfd", (fcntl(n, F_SETFL, O_APPEND), sendfile(n, m, NULL, 3)));
	fcntl(n, F_SETFL, 0);
	/* RLIMIT_FSIZE: cut at the limit, then EFBIG (SIGXFSZ ignored). */
	struct rlimit old, small = {8, RLIM_INFINITY};
	getrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &small);
	lseek(n, 4, SEEK_SET);
	off = 0;
	CHECK("sendfile across RLIMIT_FSIZE", sendfile(n, m, &off, 10));
	CHECK("sendfile at RLIMIT_FSIZE", sendfile(n, m, &off, 10));
	write(p[1], "0123456789", 10);
	loff_t at = 6;
	CHECK("splice across RLIMIT_FSIZE", splice(p[0], NULL, n, &at, 10, 0));
	printf("left in the pipe %ld\n", nread(p[0]));
	setrlimit(RLIMIT_FSIZE, &old);
	dfl(SIGXFSZ);
	/* A large copy between files, past what one pipe holds. */
	int big = memfd_create("abi-sendfile-big", 0), copy = memfd_create("abi-sendfile-copy", 0);
	static char data[300000], back[300000];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (char)(i * 13);
	write(big, data, sizeof data);
	off = 1000;
	CHECK("sendfile 300000-byte memfd from 1000, count 1 GiB", sendfile(copy, big, &off, 1 << 30));
	printf("off %ld, out position %ld\n", (long)off, (long)lseek(copy, 0, SEEK_CUR));
	pread(copy, back, sizeof back, 0);
	SHOW("the copy is the file from 1000", memcmp(back, data + 1000, sizeof data - 1000) == 0);
	close(big);
	close(copy);
	close(m);
	close(n);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	abi_line_buffered();
	creation();
	stat_and_links();
	reads_and_writes();
	nonblocking_and_capacity();
	set_size();
	sigpipe();
	between_processes();
	atomic_writers();
	interrupted();
	polling();
	selecting();
	vmsplicing();
	splicing();
	teeing();
	sendfiling();
	return 0;
}
