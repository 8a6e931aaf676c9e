/* Memory management calls a libc program makes or may make: brk/sbrk, mmap
 * and munmap basics, mincore, msync, mseal, and the main stack growing on
 * demand (alloca, deep recursion, overflow beyond RLIMIT_STACK).
 *
 * Addresses are printed only relative to a base (the break at the start of a
 * test, a mapping's start). Whether an untouched anonymous page is resident
 * depends on fault-around policy (mTHP on Linux, --anon-fault-around in the
 * microVM), so mincore is only asked about pages 16 pages apart.
 */
#include "abi.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef SYS_mseal
#define SYS_mseal 462
#endif

#define PAGE 4096ul

static long sys_brk(uintptr_t p) { return syscall(SYS_brk, p); }
static void *sys_mmap(void *a, size_t len, int prot, int flags, int fd, long off)
{
	return (void *)syscall(SYS_mmap, a, len, prot, flags, fd, off);
}
static long sys_munmap(void *a, size_t len) { return syscall(SYS_munmap, a, len); }
static long sys_mprotect(void *a, size_t len, int prot) { return syscall(SYS_mprotect, a, len, prot); }
static void *sys_mremap(void *a, size_t old, size_t len, int flags)
{
	return (void *)syscall(SYS_mremap, a, old, len, flags, 0);
}
static uintptr_t page_up(uintptr_t v) { return (v + PAGE - 1) & ~(PAGE - 1); }

/* The brk tests run with results kept in a log and printed after the break
 * is restored: libc's allocator must not see a moved break. */
static char brk_log[4096];
static size_t brk_len;
#define LOG(...) (brk_len += snprintf(brk_log + brk_len, sizeof brk_log - brk_len, __VA_ARGS__))

static void brk_tests(void)
{
	uintptr_t cur = sys_brk(0);
	LOG("brk(0) page offset: %lu\n", (unsigned long)(cur & (PAGE - 1)));
	LOG("brk(0) twice is the same: %s\n", (uintptr_t)sys_brk(0) == cur ? "yes" : "no");
	LOG("sbrk(0) is brk(0): %s\n", (uintptr_t)sbrk(0) == cur ? "yes" : "no");

	long r = sys_brk(cur + (1 << 20));
	LOG("brk(+1 MiB): +%ld\n", r - (long)cur);
	unsigned char *p = (unsigned char *)cur;
	if (r == (long)(cur + (1 << 20))) {
		int zero = 1;
		for (size_t i = 0; i < (1 << 20); i++)
			zero &= p[i] == 0 || i < page_up(cur) - cur;
		LOG("new brk memory is zero: %s\n", zero ? "yes" : "no");
		memset(p, 0x5a, 1 << 20);
	}
	r = sys_brk(cur + (1 << 20) + 123);
	LOG("brk(+1 MiB + 123) (unaligned): +%ld\n", r - (long)cur);
	LOG("brk(0) after an unaligned brk: +%ld\n", sys_brk(0) - (long)cur);
	r = sys_brk(1);
	LOG("brk(1) (below the start): +%ld\n", r - (long)cur);
	r = sys_brk(cur + ((uintptr_t)1 << 46));
	LOG("brk(+64 TiB): +%ld\n", r - (long)cur);
	r = sys_brk(cur + 100);
	LOG("brk(+100) (shrink): +%ld\n", r - (long)cur);
	r = sys_brk(cur + (1 << 20));
	LOG("brk(+1 MiB) again: +%ld\n", r - (long)cur);
	if (r == (long)(cur + (1 << 20))) {
		int kept = 1, zero = 1;
		uintptr_t keep_end = page_up(cur + 100);
		for (uintptr_t a = cur; a < keep_end; a++)
			kept &= *(unsigned char *)a == 0x5a;
		for (uintptr_t a = keep_end; a < cur + (1 << 20); a++)
			zero &= *(unsigned char *)a == 0;
		LOG("after shrink and regrow: the page holding the break kept its bytes: %s\n", kept ? "yes" : "no");
		LOG("after shrink and regrow: the pages above it are zero: %s\n", zero ? "yes" : "no");
	}

	/* A mapping in the way stops the break one page short of it. */
	uintptr_t wall = page_up(cur) + (16 << 20);
	void *m = mmap((void *)wall, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	LOG("mmap a page 16 MiB above the break: %s\n", m == (void *)wall ? "ok" : ename(errno));
	if (m == (void *)wall) {
		r = sys_brk(wall - PAGE);
		LOG("brk(wall - 1 page): %s\n", r == (long)(wall - PAGE) ? "moved" : "refused");
		r = sys_brk(wall - PAGE + 1);
		LOG("brk(wall - 1 page + 1): %s\n", r == (long)(wall - PAGE + 1) ? "moved" : "refused");
		r = sys_brk(wall + PAGE * 4);
		LOG("brk(beyond the wall): %s\n", r == (long)(wall + PAGE * 4) ? "moved" : "refused");
		munmap(m, PAGE);
	}
	r = sys_brk(cur);
	LOG("brk restored: %s\n", r == (long)cur ? "yes" : "no");
	/* libc's sbrk: glibc moves the break, musl refuses any increment. */
	void *s = sbrk(PAGE);
	LOG("sbrk(4096): %s\n", s == (void *)-1 ? ename(errno) : (uintptr_t)s == cur ? "old break" : "other");
	if (s != (void *)-1) {
		LOG("brk(0) after sbrk(4096): +%ld\n", sys_brk(0) - (long)cur);
		s = sbrk(-(long)PAGE);
		LOG("sbrk(-4096): %s\n", s == (void *)-1 ? ename(errno) : "ok");
	}
	LOG("brk(0) at the end: +%ld\n", sys_brk(0) - (long)cur);
}

static void mmap_basics(void)
{
	unsigned char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SHOW("mmap anon 4 pages", p != MAP_FAILED);
	SHOW("mmap result is page-aligned", ((uintptr_t)p & (PAGE - 1)) == 0);
	int zero = 1;
	for (size_t i = 0; i < 4 * PAGE; i++)
		zero &= p[i] == 0;
	SHOW("fresh anonymous memory is zero", zero);
	memset(p, 7, 4 * PAGE);
	/* Error cases through raw system calls: musl's wrappers round or check
	 * some arguments themselves. */
	CHECK("munmap the middle two pages", sys_munmap(p + PAGE, 2 * PAGE));
	CHECK("munmap an already unmapped range", sys_munmap(p + PAGE, 2 * PAGE));
	CHECK("munmap unaligned", sys_munmap(p + 1, PAGE));
	CHECK("munmap length 0", sys_munmap(p, 0));
	CHECK("munmap beyond user space", sys_munmap((void *)0x7ffffffff000ul, 2 * PAGE));
	CHECK("munmap of the rest", sys_munmap(p, 4 * PAGE));
	int anon = MAP_PRIVATE | MAP_ANONYMOUS;
	CHECK_OK("mmap length 0", sys_mmap(NULL, 0, PROT_READ, anon, -1, 0));
	CHECK_OK("mmap neither private nor shared", sys_mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0));
	CHECK_OK("mmap private and shared", sys_mmap(NULL, PAGE, PROT_READ, anon | MAP_SHARED, -1, 0));
	CHECK_OK("mmap bad fd", sys_mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 999, 0));
	CHECK_OK("mmap MAP_FIXED unaligned", sys_mmap((void *)0x10001, PAGE, PROT_READ, anon | MAP_FIXED, -1, 0));
	CHECK_OK("mmap huge length", sys_mmap(NULL, (size_t)1 << 47, PROT_READ, anon | MAP_NORESERVE, -1, 0));
	CHECK_OK("mmap length wrapping", sys_mmap(NULL, -PAGE, PROT_READ, anon, -1, 0));
	void *u = sys_mmap(NULL, PAGE, 0x100, anon, -1, 0);
	CHECK_OK("mmap unknown prot bit", u);
	CHECK("mprotect unknown prot bit", sys_mprotect(u, PAGE, PROT_READ | 0x100));
	CHECK("mprotect unaligned", sys_mprotect((char *)u + 1, PAGE, PROT_READ));
	CHECK("mprotect length 0", sys_mprotect(u, 0, PROT_READ));
	CHECK("mprotect of an unmapped range", sys_mprotect((char *)u + 1024 * PAGE, PAGE, PROT_READ));
	sys_munmap(u, PAGE);

	int fd = memfd_create("abi-mm", 0);
	CHECK("ftruncate memfd to 2 pages", ftruncate(fd, 2 * PAGE));
	unsigned char *a = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	unsigned char *b = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	CHECK_OK("mmap unaligned offset", sys_mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 1));
	CHECK_OK("mmap negative offset", sys_mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, -PAGE));
	if (a != MAP_FAILED && b != MAP_FAILED) {
		a[5] = 'x';
		a[PAGE + 9] = 'y';
		printf("shared mappings of one memfd see each other: %c %c\n", b[5], b[PAGE + 9]);
		char c = 0;
		CHECK("pread the memfd", pread(fd, &c, 1, PAGE + 9));
		printf("pread sees the mapping's store: %c\n", c);
	}
	unsigned char *g = mremap(a, 2 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
	SHOW("mremap grows the shared mapping", g != MAP_FAILED);
	if (g != MAP_FAILED)
		printf("mremap kept the contents: %c %c\n", g[5], g[PAGE + 9]);
	CHECK_OK("mremap without MAYMOVE into a taken range", sys_mremap(b, PAGE, 64 * PAGE, 0));
	CHECK_OK("mremap bad flags", sys_mremap(b, PAGE, PAGE, 0x40));
	CHECK_OK("mremap unaligned", sys_mremap(b + 1, PAGE, PAGE, 0));
	CHECK_OK("mremap to length 0", sys_mremap(b, PAGE, 0, 0));
	CHECK_OK("mremap of an unmapped range", sys_mremap(b + 1024 * PAGE, PAGE, 2 * PAGE, 0));
	munmap(g, 8 * PAGE);
	munmap(b, 2 * PAGE);
	close(fd);
}

/* An anonymous mapping of N pages aligned to 64 KiB, so that 16-page blocks
 * line up with page indexes. */
static unsigned char *map_aligned(size_t pages)
{
	size_t len = pages * PAGE, extra = 16 * PAGE;
	unsigned char *p = mmap(NULL, len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uintptr_t a = ((uintptr_t)p + extra - 1) & ~(extra - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	munmap((void *)(a + len), (uintptr_t)p + len + extra - (a + len));
	return (unsigned char *)a;
}

static void mincore_tests(void)
{
	unsigned char *p = map_aligned(64);
	unsigned char vec[64];
	p[0] = 1;
	p[32 * PAGE + 100] = 1;
	CHECK("mincore 64 pages", mincore(p, 64 * PAGE, vec));
	printf("mincore pages 0 16 32 48 (touched, untouched, touched, untouched): %d %d %d %d\n", vec[0] & 1,
	       vec[16] & 1, vec[32] & 1, vec[48] & 1);
	CHECK("madvise DONTNEED page 0", madvise(p, PAGE, MADV_DONTNEED));
	CHECK("mincore after DONTNEED", mincore(p, PAGE, vec));
	printf("page 0 after DONTNEED: %d\n", vec[0] & 1);
	CHECK("mincore unaligned start", mincore(p + 1, PAGE, vec));
	CHECK("mincore length 0", mincore(p, 0, vec));
	CHECK("mincore unaligned length (rounded up)", mincore(p, 100, vec));
	CHECK("mincore bad vector", mincore(p, PAGE, NULL_PAGE));
	CHECK("mincore kernel-half vector", mincore(p, PAGE, BAD_ADDR));
	munmap(p + 8 * PAGE, PAGE);
	CHECK("mincore over an unmapped page", mincore(p, 16 * PAGE, vec));
	CHECK("mincore of only the unmapped page", mincore(p + 8 * PAGE, PAGE, vec));
	CHECK("mincore beyond user space", mincore((void *)0x7ffffffff000ul, 2 * PAGE, vec));
	munmap(p, 64 * PAGE);

	/* A shared file mapping reports the file's page cache, mapped or not. */
	int fd = memfd_create("abi-mincore", 0);
	ftruncate(fd, 64 * PAGE);
	(void)!pwrite(fd, "a", 1, 0);
	(void)!pwrite(fd, "b", 1, 32 * PAGE);
	unsigned char *f = mmap(NULL, 64 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	CHECK("mincore memfd mapping", mincore(f, 64 * PAGE, vec));
	printf("memfd pages 0 16 32 48 (written, hole, written, hole): %d %d %d %d\n", vec[0] & 1, vec[16] & 1,
	       vec[32] & 1, vec[48] & 1);
	munmap(f, 64 * PAGE);
	close(fd);
}

static void msync_tests(void)
{
	unsigned char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p[0] = 1;
	CHECK("msync MS_SYNC", msync(p, 4 * PAGE, MS_SYNC));
	CHECK("msync MS_ASYNC", msync(p, 4 * PAGE, MS_ASYNC));
	CHECK("msync flags 0", msync(p, 4 * PAGE, 0));
	CHECK("msync MS_INVALIDATE", msync(p, 4 * PAGE, MS_INVALIDATE));
	CHECK("msync MS_SYNC|MS_ASYNC", msync(p, 4 * PAGE, MS_SYNC | MS_ASYNC));
	CHECK("msync unknown flag 8", msync(p, 4 * PAGE, 8));
	CHECK("msync unaligned", msync(p + 1, PAGE, MS_SYNC));
	CHECK("msync length 0", msync(p, 0, MS_SYNC));
	CHECK("msync unaligned length", msync(p, 100, MS_SYNC));
	munmap(p + PAGE, PAGE);
	CHECK("msync over a hole", msync(p, 4 * PAGE, MS_SYNC));
	CHECK("msync of only the hole", msync(p + PAGE, PAGE, MS_ASYNC));
	CHECK("mlock one page", mlock(p, PAGE));
	CHECK("msync MS_INVALIDATE on mlocked", msync(p, PAGE, MS_INVALIDATE));
	CHECK("msync MS_SYNC on mlocked", msync(p, PAGE, MS_SYNC));
	CHECK("munlock", munlock(p, PAGE));
	CHECK("msync MS_INVALIDATE after munlock", msync(p, PAGE, MS_INVALIDATE));
	munmap(p, 4 * PAGE);

	int fd = memfd_create("abi-msync", 0);
	ftruncate(fd, PAGE);
	unsigned char *f = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	f[0] = 'm';
	CHECK("msync MS_SYNC shared memfd", msync(f, PAGE, MS_SYNC));
	CHECK("msync MS_ASYNC|MS_INVALIDATE shared memfd", msync(f, PAGE, MS_ASYNC | MS_INVALIDATE));
	munmap(f, PAGE);
	close(fd);
}

static long sys_mseal(void *a, size_t len, unsigned long flags) { return syscall(SYS_mseal, a, len, flags); }

static void mseal_tests(void)
{
	unsigned char *p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(p, 3, 8 * PAGE);
	CHECK("mseal flags 1", sys_mseal(p, PAGE, 1));
	CHECK("mseal unaligned", sys_mseal(p + 1, PAGE, 0));
	CHECK("mseal length 0", sys_mseal(p, 0, 0));
	CHECK("mseal wrapping length", sys_mseal(p, -PAGE, 0));
	munmap(p + 6 * PAGE, PAGE);
	CHECK("mseal over an unmapped gap", sys_mseal(p + 4 * PAGE, 3 * PAGE, 0));
	CHECK("mprotect after the failed mseal (not sealed)", mprotect(p + 4 * PAGE, PAGE, PROT_READ | PROT_WRITE));
	CHECK("mseal pages 0-1 (read-write)", sys_mseal(p, 2 * PAGE, 0));
	CHECK("mseal pages 0-1 again", sys_mseal(p, 2 * PAGE, 0));
	CHECK("mseal page 0 only (already sealed)", sys_mseal(p, PAGE, 0));
	CHECK("mprotect sealed", sys_mprotect(p, PAGE, PROT_READ));
	CHECK("mprotect sealed to the same protection", sys_mprotect(p, PAGE, PROT_READ | PROT_WRITE));
	CHECK("munmap sealed", sys_munmap(p, PAGE));
	CHECK("munmap sealed plus unsealed", sys_munmap(p + PAGE, 2 * PAGE));
	unsigned char v = 0;
	CHECK("the unsealed page 2 is still mapped", mincore(p + 2 * PAGE, PAGE, &v));
	CHECK_OK("mremap sealed (shrink)", sys_mremap(p, 2 * PAGE, PAGE, 0));
	CHECK_OK("mremap sealed (grow, may move)", sys_mremap(p, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE));
	CHECK_OK("mmap MAP_FIXED over sealed",
		 sys_mmap(p, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	CHECK("madvise MADV_DONTNEED sealed read-write anon", madvise(p, PAGE, MADV_DONTNEED));
	printf("sealed page 0 byte after that: %d\n", p[0]);
	CHECK("madvise MADV_WILLNEED sealed", madvise(p, PAGE, MADV_WILLNEED));
	CHECK("madvise MADV_FREE sealed read-write anon", madvise(p + PAGE, PAGE, MADV_FREE));

	/* Read-only anonymous memory: discarding it would change its contents. */
	CHECK("mprotect page 3 read-only", mprotect(p + 3 * PAGE, PAGE, PROT_READ));
	CHECK("mseal page 3 (read-only)", sys_mseal(p + 3 * PAGE, PAGE, 0));
	CHECK("madvise MADV_DONTNEED sealed read-only anon", madvise(p + 3 * PAGE, PAGE, MADV_DONTNEED));
	CHECK("madvise MADV_FREE sealed read-only anon", madvise(p + 3 * PAGE, PAGE, MADV_FREE));
	printf("sealed read-only page byte: %d\n", p[3 * PAGE]);
	CHECK("mprotect sealed read-only to read-write", sys_mprotect(p + 3 * PAGE, PAGE, PROT_READ | PROT_WRITE));
	CHECK("munmap of unsealed page 4", sys_munmap(p + 4 * PAGE, PAGE));
}

/* --- the main stack --- */

static unsigned long alloca_sum(size_t n)
{
	volatile unsigned char *b = __builtin_alloca(n);
	/* The lowest byte first: far below the stack pointer's last page. */
	b[0] = 1;
	for (size_t i = 0; i < n; i += 512)
		b[i] = (unsigned char)(i >> 9);
	unsigned long s = 0;
	for (size_t i = 0; i < n; i += 512)
		s += b[i];
	return s;
}

static unsigned long recurse(int depth, int max)
{
	volatile unsigned char frame[4000];
	frame[0] = (unsigned char)depth;
	frame[3999] = (unsigned char)(depth >> 8);
	if (depth == max)
		return frame[0] + frame[3999];
	unsigned long below = recurse(depth + 1, max);
	return below + frame[0] + frame[3999];
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static unsigned long forever(unsigned long n)
{
	volatile unsigned char frame[4000];
	frame[0] = (unsigned char)n;
	return forever(n + 1) + frame[0];
}

static volatile uintptr_t lowest_ok;
static void overflow_handler(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	char m[160];
	int n = snprintf(m, sizeof m, "overflow handler: signal %d si_code %d, address below the stack top: %s\n", sig,
			 si->si_code, (uintptr_t)si->si_addr < lowest_ok ? "yes" : "no");
	(void)!write(1, m, n);
	_exit(42);
}

static int child_overflow_with_handler(void)
{
	static char alt[64 * 1024];
	stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
	sigaltstack(&ss, NULL);
	struct sigaction sa = {.sa_sigaction = overflow_handler, .sa_flags = SA_SIGINFO | SA_ONSTACK};
	sigaction(SIGSEGV, &sa, NULL);
	volatile char here;
	lowest_ok = (uintptr_t)&here;
	return (int)forever(0);
}

static int child_overflow(void) { return (int)forever(0); }

static int child_bigger_stack_limit(void)
{
	struct rlimit rl = {16 << 20, RLIM_INFINITY};
	CHECK("setrlimit(RLIMIT_STACK, 16 MiB)", setrlimit(RLIMIT_STACK, &rl));
	printf("recursion 12 MiB deep under a 16 MiB limit: %lu\n", recurse(0, 3072));
	return 0;
}

static void stack_tests(void)
{
	printf("alloca 1 MiB: %lu\n", alloca_sum(1 << 20));
	printf("alloca 4 MiB: %lu\n", alloca_sum(4 << 20));
	printf("recursion 6 MiB deep: %lu\n", recurse(0, 1536));
	abi_in_child("child overflowing the stack with a handler on an alternate stack", child_overflow_with_handler);
	abi_in_child("child overflowing the stack", child_overflow);
	abi_in_child("child raising RLIMIT_STACK", child_bigger_stack_limit);
}

/* Whether the text read from FD (from its current offset) mentions ADDR as
 * the start of a mapping. */
static int maps_has(int fd, void *addr)
{
	static char buf[64 * 1024];
	char want[32];
	long n = 0, r;
	while (n < (long)sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
		n += r;
	buf[n] = 0;
	snprintf(want, sizeof want, "\n%lx-", (unsigned long)addr);
	return strstr(buf, want) != NULL;
}

/* /proc/self/maps is generated at open, and again by a read from offset 0. */
static void proc_maps_tests(void)
{
	int fd = CHECK_OK("open /proc/self/maps", open("/proc/self/maps", O_RDONLY));
	char c;
	CHECK("read 1 byte", read(fd, &c, 1));
	void *p = mmap(NULL, 3 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SHOW("a mapping made after the first read is not in the rest of that read", !maps_has(fd, p));
	CHECK("lseek to 0", lseek(fd, 0, SEEK_SET));
	SHOW("after lseek to 0 a read shows it", maps_has(fd, p));
	munmap(p, 3 * PAGE);
	CHECK("pread at 0 after munmap", pread(fd, &c, 1, 0));
	CHECK("lseek to 0 again", lseek(fd, 0, SEEK_SET));
	SHOW("after munmap it is gone", !maps_has(fd, p));
	CHECK("write to maps", write(fd, "x", 1));
	CHECK("lseek SEEK_END on maps", lseek(fd, 0, SEEK_END));
	close(fd);
	CHECK("open maps O_RDWR", open("/proc/self/maps", O_RDWR));
	char v[32] = {0};
	fd = CHECK_OK("open /proc/sys/vm/mmap_min_addr", open("/proc/sys/vm/mmap_min_addr", O_RDONLY));
	long n = read(fd, v, sizeof v - 1);
	SHOW("mmap_min_addr is a number and a newline", n > 1 && v[n - 1] == '\n' && strtol(v, NULL, 10) >= 0);
	close(fd);
	fd = CHECK_OK("open /proc/sys/vm/overcommit_memory", open("/proc/sys/vm/overcommit_memory", O_RDONLY));
	memset(v, 0, sizeof v);
	CHECK("read overcommit_memory", read(fd, v, sizeof v - 1));
	printf("overcommit_memory: %s", v);
	close(fd);
	CHECK("open /proc/sys/vm/no_such_sysctl", open("/proc/sys/vm/no_such_sysctl", O_RDONLY));
	/* clear_refs: mode 0200, an int from 1 to 5. */
	CHECK("open /proc/self/clear_refs O_RDONLY", open("/proc/self/clear_refs", O_RDONLY));
	CHECK("open /proc/self/clear_refs O_RDWR", open("/proc/self/clear_refs", O_RDWR));
	fd = CHECK_OK("open /proc/self/clear_refs O_WRONLY", open("/proc/self/clear_refs", O_WRONLY));
	CHECK("write 4 (soft-dirty)", write(fd, "4", 1));
	CHECK("write \"1\\n\"", write(fd, "1\n", 2));
	CHECK("write 5", write(fd, "5", 1));
	CHECK("write 0", write(fd, "0", 1));
	CHECK("write 6", write(fd, "6", 1));
	CHECK("write x", write(fd, "x", 1));
	CHECK("write from a bad buffer", write(fd, (void *)8, 1));
	CHECK("read clear_refs", read(fd, v, 1));
	close(fd);
}

int main(void)
{
	abi_line_buffered();
	/* stdout's buffer exists before the break moves. */
	printf("mm\n");
	brk_tests();
	fputs(brk_log, stdout);
	mmap_basics();
	mincore_tests();
	msync_tests();
	mseal_tests();
	stack_tests();
	proc_maps_tests();
	return 0;
}
