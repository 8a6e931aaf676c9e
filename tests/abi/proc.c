/* Per-process kernel state a libc start-up and a program touch:
 * arch_prctl, set_tid_address, robust lists, rseq, resource limits, uname,
 * getrandom, CPU affinity, sched_yield, getcpu, process groups and sessions.
 *
 * The microVM has 1 vCPU and the program is pid 1 there: CPU numbers and
 * counts, pids and random bytes are only ever printed as relations. Raw
 * syscall() for every error case, so that the kernel's answer is compared,
 * not a libc wrapper's.
 */
#include "abi.h"

#include <sched.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <fcntl.h>

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004
#define ARCH_GET_CPUID 0x1011

#define PAGE 4096ul

/* A system call that touches neither errno nor the stack protector: usable
 * while FS points somewhere else. */
static inline long raw2(long n, long a, long b)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "0"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}

static void print_raw(const char *name, long r)
{
	if (r < 0 && r > -4096)
		printf("%s: -1 %s\n", name, ename((int)-r));
	else
		printf("%s: %ld\n", name, r);
}

static unsigned long scratch_tcb[64];

__attribute__((noinline)) static void fs_round_trip(void)
{
	unsigned long saved = 0, got = 0, self = 0;
	scratch_tcb[0] = (unsigned long)scratch_tcb;
	long r0 = raw2(SYS_arch_prctl, ARCH_GET_FS, (long)&saved);
	long r1 = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)scratch_tcb);
	long r2 = raw2(SYS_arch_prctl, ARCH_GET_FS, (long)&got);
	__asm__ volatile("mov %%fs:0, %0" : "=r"(self));
	long r3 = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)saved);
	/* Libc's TLS is back: printing is safe again. */
	print_raw("ARCH_GET_FS (libc's)", r0);
	print_raw("ARCH_SET_FS (scratch)", r1);
	print_raw("ARCH_GET_FS (scratch)", r2);
	SHOW("ARCH_GET_FS returns the scratch value", got == (unsigned long)scratch_tcb);
	SHOW("%fs:0 reads the scratch block", self == (unsigned long)scratch_tcb);
	print_raw("ARCH_SET_FS (restore)", r3);
	long r4 = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)0x8000000000000000ul);
	long r5 = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)0x800000000000ul);
	long r6 = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)0x7ffffffff000ul);
	print_raw("ARCH_SET_FS non-canonical 0x8000000000000000", r4);
	print_raw("ARCH_SET_FS 0x800000000000 (above user space)", r5);
	print_raw("ARCH_SET_FS 0x7ffffffff000 (TASK_SIZE_MAX)", r6);
}

static int child_sees_gs(void)
{
	unsigned long gs = 1;
	CHECK("child: ARCH_GET_GS", syscall(SYS_arch_prctl, ARCH_GET_GS, &gs));
	SHOW("child: GS base inherited across fork", gs == 0x7fffffffe000ul);
	return 0;
}

static void arch_prctl_tests(void)
{
	fs_round_trip();
	unsigned long gs = 1;
	CHECK("ARCH_GET_GS", syscall(SYS_arch_prctl, ARCH_GET_GS, &gs));
	printf("GS base at start: %#lx\n", gs);
	CHECK("ARCH_SET_GS 0x7fffffffe000", syscall(SYS_arch_prctl, ARCH_SET_GS, 0x7fffffffe000ul));
	CHECK("ARCH_GET_GS", syscall(SYS_arch_prctl, ARCH_GET_GS, &gs));
	SHOW("ARCH_GET_GS returns the value set", gs == 0x7fffffffe000ul);
	abi_in_child("child reading GS", child_sees_gs);
	CHECK("ARCH_SET_GS non-canonical", syscall(SYS_arch_prctl, ARCH_SET_GS, 0x8000000000000000ul));
	CHECK("ARCH_SET_GS TASK_SIZE_MAX", syscall(SYS_arch_prctl, ARCH_SET_GS, 0x7ffffffff000ul));
	CHECK("ARCH_SET_GS 0 (restore)", syscall(SYS_arch_prctl, ARCH_SET_GS, 0ul));
	CHECK("ARCH_GET_GS", syscall(SYS_arch_prctl, ARCH_GET_GS, &gs));
	printf("GS base after restore: %#lx\n", gs);
	CHECK("arch_prctl bad code 0x9999", syscall(SYS_arch_prctl, 0x9999, 0));
	CHECK("ARCH_GET_FS to a bad pointer", syscall(SYS_arch_prctl, ARCH_GET_FS, NULL_PAGE));
	CHECK("ARCH_GET_GS to a bad pointer", syscall(SYS_arch_prctl, ARCH_GET_GS, NULL_PAGE));
	CHECK("ARCH_GET_CPUID", syscall(SYS_arch_prctl, ARCH_GET_CPUID, 0));
}

static int child_tid(void)
{
	static int ctid = -1;
	long t = syscall(SYS_set_tid_address, &ctid);
	SHOW("child: set_tid_address returns the child's tid == getpid()", t == getpid());
	return 0;
}

static void tid_tests(void)
{
	static int ctid = -1;
	long t = syscall(SYS_set_tid_address, &ctid);
	SHOW("set_tid_address returns the tid", t == syscall(SYS_gettid));
	SHOW("the tid is getpid() (single-threaded)", t == getpid());
	abi_in_child("child set_tid_address", child_tid);
}

struct robust_head {
	void *list;
	long futex_offset;
	void *list_op_pending;
};

static void robust_tests(void)
{
	void *head = NULL;
	size_t len = 0;
	CHECK("get_robust_list(0)", syscall(SYS_get_robust_list, 0, &head, &len));
	printf("robust list length: %zu, libc registered one: %s\n", len, head ? "yes" : "no");
	void *old = head;
	void *h2 = NULL;
	CHECK("get_robust_list(getpid())", syscall(SYS_get_robust_list, getpid(), &h2, &len));
	SHOW("get_robust_list(getpid()) is the same head", h2 == old);
	CHECK("get_robust_list(no such pid)", syscall(SYS_get_robust_list, NO_SUCH_PID, &head, &len));
	CHECK("get_robust_list bad head pointer", syscall(SYS_get_robust_list, 0, NULL_PAGE, &len));
	CHECK("get_robust_list bad length pointer", syscall(SYS_get_robust_list, 0, &head, NULL_PAGE));
	static struct robust_head mine;
	mine.list = &mine;
	CHECK("set_robust_list len 23", syscall(SYS_set_robust_list, &mine, 23));
	CHECK("set_robust_list len 25", syscall(SYS_set_robust_list, &mine, 25));
	CHECK("set_robust_list len 0", syscall(SYS_set_robust_list, &mine, 0));
	CHECK("set_robust_list", syscall(SYS_set_robust_list, &mine, sizeof mine));
	CHECK("get_robust_list(0)", syscall(SYS_get_robust_list, 0, &head, &len));
	SHOW("get_robust_list returns the new head", head == &mine);
	CHECK("set_robust_list bad pointer (not checked until exit)", syscall(SYS_set_robust_list, NULL_PAGE, sizeof mine));
	CHECK("set_robust_list (restore libc's)", syscall(SYS_set_robust_list, old, sizeof mine));
}

/* --- rseq --- */

#define RSEQ_SIG 0x53053053
#define RSEQ_FLAG_UNREGISTER 1
struct abi_rseq {
	uint32_t cpu_id_start;
	uint32_t cpu_id;
	uint64_t rseq_cs;
	uint32_t flags;
	uint32_t node_id;
	uint32_t mm_cid;
	char end[];
} __attribute__((aligned(32)));

static long sys_rseq(void *p, uint32_t len, int flags, uint32_t sig) { return syscall(SYS_rseq, p, len, flags, sig); }

#ifdef __GLIBC__
extern const ptrdiff_t __rseq_offset;
extern const unsigned int __rseq_size;
static void *libc_rseq(void)
{
	if (__rseq_size == 0)
		return NULL;
	uintptr_t tp;
	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return (void *)(tp + __rseq_offset);
}
#else
static void *libc_rseq(void) { return NULL; }
#endif

static int child_rseq(void)
{
	void *theirs = libc_rseq();
	if (theirs)
		CHECK("child: unregister libc's rseq", sys_rseq(theirs, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG));
	static struct abi_rseq mine[2], other;
	static char buf[128] __attribute__((aligned(32)));
	mine[0].cpu_id = (uint32_t)-1;
	CHECK("child: rseq len 16", sys_rseq(&mine[0], 16, 0, RSEQ_SIG));
	CHECK("child: rseq len 32 misaligned by 8", sys_rseq(buf + 8, 32, 0, RSEQ_SIG));
	CHECK("child: rseq flags 2", sys_rseq(&mine[0], 32, 2, RSEQ_SIG));
	CHECK("child: rseq kernel-half address", sys_rseq(BAD_ADDR, 32, 0, RSEQ_SIG));
	CHECK("child: rseq unregister while none registered", sys_rseq(&mine[0], 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG));
	CHECK("child: rseq register len 32", sys_rseq(&mine[0], 32, 0, RSEQ_SIG));
	SHOW("child: the kernel wrote cpu_id", mine[0].cpu_id != (uint32_t)-1 && mine[0].cpu_id < 4096);
	SHOW("child: cpu_id_start equals cpu_id", mine[0].cpu_id_start == mine[0].cpu_id);
	CHECK("child: rseq same registration again", sys_rseq(&mine[0], 32, 0, RSEQ_SIG));
	CHECK("child: rseq same area, other signature", sys_rseq(&mine[0], 32, 0, RSEQ_SIG + 1));
	CHECK("child: rseq other area", sys_rseq(&other, 32, 0, RSEQ_SIG));
	CHECK("child: rseq same area, other length", sys_rseq(&mine[0], 64, 0, RSEQ_SIG));
	CHECK("child: unregister wrong signature", sys_rseq(&mine[0], 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG + 1));
	CHECK("child: unregister wrong length", sys_rseq(&mine[0], 64, RSEQ_FLAG_UNREGISTER, RSEQ_SIG));
	CHECK("child: unregister wrong area", sys_rseq(&other, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG));
	CHECK("child: unregister with an extra flag", sys_rseq(&mine[0], 32, RSEQ_FLAG_UNREGISTER | 2, RSEQ_SIG));
	CHECK("child: unregister", sys_rseq(&mine[0], 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG));
	SHOW("child: cpu_id reset to RSEQ_CPU_ID_UNINITIALIZED", mine[0].cpu_id == (uint32_t)-1);
	CHECK("child: unregister again", sys_rseq(&mine[0], 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG));
	CHECK("child: rseq register len 64", sys_rseq(&mine[0], 64, 0, RSEQ_SIG));
	CHECK("child: unregister len 64", sys_rseq(&mine[0], 64, RSEQ_FLAG_UNREGISTER, RSEQ_SIG));
	return 0;
}

static void rseq_tests(void)
{
	void *theirs = libc_rseq();
	printf("libc registered rseq: %s\n", theirs ? "yes" : "no");
	if (theirs) {
		struct abi_rseq *r = theirs;
		SHOW("libc's rseq area has a cpu_id", r->cpu_id < 4096);
		static struct abi_rseq other;
		CHECK("rseq second registration at libc's area", sys_rseq(theirs, 32, 0, RSEQ_SIG));
		CHECK("rseq libc's area, other signature", sys_rseq(theirs, 32, 0, RSEQ_SIG + 1));
		CHECK("rseq other area", sys_rseq(&other, 32, 0, RSEQ_SIG));
		CHECK("rseq bad flags", sys_rseq(theirs, 32, 2, RSEQ_SIG));
		CHECK("rseq unregister wrong signature", sys_rseq(theirs, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG + 1));
		CHECK("rseq unregister wrong length", sys_rseq(theirs, 16, RSEQ_FLAG_UNREGISTER, RSEQ_SIG));
	}
	abi_in_child("child registering its own rseq", child_rseq);
}

/* --- resource limits --- */

static const char *const rnames[] = {"CPU",	"FSIZE", "DATA",       "STACK",	   "CORE", "RSS",
				      "NPROC",	"NOFILE", "MEMLOCK",  "AS",	   "LOCKS", "SIGPENDING",
				      "MSGQUEUE", "NICE",  "RTPRIO",   "RTTIME"};

static void print_lim(const char *what, unsigned long v)
{
	if (v == (unsigned long)RLIM_INFINITY)
		printf("%s inf", what);
	else
		printf("%s %lu", what, v);
}

static long sys_prlimit(pid_t pid, int res, const struct rlimit *new, struct rlimit *old)
{
	return syscall(SYS_prlimit64, pid, res, new, old);
}

static void show_limit(const char *prefix, pid_t pid, int res)
{
	struct rlimit r;
	long rc = sys_prlimit(pid, res, NULL, &r);
	printf("%sRLIMIT_%s: ", prefix, rnames[res]);
	if (rc) {
		printf("-1 %s\n", ename(errno));
		return;
	}
	print_lim("soft", r.rlim_cur);
	print_lim(", hard", r.rlim_max);
	printf("\n");
}

static int child_core_hard(void)
{
	struct rlimit r = {0, 0};
	CHECK("child: lower RLIMIT_CORE hard to 0", syscall(SYS_setrlimit, RLIMIT_CORE, &r));
	r.rlim_max = RLIM_INFINITY;
	CHECK("child: raise it back", syscall(SYS_setrlimit, RLIMIT_CORE, &r));
	show_limit("child: ", 0, RLIMIT_CORE);
	show_limit("child: parent's ", getppid(), RLIMIT_NOFILE);
	return 0;
}

static int child_as_limit(void)
{
	struct rlimit r = {64 << 20, RLIM_INFINITY};
	CHECK("child: RLIMIT_AS 64 MiB", setrlimit(RLIMIT_AS, &r));
	void *p = mmap(NULL, 128 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	printf("child: mmap 128 MiB: %s\n", p == MAP_FAILED ? ename(errno) : "ok");
	p = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("child: mmap 1 MiB: %s\n", p == MAP_FAILED ? ename(errno) : "ok");
	return 0;
}

static int child_fsize_ignored(void)
{
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit r = {10, RLIM_INFINITY};
	CHECK("child: RLIMIT_FSIZE 10", setrlimit(RLIMIT_FSIZE, &r));
	int fd = open("abi-proc-fsize.tmp", O_CREAT | O_TRUNC | O_RDWR, 0600);
	CHECK("child: write 20 bytes", write(fd, "01234567890123456789", 20));
	CHECK("child: write 5 more bytes", write(fd, "abcde", 5));
	CHECK("child: pwrite below the limit", pwrite(fd, "xy", 2, 3));
	CHECK("child: ftruncate to 11", ftruncate(fd, 11));
	close(fd);
	unlink("abi-proc-fsize.tmp");
	return 0;
}

static int child_fsize_default(void)
{
	struct rlimit r = {10, RLIM_INFINITY};
	setrlimit(RLIMIT_FSIZE, &r);
	int fd = open("abi-proc-fsize2.tmp", O_CREAT | O_TRUNC | O_RDWR, 0600);
	unlink("abi-proc-fsize2.tmp");
	CHECK("child: write 20 bytes", write(fd, "01234567890123456789", 20));
	CHECK("child: write beyond the limit (SIGXFSZ)", write(fd, "abcde", 5));
	return 0;
}

static int child_nofile(void)
{
	struct rlimit r = {6, 4096};
	CHECK("child: RLIMIT_NOFILE soft 6", setrlimit(RLIMIT_NOFILE, &r));
	int n = 0;
	for (;;) {
		int fd = dup(0);
		if (fd < 0) {
			printf("child: dup failed after %d new fds: %s\n", n, ename(errno));
			break;
		}
		n++;
	}
	return 0;
}

static int child_memlock(void)
{
	unsigned char *p = mmap(NULL, 12 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK("child: mlock 9 MiB (over RLIMIT_MEMLOCK)", mlock(p, 9 << 20));
	CHECK("child: mlock 4 MiB", mlock(p, 4 << 20));
	CHECK("child: mlock 5 MiB more", mlock(p + (4 << 20), 5 << 20));
	CHECK("child: mlock the same 4 MiB again", mlock(p, 4 << 20));
	CHECK("child: munlock", munlock(p, 12 << 20));
	struct rlimit r = {0, 8 << 20};
	CHECK("child: RLIMIT_MEMLOCK 0", setrlimit(RLIMIT_MEMLOCK, &r));
	CHECK("child: mlock one page", mlock(p, PAGE));
	return 0;
}

static void rlimit_tests(void)
{
	for (int r = 0; r < 16; r++)
		show_limit("", 0, r);
	struct rlimit g, lim;
	CHECK("getrlimit(RLIMIT_NOFILE) raw", syscall(SYS_getrlimit, RLIMIT_NOFILE, &g));
	print_lim("getrlimit NOFILE soft", g.rlim_cur);
	print_lim(", hard", g.rlim_max);
	printf("\n");
	lim = (struct rlimit){512, 4096};
	CHECK("setrlimit NOFILE 512/4096 (lower soft)", syscall(SYS_setrlimit, RLIMIT_NOFILE, &lim));
	show_limit("after lowering: ", 0, RLIMIT_NOFILE);
	lim = (struct rlimit){4096, 4096};
	CHECK("setrlimit NOFILE 4096/4096 (soft up to hard)", syscall(SYS_setrlimit, RLIMIT_NOFILE, &lim));
	lim = (struct rlimit){5000, 4096};
	CHECK("setrlimit NOFILE 5000/4096 (soft above hard)", syscall(SYS_setrlimit, RLIMIT_NOFILE, &lim));
	lim = (struct rlimit){1024, 8192};
	CHECK("setrlimit NOFILE 1024/8192 (raise hard)", syscall(SYS_setrlimit, RLIMIT_NOFILE, &lim));
	lim = (struct rlimit){1024, 4096};
	struct rlimit old;
	CHECK("prlimit64 NOFILE set 1024/4096 and get old", sys_prlimit(0, RLIMIT_NOFILE, &lim, &old));
	print_lim("old soft", old.rlim_cur);
	print_lim(", hard", old.rlim_max);
	printf("\n");
	lim = (struct rlimit){16 << 20, RLIM_INFINITY};
	CHECK("setrlimit STACK 16 MiB", syscall(SYS_setrlimit, RLIMIT_STACK, &lim));
	lim.rlim_cur = 8 << 20;
	CHECK("setrlimit STACK back to 8 MiB", syscall(SYS_setrlimit, RLIMIT_STACK, &lim));
	lim = (struct rlimit){0, 0};
	CHECK("setrlimit NICE 0/0 (unchanged)", syscall(SYS_setrlimit, RLIMIT_NICE, &lim));
	lim = (struct rlimit){1, 1};
	CHECK("setrlimit RTPRIO 1/1 (raise)", syscall(SYS_setrlimit, RLIMIT_RTPRIO, &lim));
	CHECK("prlimit64 resource 16", sys_prlimit(0, 16, NULL, &old));
	CHECK("prlimit64 resource 1000", sys_prlimit(0, 1000, NULL, &old));
	CHECK("prlimit64 resource -1", sys_prlimit(0, -1, NULL, &old));
	CHECK("getrlimit resource 16", syscall(SYS_getrlimit, 16, &g));
	CHECK("setrlimit resource 16", syscall(SYS_setrlimit, 16, &lim));
	CHECK("prlimit64 no such pid", sys_prlimit(NO_SUCH_PID, RLIMIT_NOFILE, NULL, &old));
	CHECK("prlimit64 own pid", sys_prlimit(getpid(), RLIMIT_NOFILE, NULL, &old));
	CHECK("prlimit64 bad old pointer", sys_prlimit(0, RLIMIT_NOFILE, NULL, NULL_PAGE));
	CHECK("prlimit64 bad new pointer", sys_prlimit(0, RLIMIT_NOFILE, NULL_PAGE, NULL));
	CHECK("getrlimit bad pointer", syscall(SYS_getrlimit, RLIMIT_NOFILE, NULL_PAGE));
	CHECK("setrlimit bad pointer", syscall(SYS_setrlimit, RLIMIT_NOFILE, NULL_PAGE));
	CHECK("prlimit64 neither new nor old", sys_prlimit(0, RLIMIT_NOFILE, NULL, NULL));
	abi_in_child("child lowering a hard limit", child_core_hard);
	abi_in_child("child under RLIMIT_AS", child_as_limit);
	abi_in_child("child under RLIMIT_FSIZE ignoring SIGXFSZ", child_fsize_ignored);
	abi_in_child("child under RLIMIT_FSIZE", child_fsize_default);
	abi_in_child("child under RLIMIT_NOFILE 6", child_nofile);
	abi_in_child("child under RLIMIT_MEMLOCK", child_memlock);
}

/* --- uname, getrandom --- */

static void uname_tests(void)
{
	struct utsname u;
	CHECK("uname", uname(&u));
	printf("sysname: %s\n", u.sysname);
	printf("machine: %s\n", u.machine);
	SHOW("nodename is not empty", u.nodename[0] != 0);
	SHOW("release is not empty", u.release[0] != 0);
	CHECK("uname bad pointer", syscall(SYS_uname, NULL_PAGE));
}

static void getrandom_tests(void)
{
	static unsigned char buf[65536];
	CHECK("getrandom 16", syscall(SYS_getrandom, buf, 16, 0));
	int nz = 0;
	for (int i = 0; i < 16; i++)
		nz |= buf[i];
	SHOW("16 random bytes are not all zero", nz);
	CHECK("getrandom 0", syscall(SYS_getrandom, buf, 0, 0));
	CHECK("getrandom 65536", syscall(SYS_getrandom, buf, sizeof buf, 0));
	CHECK("getrandom GRND_NONBLOCK", syscall(SYS_getrandom, buf, 16, 1));
	CHECK("getrandom GRND_RANDOM", syscall(SYS_getrandom, buf, 16, 2));
	CHECK("getrandom GRND_RANDOM 600 bytes", syscall(SYS_getrandom, buf, 600, 2));
	CHECK("getrandom GRND_INSECURE", syscall(SYS_getrandom, buf, 16, 4));
	CHECK("getrandom GRND_INSECURE|GRND_RANDOM", syscall(SYS_getrandom, buf, 16, 6));
	CHECK("getrandom GRND_NONBLOCK|GRND_INSECURE", syscall(SYS_getrandom, buf, 16, 5));
	CHECK("getrandom flag 8", syscall(SYS_getrandom, buf, 16, 8));
	CHECK("getrandom bad buffer", syscall(SYS_getrandom, NULL_PAGE, 16, 0));
	CHECK("getrandom bad buffer, length 0", syscall(SYS_getrandom, NULL_PAGE, 0, 0));
	unsigned char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(p + PAGE, PAGE, PROT_NONE);
	CHECK("getrandom 100 bytes with the last 90 inaccessible", syscall(SYS_getrandom, p + PAGE - 10, 100, 0));
	CHECK("getrandom 1000 bytes with the last 900 inaccessible", syscall(SYS_getrandom, p + PAGE - 100, 1000, 0));
	munmap(p, 2 * PAGE);
}

/* --- scheduling --- */

/* sched_getaffinity returns the bytes it copied: min(len, cpumask_size()),
 * and cpumask_size() follows the kernel's configuration (NR_CPUS=256 without
 * CPUMASK_OFFSTACK on this host: 32 bytes), not the number of CPUs. */
static void sched_tests(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	long r = syscall(SYS_sched_getaffinity, 0, sizeof set, &set);
	printf("sched_getaffinity(128 bytes): %ld\n", r == -1 ? -(long)errno : r);
	SHOW("CPU_COUNT >= 1", CPU_COUNT(&set) >= 1);
	int ncpu = 0;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &set))
			ncpu = i + 1;
	CHECK("sched_getaffinity 8 bytes", syscall(SYS_sched_getaffinity, 0, 8, &set));
	CHECK("sched_getaffinity 4 bytes", syscall(SYS_sched_getaffinity, 0, 4, &set));
	CHECK("sched_getaffinity 12 bytes", syscall(SYS_sched_getaffinity, 0, 12, &set));
	CHECK("sched_getaffinity 0 bytes", syscall(SYS_sched_getaffinity, 0, 0, &set));
	CHECK("sched_getaffinity bad pointer", syscall(SYS_sched_getaffinity, 0, 8, NULL_PAGE));
	CHECK("sched_getaffinity own pid", syscall(SYS_sched_getaffinity, getpid(), 8, &set));
	CHECK("sched_getaffinity no such pid", syscall(SYS_sched_getaffinity, NO_SUCH_PID, 8, &set));
	CHECK("sched_yield", syscall(SYS_sched_yield));
	unsigned cpu = 9999, node = 9999;
	CHECK("getcpu", syscall(SYS_getcpu, &cpu, &node, NULL));
	SHOW("getcpu's cpu is in the affinity mask's range", cpu < (unsigned)ncpu);
	printf("getcpu's node: %u\n", node);
	CHECK("getcpu all NULL", syscall(SYS_getcpu, NULL, NULL, NULL));
	CHECK("getcpu bad cpu pointer", syscall(SYS_getcpu, NULL_PAGE, NULL, NULL));
	CHECK("getcpu bad node pointer", syscall(SYS_getcpu, &cpu, NULL_PAGE, NULL));
}

/* --- process groups and sessions --- */

static int child_setpgid(void)
{
	CHECK("child: setpgid(0, 0)", setpgid(0, 0));
	SHOW("child: now its own group leader (getpgrp() == getpid())", getpgrp() == getpid());
	CHECK("child: setsid as a group leader", setsid());
	return 0;
}

static int child_setsid(void)
{
	pid_t sid = setsid();
	SHOW("child: setsid returns its pid", sid == getpid());
	SHOW("child: getsid(0) == getpid()", getsid(0) == getpid());
	SHOW("child: getpgrp() == getpid()", getpgrp() == getpid());
	CHECK("child: setpgid(0, 0) as a session leader", setpgid(0, 0));
	CHECK("child: setsid again", setsid());
	return 0;
}

static int child_same_group(void)
{
	SHOW("child: same process group as the parent", getpgid(0) == getpgid(getppid()));
	SHOW("child: same session as the parent", getsid(0) == getsid(getppid()));
	return 0;
}

static void pgrp_tests(void)
{
	SHOW("getpgid(0) == getpgrp()", getpgid(0) == getpgrp());
	SHOW("getpgid(getpid()) == getpgrp()", getpgid(getpid()) == getpgrp());
	SHOW("getsid(0) == getsid(getpid())", getsid(0) == getsid(getpid()));
	SHOW("raw getpgrp == getpgid(0)", syscall(SYS_getpgrp) == syscall(SYS_getpgid, 0));
	CHECK("getpgid(no such pid)", syscall(SYS_getpgid, NO_SUCH_PID));
	CHECK("getsid(no such pid)", syscall(SYS_getsid, NO_SUCH_PID));
	CHECK("setpgid(no such pid, 0)", syscall(SYS_setpgid, NO_SUCH_PID, 0));
	CHECK("setpgid(0, -1)", syscall(SYS_setpgid, 0, -1));
	CHECK("getpgid(-1)", syscall(SYS_getpgid, -1));
	abi_in_child("child in the parent's group", child_same_group);
	abi_in_child("child making its own group", child_setpgid);
	abi_in_child("child making its own session", child_setsid);
}

static int child_umask(void)
{
	return (int)umask(0);
}

static void umask_tests(void)
{
	CHECK("umask(0) returns the start-up mask (022)", (long)umask(0));
	CHECK("umask(077) returns 0", (long)umask(077));
	CHECK("umask(0777777) returns 077", (long)umask(0777777));
	CHECK("umask after 0777777 (only the permission bits kept)", (long)umask(027));
	abi_in_child("a child's umask is the parent's (027)", child_umask);
	umask(022);
}

int main(void)
{
	abi_line_buffered();
	umask_tests();
	arch_prctl_tests();
	tid_tests();
	robust_tests();
	rseq_tests();
	rlimit_tests();
	uname_tests();
	getrandom_tests();
	sched_tests();
	pgrp_tests();
	return 0;
}
