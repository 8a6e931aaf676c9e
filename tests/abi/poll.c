/*
 * poll and ppoll over the standard descriptors, memfds, pidfds and bad
 * descriptors; pidfd_open; process_madvise through a pidfd and PIDFD_SELF;
 * userfaultfd's permission check.
 */
#include "abi.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#define PAGE 4096ul
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13; Debian 12's headers predate it */
#endif

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void on_usr1(int s)
{
	(void)s;
}

static void poll_tests(void)
{
	struct pollfd p[4] = {{0, POLLIN, 0}, {1, POLLOUT, 0}, {99, POLLIN, 0}, {-1, POLLIN, 0}};
	CHECK("poll stdin, stdout, a closed fd, a negative fd", poll(p, 4, 0));
	printf("revents %#x %#x %#x %#x\n", p[0].revents, p[1].revents, p[2].revents, p[3].revents);
	int fd = memfd_create("abi-poll", 0);
	struct pollfd q = {fd, POLLIN | POLLOUT | POLLPRI | POLLRDNORM, 0};
	CHECK("poll a memfd for everything", poll(&q, 1, -1));
	printf("memfd revents %#x\n", q.revents);
	close(fd);
	double t = now();
	CHECK("poll nothing for 50 ms", poll(NULL, 0, 50));
	SHOW("it waited", now() - t >= 0.04);
	CHECK("poll a bad array", poll((void *)8, 1, 0));
	CHECK("poll more fds than RLIMIT_NOFILE", poll(p, 100000, 0));
	struct pollfd *ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK("poll a read-only array (revents cannot be written)", poll(ro, 1, 0));
	struct pollfd none = {-1, 0, 0};
	struct timespec ts = {0, 20 * 1000 * 1000};
	sigset_t m;
	sigemptyset(&m);
	t = now();
	CHECK("ppoll 20 ms", ppoll(&none, 1, &ts, &m));
	SHOW("it waited", now() - t >= 0.015);
	struct timespec bad = {0, 2000000000};
	CHECK("ppoll with a bad timespec", ppoll(&none, 1, &bad, NULL));
	CHECK("ppoll with a bad sigsetsize", syscall(SYS_ppoll, &none, 1, &ts, &m, 4));
	CHECK("ppoll with a bad timespec pointer", syscall(SYS_ppoll, &none, 1, (void *)8, NULL, 8));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		usleep(50000);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	CHECK("poll interrupted by a handled signal", poll(&none, 1, 3000));
	waitpid(c, NULL, 0);
	signal(SIGUSR1, SIG_DFL);
}

static void pidfd_tests(void)
{
	int self = CHECK_OK("pidfd_open(getpid())", syscall(SYS_pidfd_open, getpid(), 0));
	CHECK("F_GETFL of a pidfd", fcntl(self, F_GETFL));
	CHECK("F_GETFD of a pidfd (close-on-exec)", fcntl(self, F_GETFD));
	struct stat st;
	CHECK("fstat of a pidfd", fstat(self, &st));
	printf("pidfd mode %#o nlink %ld size %ld\n", st.st_mode, (long)st.st_nlink, (long)st.st_size);
	char b[8];
	CHECK("read a pidfd", read(self, b, sizeof b));
	CHECK("write a pidfd", write(self, b, sizeof b));
	CHECK("lseek a pidfd", lseek(self, 0, SEEK_SET));
	CHECK("mmap a pidfd", (long)mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self, 0));
	CHECK("pidfd_open(-1)", syscall(SYS_pidfd_open, -1, 0));
	CHECK("pidfd_open(0)", syscall(SYS_pidfd_open, 0, 0));
	CHECK("pidfd_open with bad flags", syscall(SYS_pidfd_open, getpid(), 1));
	CHECK("pidfd_open of no such process", syscall(SYS_pidfd_open, NO_SUCH_PID, 0));
	int nb = CHECK_OK("pidfd_open PIDFD_NONBLOCK", syscall(SYS_pidfd_open, getpid(), O_NONBLOCK));
	CHECK("F_GETFL of it", fcntl(nb, F_GETFL));
	close(nb);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		usleep(100000);
		_exit(3);
	}
	int cf = CHECK_OK("pidfd_open(child)", syscall(SYS_pidfd_open, c, 0));
	struct pollfd w = {cf, POLLIN, 0};
	CHECK("poll a live child's pidfd for 10 ms", poll(&w, 1, 10));
	printf("revents %#x\n", w.revents);
	double t = now();
	CHECK("poll it until the child exits", poll(&w, 1, 5000));
	printf("revents %#x\n", w.revents);
	SHOW("well before the timeout", now() - t < 4);
	int st2;
	waitpid(c, &st2, 0);
	CHECK("poll it after the child is reaped", poll(&w, 1, 0));
	printf("revents %#x\n", w.revents);
	close(cf);

	/* process_madvise */
	char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p[0] = 1;
	p[PAGE] = 2;
	struct iovec v[2] = {{p, PAGE}, {p + PAGE, PAGE}};
	CHECK("process_madvise(self, 2 pages, MADV_DONTNEED)", syscall(SYS_process_madvise, self, v, 2, MADV_DONTNEED, 0));
	printf("contents after: %d %d\n", p[0], p[PAGE]);
	CHECK("process_madvise(PIDFD_SELF)", syscall(SYS_process_madvise, -10000, v, 2, MADV_DONTNEED, 0));
	CHECK("process_madvise with flags", syscall(SYS_process_madvise, self, v, 2, MADV_DONTNEED, 1));
	CHECK("process_madvise of a closed fd", syscall(SYS_process_madvise, 99, v, 2, MADV_DONTNEED, 0));
	CHECK("process_madvise of fd 1 (not a pidfd)", syscall(SYS_process_madvise, 1, v, 2, MADV_DONTNEED, 0));
	CHECK("process_madvise with bad advice", syscall(SYS_process_madvise, self, v, 2, 12345, 0));
	CHECK("process_madvise with vlen 1025", syscall(SYS_process_madvise, self, v, 1025, MADV_DONTNEED, 0));
	CHECK("process_madvise with a bad vector", syscall(SYS_process_madvise, self, (void *)8, 1, MADV_DONTNEED, 0));
	CHECK("process_madvise MADV_GUARD_INSTALL", syscall(SYS_process_madvise, self, v, 1, MADV_GUARD_INSTALL, 0));
	munmap(p + PAGE, PAGE);
	CHECK("process_madvise where the second range is gone", syscall(SYS_process_madvise, self, v, 2, MADV_DONTNEED, 0));
	CHECK("process_madvise of only the gone range", syscall(SYS_process_madvise, self, &v[1], 1, MADV_DONTNEED, 0));
	fflush(stdout);
	c = fork();
	if (c == 0) {
		pause();
		_exit(0);
	}
	cf = syscall(SYS_pidfd_open, c, 0);
	CHECK("process_madvise of another process, MADV_DONTNEED", syscall(SYS_process_madvise, cf, v, 1, MADV_DONTNEED, 0));
	CHECK("process_madvise of another process, MADV_COLD (no CAP_SYS_NICE)", syscall(SYS_process_madvise, cf, v, 1, MADV_COLD, 0));
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	CHECK("process_madvise through the pidfd of a reaped child", syscall(SYS_process_madvise, cf, v, 1, MADV_COLD, 0));
	close(cf);
	close(self);
}

static void userfaultfd_tests(void)
{
	/* Unprivileged: only user-mode faults, unless vm.unprivileged_userfaultfd. */
	int open_to_all = 0;
	FILE *f = fopen("/proc/sys/vm/unprivileged_userfaultfd", "r");
	if (f) {
		open_to_all = fgetc(f) == '1';
		fclose(f);
	}
	long r = syscall(SYS_userfaultfd, 0);
	SHOW("userfaultfd(0) is EPERM unless the sysctl allows it", open_to_all ? r >= 0 : (r == -1 && errno == EPERM));
}

int main(void)
{
	abi_line_buffered();
	poll_tests();
	pidfd_tests();
	userfaultfd_tests();
	return 0;
}
