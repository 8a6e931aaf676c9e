/* The allocator on top of brk and mmap: small and large blocks (above the
 * mmap threshold of both libcs), realloc growing and shrinking across that
 * threshold with contents preserved, calloc zeroing (also of reused memory),
 * many allocations, posix_memalign and aligned_alloc, malloc_usable_size, and
 * the failures: sizes no allocator can satisfy, bad alignments.
 *
 * Nothing here prints an address: only alignment, contents and counts.
 */
#include "abi.h"

#include <malloc.h>
#include <stdint.h>

/* Sizes no allocator can satisfy, hidden from the compiler's checks. */
static volatile size_t size_max = SIZE_MAX;

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static int check(const unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void small_blocks(void)
{
	unsigned char *p[64];
	int ok = 1, aligned = 1, usable = 1;
	for (int i = 0; i < 64; i++) {
		size_t n = (size_t)i * 8 + 1;
		p[i] = malloc(n);
		if (!p[i]) {
			ok = 0;
			continue;
		}
		aligned &= ((uintptr_t)p[i] & 15) == 0;
		usable &= malloc_usable_size(p[i]) >= n;
		fill(p[i], n, i);
	}
	for (int i = 0; i < 64; i++)
		if (p[i])
			ok &= check(p[i], (size_t)i * 8 + 1, i);
	for (int i = 0; i < 64; i += 2)
		free(p[i]);
	for (int i = 1; i < 64; i += 2)
		ok &= check(p[i], (size_t)i * 8 + 1, i);
	for (int i = 1; i < 64; i += 2)
		free(p[i]);
	SHOW("small blocks: allocated and contents intact", ok);
	SHOW("small blocks: 16-byte aligned", aligned);
	SHOW("small blocks: malloc_usable_size >= requested", usable);
	void *z = malloc(0);
	SHOW("malloc(0) returns a unique pointer", z != NULL);
	free(z);
	free(NULL);
	printf("free(NULL): ok\n");
}

static void large_blocks(void)
{
	static const size_t sizes[] = {128 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 32 << 20};
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t n = sizes[i];
		unsigned char *p = malloc(n);
		if (!p) {
			printf("large %zu KiB: NULL %s\n", n >> 10, ename(errno));
			continue;
		}
		/* Untouched large blocks come fresh from mmap: zero. */
		int zero = all_zero(p, n);
		fill(p, n, i);
		int ok = check(p, n, i);
		printf("large %zu KiB: ok %s, fresh memory zero %s, usable >= requested %s, 16-byte aligned %s\n",
		       n >> 10, ok ? "yes" : "no", zero ? "yes" : "no", malloc_usable_size(p) >= n ? "yes" : "no",
		       ((uintptr_t)p & 15) == 0 ? "yes" : "no");
		free(p);
	}
}

static void reallocs(void)
{
	size_t n = 100;
	unsigned char *p = malloc(n);
	fill(p, n, 3);
	int ok = 1;
	/* Grow from 100 bytes to 8 MiB (through brk-sized and mmap-sized blocks). */
	while (n < (8u << 20)) {
		size_t m = n * 3;
		unsigned char *q = realloc(p, m);
		if (!q) {
			printf("realloc grow to %zu: NULL %s\n", m, ename(errno));
			ok = 0;
			break;
		}
		ok &= check(q, n, 3);
		fill(q, m, 3);
		p = q;
		n = m;
	}
	SHOW("realloc growth to 8 MiB preserves contents", ok);
	/* Shrink back down. */
	while (n > 50) {
		size_t m = n / 5;
		unsigned char *q = realloc(p, m);
		if (!q) {
			ok = 0;
			break;
		}
		ok &= check(q, m, 3);
		p = q;
		n = m;
	}
	SHOW("realloc shrinking preserves contents", ok);
	free(p);
	p = realloc(NULL, 77);
	SHOW("realloc(NULL, 77) allocates", p != NULL);
	fill(p, 77, 9);
	unsigned char *q = realloc(p, 77);
	SHOW("realloc to the same size keeps contents", q && check(q, 77, 9));
	free(q);
	errno = 0;
	q = malloc(10);
	void *r = realloc(q, size_max - 4096);
	printf("realloc to SIZE_MAX-4096: %s %s, old block intact %s\n", r ? "non-NULL" : "NULL", ename(errno),
	       r ? "n/a" : "yes");
	if (!r)
		free(q);
}

static void callocs(void)
{
	/* Dirty some memory, free it, calloc over it: must read zero. */
	for (int round = 0; round < 3; round++) {
		unsigned char *d = malloc(4000);
		memset(d, 0xa5, 4000);
		free(d);
		unsigned char *c = calloc(1000, 4);
		SHOW("calloc over freed dirty memory is zero", c && all_zero(c, 4000));
		free(c);
	}
	unsigned char *big = calloc(3, 5 << 20);
	SHOW("calloc(3, 5 MiB) is zero", big && all_zero(big, 15u << 20));
	free(big);
	errno = 0;
	void *o = calloc(size_max / 2, 3);
	printf("calloc overflowing size_t: %s %s\n", o ? "non-NULL" : "NULL", ename(errno));
	errno = 0;
	o = calloc(0, 10);
	printf("calloc(0, 10): %s\n", o ? "non-NULL" : "NULL");
	free(o);
}

static void many(void)
{
	enum { N = 20000 };
	static unsigned char *p[N];
	unsigned long sum = 0;
	int ok = 1;
	for (int i = 0; i < N; i++) {
		size_t n = 1 + (size_t)(i * 37) % 700;
		p[i] = malloc(n);
		if (!p[i]) {
			ok = 0;
			break;
		}
		fill(p[i], n, i);
	}
	/* Free every third, reallocate them, check all. */
	for (int i = 0; ok && i < N; i += 3) {
		free(p[i]);
		size_t n = 1 + (size_t)(i * 37) % 700;
		p[i] = malloc(n);
		if (!p[i])
			ok = 0;
		else
			fill(p[i], n, i);
	}
	for (int i = 0; ok && i < N; i++) {
		size_t n = 1 + (size_t)(i * 37) % 700;
		ok &= check(p[i], n, i);
		sum += p[i][n / 2];
	}
	for (int i = 0; i < N; i++)
		free(p[i]);
	printf("many allocations: ok %s, checksum %lu\n", ok ? "yes" : "no", sum);
}

static void aligned(void)
{
	static const size_t aligns[] = {8, 16, 32, 64, 256, 4096, 65536, 1 << 21};
	for (unsigned i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
		void *p = NULL;
		int r = posix_memalign(&p, aligns[i], 1000);
		printf("posix_memalign(%zu, 1000): %s, aligned %s\n", aligns[i], r ? ename(r) : "0",
		       p && ((uintptr_t)p % aligns[i]) == 0 ? "yes" : "no");
		if (p) {
			memset(p, 1, 1000);
			SHOW("posix_memalign block usable size >= 1000", malloc_usable_size(p) >= 1000);
		}
		free(p);
	}
	void *p = (void *)1;
	CHECK_RET("posix_memalign(3, 10)", posix_memalign(&p, 3, 10));
	CHECK_RET("posix_memalign(0, 10)", posix_memalign(&p, 0, 10));
	CHECK_RET("posix_memalign(4, 10) (less than sizeof(void *))", posix_memalign(&p, 4, 10));
	SHOW("failed posix_memalign leaves the pointer", p == (void *)1);
	CHECK_RET("posix_memalign(64, SIZE_MAX/2)", posix_memalign(&p, 64, SIZE_MAX / 2));
	void *a = aligned_alloc(128, 512);
	SHOW("aligned_alloc(128, 512) aligned", a && ((uintptr_t)a & 127) == 0);
	free(a);
}

static void failures(void)
{
	errno = 0;
	void *p = malloc(size_max);
	printf("malloc(SIZE_MAX): %s %s\n", p ? "non-NULL" : "NULL", ename(errno));
	errno = 0;
	/* 64 TiB: more than any overcommit heuristic allows, and more than the
	 * brk area can take; both brk and mmap are refused by the kernel. */
	p = malloc((size_t)1 << 46);
	printf("malloc(64 TiB): %s %s\n", p ? "non-NULL" : "NULL", ename(errno));
	free(p);
	/* The allocator still works after failures. */
	p = malloc(123);
	SHOW("malloc works after failures", p != NULL);
	free(p);
}

int main(void)
{
	abi_line_buffered();
	small_blocks();
	large_blocks();
	reallocs();
	callocs();
	many();
	aligned();
	failures();
	return 0;
}
