/*
 * The PAGEMAP_SCAN ioctl on /proc/self/pagemap (Linux 6.7; PAGE_IS_GUARD
 * 6.15): which pages of a laid-out region each category query reports
 * (present, file, zero page, guard markers, PROT_NONE pages, holes between
 * VMAs), category_mask/category_inverted/category_anyof_mask/return_mask,
 * max_pages and a short vector (walk_end written back, resuming from it),
 * more regions than the kernel's 512-entry bounce buffer, and the errors:
 * EINVAL for the size, flags, category bits, an unaligned start and a
 * vector length without a vector; EFAULT for a bad argument, a range or
 * vector outside the user half, a vector that cannot be written, an
 * argument whose walk_end cannot be written back; EPERM for
 * PM_SCAN_CHECK_WPASYNC without userfaultfd; EINVAL for other ioctls on
 * pagemap and ENOTTY for PAGEMAP_SCAN elsewhere. Alongside, the pagemap
 * entry bits of each page, as read(2) reports them.
 *
 * Addresses are printed relative to the program's own reservation.
 */
#include "abi.h"

#include <fcntl.h>
#include <sys/mman.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

/* include/uapi/linux/fs.h (libc headers only: musl-gcc has no linux/). */
struct page_region {
	uint64_t start, end, categories;
};
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN (0xc0000000ul | (sizeof(struct pm_scan_arg) << 16) | ('f' << 8) | 16)
#define WPALLOWED (1 << 0)
#define WRITTEN (1 << 1)
#define FILE_ (1 << 2)
#define PRESENT (1 << 3)
#define SWAPPED (1 << 4)
#define PFNZERO (1 << 5)
#define HUGE (1 << 6)
#define SOFT_DIRTY (1 << 7)
#define GUARD (1 << 8)
#define ALL 0x1ff
#define PM_SCAN_WP_MATCHING 1
#define PM_SCAN_CHECK_WPASYNC 2

#define PG 4096ul
#define NPAGES 64
#define SENTINEL 0x5a5a5a5a5a5a5a5aul

static char *R;
static int pm;
static struct page_region vec[2048];

static const char *rel(uint64_t x)
{
	static char b[4][40];
	static int i;
	char *s = b[i++ % 4];
	uint64_t base = (uint64_t)R;
	if (x == SENTINEL)
		snprintf(s, 40, "unchanged");
	else if (x >= base && x <= base + (1ul << 30))
		snprintf(s, 40, "+%#lx", (unsigned long)(x - base));
	else
		snprintf(s, 40, "outside");
	return s;
}

static struct pm_scan_arg arg(uint64_t start, uint64_t end)
{
	struct pm_scan_arg a = { .size = sizeof a, .start = start, .end = end, .walk_end = SENTINEL,
				 .vec = (uint64_t)vec, .vec_len = sizeof vec / sizeof vec[0], .return_mask = ALL };
	return a;
}

static long do_scan(struct pm_scan_arg *a)
{
	memset(vec, 0xa5, sizeof vec);
	errno = 0;
	return syscall(SYS_ioctl, pm, PAGEMAP_SCAN, a);
}

/* One query: its result, walk_end and the regions. */
static void scan(const char *name, struct pm_scan_arg a)
{
	long r = do_scan(&a);
	if (r < 0) {
		printf("%s: -1 %s, walk_end %s\n", name, ename(errno), rel(a.walk_end));
		return;
	}
	printf("%s: %ld regions, walk_end %s\n", name, r, rel(a.walk_end));
	for (long i = 0; i < r && i < 40; i++)
		printf("  [%s, %s) %#lx\n", rel(vec[i].start), rel(vec[i].end), (unsigned long)vec[i].categories);
	if (r < (long)(sizeof vec / sizeof vec[0]))
		printf("  next entry untouched: %s\n", vec[r].start == 0xa5a5a5a5a5a5a5a5ul ? "yes" : "no");
}

static struct pm_scan_arg masked(uint64_t inv, uint64_t mask, uint64_t any, uint64_t ret)
{
	struct pm_scan_arg a = arg((uint64_t)R, (uint64_t)R + NPAGES * PG);
	a.category_inverted = inv;
	a.category_mask = mask;
	a.category_anyof_mask = any;
	a.return_mask = ret;
	return a;
}

static void pagemap_bits(void)
{
	for (int i = 0; i < NPAGES; i++) {
		uint64_t e = 0;
		if (pread(pm, &e, 8, ((uint64_t)R / PG + i) * 8) != 8)
			printf("pagemap read %d: %s\n", i, ename(errno));
		if (e >> 55)
			printf("pagemap page %d: bits 55-63 %#lx\n", i, (unsigned long)(e >> 55));
	}
}

int main(void)
{
	abi_line_buffered();
	pm = open("/proc/self/pagemap", O_RDONLY);
	CHECK("open pagemap", pm >= 0 ? 0 : -1);
	/* Every helper mapping first, so that none lands in the hole below. */
	char *ro = mmap(0, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *half = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *edge = mmap(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *vb = mmap(0, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t big = 1100;
	char *b = mmap(0, big * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* The region, aligned to 2 MiB so that it lies under one page table
	 * (the written-only fast path reports every entry of an existing one). */
	char *res = mmap(0, 4ul << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED || ro == MAP_FAILED || half == MAP_FAILED || edge == MAP_FAILED || vb == MAP_FAILED || b == MAP_FAILED)
		return 1;
	mprotect(edge + PG, PG, PROT_NONE);
	R = (char *)(((uint64_t)res + (2ul << 20) - 1) & ~((2ul << 20) - 1));
	/* Pages 0..8: private anonymous; 0, 1, 5..7 written, 2 read (the zero
	 * page), 3 untouched, 4 a guard marker. */
	char *a = mmap(R, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	a[0] = 1, a[PG] = 1, a[5 * PG] = 1, a[6 * PG] = 1, a[7 * PG] = 1;
	volatile char sink = a[2 * PG];
	(void)sink;
	CHECK("guard page 4", madvise(a + 4 * PG, PG, MADV_GUARD_INSTALL));
	/* Pages 8..10: nothing mapped. */
	CHECK("hole", munmap(R + 8 * PG, 2 * PG));
	/* Pages 10..16: a shared memfd; 10 written, 11 read, 12 a guard marker. */
	int fd = memfd_create("scan", 0);
	CHECK("ftruncate", ftruncate(fd, 16 * PG));
	char *s = mmap(R + 10 * PG, 6 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	s[0] = 2;
	sink = s[PG];
	CHECK("guard page 12", madvise(s + 2 * PG, PG, MADV_GUARD_INSTALL));
	/* Pages 16..24: the memfd mapped private; 16 read (its page cache),
	 * 17 written (a private copy); page 0 of the file is in the cache. */
	char *p = mmap(R + 16 * PG, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
	sink = p[0];
	p[PG] = 3;
	/* Pages 32..36: written, then PROT_NONE (still present). */
	char *n = mmap(R + 32 * PG, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	n[0] = 1, n[PG] = 1;
	CHECK("mprotect none", mprotect(n, 4 * PG, PROT_NONE));
	/* Pages 40..42: read-only anonymous, read (the zero page). */
	char *z = mmap(R + 40 * PG, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	sink = z[0];

	pagemap_bits();

	uint64_t lo = (uint64_t)R, hi = lo + NPAGES * PG;
	scan("everything", masked(0, 0, 0, ALL));
	scan("everything, no return mask", masked(0, 0, 0, 0));
	scan("present", masked(0, PRESENT, 0, ALL));
	scan("present, return present", masked(0, PRESENT, 0, PRESENT));
	scan("not present", masked(PRESENT, PRESENT, 0, ALL));
	scan("written", masked(0, WRITTEN, 0, WRITTEN));
	scan("file", masked(0, FILE_, 0, ALL));
	scan("present not file", masked(FILE_, PRESENT | FILE_, 0, ALL));
	scan("zero page", masked(0, PFNZERO, 0, ALL));
	scan("guard", masked(0, GUARD, 0, ALL));
	scan("swapped", masked(0, SWAPPED, 0, ALL));
	scan("guard or zero page", masked(0, 0, GUARD | PFNZERO, ALL));
	scan("present and guard or zero page", masked(0, PRESENT, GUARD | PFNZERO, ALL));
	scan("inverted any of present", masked(PRESENT, 0, PRESENT, ALL));
	scan("huge", masked(0, HUGE, 0, ALL));
	scan("soft-dirty", masked(0, SOFT_DIRTY, 0, ALL));
	scan("not soft-dirty", masked(SOFT_DIRTY, SOFT_DIRTY, 0, ALL));
	scan("wp allowed", masked(0, WPALLOWED, 0, ALL));
	scan("not wp allowed", masked(WPALLOWED, WPALLOWED, 0, ALL));
	scan("inverted only", masked(PRESENT | FILE_, 0, 0, ALL));

	struct pm_scan_arg q = masked(0, PRESENT, 0, ALL);
	q.max_pages = 3;
	scan("present, max 3 pages", q);
	q.max_pages = 1;
	scan("present, max 1 page", q);
	q.max_pages = 7;
	scan("present, max 7 pages", q);
	q = masked(0, PRESENT, 0, ALL);
	q.vec_len = 1;
	scan("present, vector of 1", q);
	q.vec_len = 2;
	scan("present, vector of 2", q);
	/* Resuming from walk_end until the range is done, 2 regions at a time. */
	q = masked(0, 0, 0, ALL);
	q.vec_len = 2;
	for (int i = 0; i < 20; i++) {
		long r = do_scan(&q);
		printf("resume %d: %ld, walk_end %s", i, r, rel(q.walk_end));
		for (long j = 0; j < r; j++)
			printf(" [%s,%s) %#lx", rel(vec[j].start), rel(vec[j].end), (unsigned long)vec[j].categories);
		printf("\n");
		if (r <= 0 || q.walk_end >= q.end)
			break;
		q.start = q.walk_end;
	}
	q = masked(0, 0, 0, ALL);
	q.vec = 0, q.vec_len = 0;
	scan("no vector", q);
	q.vec = (uint64_t)vec;
	scan("vector, length 0", q);

	/* The range. */
	scan("empty range", arg(lo, lo));
	scan("unaligned end", arg(lo, lo + 5));
	scan("unaligned start", arg(lo + 5, hi));
	scan("end below start", arg(hi, lo));
	scan("hole only", arg(lo + 8 * PG, lo + 10 * PG));
	scan("start in the hole", arg(lo + 9 * PG, lo + 12 * PG));
	/* Ranges holding mappings that differ between machines (the stack):
	 * no vector, so only the checks and walk_end show. */
	q = arg(0, PG);
	q.vec = 0, q.vec_len = 0;
	scan("from 0 to the first page", q);
	struct pm_scan_arg t = arg(0x7ffffffff000ul - PG, 0x7ffffffff000ul);
	t.vec = 0, t.vec_len = 0;
	do_scan(&t);
	printf("top of the user half: walk_end is the end: %s\n", t.walk_end == 0x7ffffffff000ul ? "yes" : "no");
	t = arg(0x7ffffffff000ul, 0x7ffffffff000ul);
	t.vec = 0, t.vec_len = 0;
	printf("up to the user limit: %ld\n", do_scan(&t));
	t = arg(0, 0x7ffffffff000ul);
	t.vec = 0, t.vec_len = 0;
	long whole = do_scan(&t);
	printf("the whole user half: %ld, walk_end is the end: %s\n", whole, t.walk_end == 0x7ffffffff000ul ? "yes" : "no");
	scan("past the user half", arg(0x7ffffffff000ul, 0x800000000000ul));
	scan("non-canonical", arg(0x800000000000ul, 0x800000001000ul));
	scan("kernel half", arg(0xffff800000000000ul, 0xffff800000001000ul));

	/* The header. */
	q = arg(lo, hi);
	q.size = 0;
	scan("size 0", q);
	q.size = sizeof q - 8;
	scan("size short", q);
	q.size = sizeof q + 8;
	scan("size long", q);
	q = arg(lo, hi);
	q.flags = 4;
	scan("unknown flag", q);
	q.flags = 1ul << 63;
	scan("flag bit 63", q);
	const char *which[] = { "inverted", "mask", "anyof", "return" };
	for (int i = 0; i < 4; i++) {
		char name[64];
		q = arg(lo, hi);
		(&q.category_inverted)[i] = 1 << 9;
		snprintf(name, sizeof name, "category bit 9 in %s", which[i]);
		scan(name, q);
	}
	q = arg(lo, hi);
	q.flags = PM_SCAN_CHECK_WPASYNC;
	scan("check wp-async", q);
	q = arg(lo + 8 * PG, lo + 10 * PG);
	q.flags = PM_SCAN_CHECK_WPASYNC;
	scan("check wp-async over the hole only", q);
	q = arg(lo, hi);
	q.flags = PM_SCAN_WP_MATCHING;
	scan("wp matching", q);
	q.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
	scan("wp matching and check", q);
	q.flags = PM_SCAN_WP_MATCHING;
	q.vec = 0, q.vec_len = 0;
	scan("wp matching, no vector", q);

	/* The vector. */
	q = arg(lo, hi);
	q.vec = 0;
	scan("length without vector", q);
	q = arg(lo, hi);
	q.vec = (uint64_t)BAD_ADDR;
	scan("vector non-canonical", q);
	q.vec = (uint64_t)NULL_PAGE;
	scan("vector in page 0", q);
	q = arg(lo, hi);
	q.vec_len = 1ul << 60;
	scan("vector too long", q);
	q.vec = (uint64_t)(edge + PG);
	q.vec_len = 2;
	scan("vector on a PROT_NONE page", q);
	q = arg(lo, hi);
	q.vec = (uint64_t)ro;
	q.vec_len = 4;
	scan("vector read-only", q);
	/* Half writable: the first flush of the bounce buffer fails whole. */
	mprotect(half + PG, PG, PROT_READ);
	q = arg(lo, hi);
	q.vec = (uint64_t)(half + PG - 24);
	q.vec_len = 4;
	memset(half, 0, PG);
	errno = 0;
	long r = syscall(SYS_ioctl, pm, PAGEMAP_SCAN, &q);
	printf("vector straddling read-only: %ld %s, walk_end %s, first entry written: %s\n", r, r < 0 ? ename(errno) : "",
	       rel(q.walk_end), ((struct page_region *)(half + PG - 24))->end ? "yes" : "no");

	/* The argument itself. */
	errno = 0;
	CHECK("argument NULL", syscall(SYS_ioctl, pm, PAGEMAP_SCAN, 0));
	CHECK("argument non-canonical", syscall(SYS_ioctl, pm, PAGEMAP_SCAN, BAD_ADDR));
	struct pm_scan_arg *ra = (struct pm_scan_arg *)(ro + PG - sizeof *ra);
	q = arg(lo, hi);
	mprotect(ro, PG, PROT_READ | PROT_WRITE);
	*ra = q;
	mprotect(ro, PG, PROT_READ);
	memset(vec, 0, sizeof vec);
	CHECK("argument read-only", syscall(SYS_ioctl, pm, PAGEMAP_SCAN, ra));
	SHOW("  regions written anyway", vec[0].end != 0);
	/* The argument's last bytes on an inaccessible page. */
	struct pm_scan_arg *ea = (struct pm_scan_arg *)(edge + PG - sizeof *ea + 8);
	memcpy(ea, &q, sizeof *ea - 8);
	CHECK("argument crossing into an unmapped page", syscall(SYS_ioctl, pm, PAGEMAP_SCAN, ea));

	/* The request: the ioctl number is an unsigned int. */
	q = arg(lo, lo + 2 * PG);
	errno = 0;
	CHECK("upper bits of the request ignored", syscall(SYS_ioctl, pm, PAGEMAP_SCAN | (1ul << 32), &q));
	CHECK("another pagemap ioctl", syscall(SYS_ioctl, pm, PAGEMAP_SCAN + 1, &q));
	CHECK("_IO('f', 16)", syscall(SYS_ioctl, pm, (unsigned long)(('f' << 8) | 16), &q));
	CHECK("TCGETS on pagemap", syscall(SYS_ioctl, pm, 0x5401, vec));
	int nread = 7;
	CHECK("FIONREAD on pagemap", syscall(SYS_ioctl, pm, 0x541b, &nread));
	printf("  %d\n", nread);
	CHECK("lseek", lseek(pm, 80, SEEK_SET));
	CHECK("FIONREAD on pagemap at 80", syscall(SYS_ioctl, pm, 0x541b, &nread));
	printf("  %d\n", nread);
	CHECK("FIOCLEX on pagemap", syscall(SYS_ioctl, pm, 0x5451, 0));
	CHECK("FD_CLOEXEC", fcntl(pm, F_GETFD));
	CHECK("PAGEMAP_SCAN on a memfd", syscall(SYS_ioctl, fd, PAGEMAP_SCAN, &q));
	int maps = open("/proc/self/maps", O_RDONLY);
	CHECK("PAGEMAP_SCAN on maps", syscall(SYS_ioctl, maps, PAGEMAP_SCAN, &q));
	CHECK("PAGEMAP_SCAN on stdout", syscall(SYS_ioctl, 1, PAGEMAP_SCAN, &q));
	CHECK("PAGEMAP_SCAN on a bad fd", syscall(SYS_ioctl, 999, PAGEMAP_SCAN, &q));

	/* More regions than the 512-entry bounce buffer: every other page of
	 * 1100 written. */
	for (size_t i = 0; i < big; i += 2)
		b[i * PG] = 1;
	uint64_t bl = (uint64_t)b;
	struct pm_scan_arg m = arg(bl, bl + big * PG);
	m.category_mask = PRESENT;
	long got = do_scan(&m);
	int ok = 1;
	for (long i = 0; i < got; i++)
		ok &= vec[i].start == bl + 2 * i * PG && vec[i].end == vec[i].start + PG;
	printf("1100 pages, every other present: %ld regions, each right: %s, walk_end at the end: %s, at page %ld\n", got,
	       ok ? "yes" : "no", m.walk_end == bl + big * PG ? "yes" : "no", (long)((m.walk_end - bl) / PG));
	m = arg(bl, bl + big * PG);
	m.category_mask = PRESENT;
	m.vec_len = 520;
	got = do_scan(&m);
	printf("  vector of 520: %ld regions, walk_end at page %ld\n", got, (long)((m.walk_end - bl) / PG));
	m = arg(bl, bl + big * PG);
	m.category_mask = PRESENT;
	m.max_pages = 513;
	got = do_scan(&m);
	printf("  max 513 pages: %ld regions, walk_end at page %ld\n", got, (long)((m.walk_end - bl) / PG));
	m = arg(bl, bl + big * PG);
	m.category_inverted = PRESENT;
	m.category_mask = PRESENT;
	m.vec_len = 512;
	got = do_scan(&m);
	printf("  absent, vector of 512: %ld regions, walk_end at page %ld\n", got, (long)((m.walk_end - bl) / PG));
	m = arg(bl, bl + big * PG);
	m.category_mask = PRESENT;
	mprotect(vb + 4 * PG, PG, PROT_READ);
	m.vec = (uint64_t)(vb + 4 * PG - 24 * 513);
	m.vec_len = 600;
	got = do_scan(&m);
	printf("  vector of 600 whose 514th entry is read-only: %ld %s, walk_end at page %ld\n", got, got < 0 ? ename(errno) : "",
	       (long)((m.walk_end - bl) / PG));

	/* After fork the child's pages are shared copy-on-write: still present
	 * (up to page 40: whether fork copies the zero-page-only VMA there is
	 * not what this program is about). */
	fflush(stdout);
	struct pm_scan_arg cq = masked(0, PRESENT, 0, ALL);
	cq.end = lo + 40 * PG;
	pid_t c = fork();
	if (c == 0) {
		scan("child: present", cq);
		fflush(stdout);
		_exit(0);
	}
	printf("child: %s\n", abi_wait(c));
	scan("parent after fork: present", masked(0, PRESENT, 0, ALL));
	return 0;
}
