/* /proc/self/smaps: the records of the program's own mappings, every line
 * as Linux prints it (field order, widths, units, the VmFlags line with its
 * trailing space), for anonymous memory touched in known ways (written,
 * read through the zero page, guard regions, mlock, fork sharing, madvise
 * flags, mseal) and for a memfd mapped twice. The [vsyscall] record, and
 * that every record has the same fields in the same order, are checked too.
 *
 * Addresses are printed relative to the mapping; a memfd record is printed
 * without its header line (device and inode numbers differ between the
 * worlds). Left out, because the two kernels cannot agree on them for the
 * same history: MADV_FREE (Linux counts LazyFree when the CPU's LRU batch
 * drains) and pages dirtied through write(2) (the folio's dirty bit); the
 * Referenced line is not printed (accessed bits: Linux makes a forked
 * child's entries old, and the MMU sets them again on access). The read-only
 * memfd mapping is placed on a 64 KiB boundary, so that fault-around's
 * window (aligned to fault_around_bytes) is the same in both worlds.
 */
#include "abi.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <fcntl.h>

#define PAGE 4096ul

static char text[1 << 20];

/* The whole of /proc/self/smaps, read in small pieces. */
static size_t read_smaps(void)
{
	int fd = open("/proc/self/smaps", O_RDONLY);
	if (fd < 0) {
		printf("open /proc/self/smaps: -1 %s\n", ename(errno));
		return 0;
	}
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, text + n, n + 1000 < sizeof text ? 1000 : sizeof text - n - 1);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	text[n] = 0;
	close(fd);
	return n;
}

/* Prints the records of VMAs inside [base, base+len), addresses relative. */
static void show(const char *what, void *base, size_t len, int header)
{
	unsigned long b = (unsigned long)base;
	read_smaps();
	printf("== %s\n", what);
	char *line = text;
	int in = 0;
	while (*line) {
		char *end = strchr(line, '\n');
		if (!end)
			break;
		*end = 0;
		unsigned long s, e;
		char rest[512];
		if (sscanf(line, "%lx-%lx %511[^\n]", &s, &e, rest) == 3) {
			in = s >= b && e <= b + len;
			if (in) {
				/* The part after the range: perms, offset, dev, inode, padding. */
				if (header)
					printf("+%#lx-+%#lx %s\n", s - b, e - b, line + strcspn(line, " ") + 1);
				else
					printf("+%#lx-+%#lx\n", s - b, e - b);
			}
		} else if (in && strncmp(line, "Referenced:", 11)) {
			printf("%s\n", line);
		}
		line = end + 1;
	}
}

static char *region;

static int child(void)
{
	show("child: shared with the parent", region, 8 * PAGE, 1);
	region[0] = 3;
	show("child: page 0 copied", region, 8 * PAGE, 1);
	return 0;
}

static void check_structure(void)
{
	size_t n = read_smaps();
	int records = 0, bad = 0, fields = 0;
	char first[2048] = "", cur[2048] = "";
	for (char *line = text; line < text + n;) {
		char *end = strchr(line, '\n');
		if (!end)
			break;
		*end = 0;
		char *colon = strchr(line, ':');
		char *space = strchr(line, ' ');
		if (colon && (!space || colon < space)) {
			/* A field: "Name:" then the value. */
			strncat(cur, line, (size_t)(colon - line + 1));
			fields++;
			if (!strncmp(line, "VmFlags:", 8)) {
				if (end[-1] != ' ')
					bad++;
				if (!records)
					strcpy(first, cur);
				else if (strcmp(first, cur))
					bad++;
				records++;
				cur[0] = 0;
			}
		}
		line = end + 1;
	}
	SHOW("smaps has records", records > 3);
	SHOW("every record has the first record's fields, in order", bad == 0);
	printf("fields per record: %d\n", records ? fields / records : 0);
	printf("field names: %s\n", first);
	read_smaps();
	char *v = strstr(text, "[vsyscall]");
	if (v) {
		while (v > text && v[-1] != '\n')
			v--;
		printf("%s", v);
	} else {
		printf("no [vsyscall] record\n");
	}
}

int main(void)
{
	abi_line_buffered();
	/* Base pages, as the engine has (THP is per-process policy here). */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);

	region = mmap(0, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	show("untouched", region, 8 * PAGE, 1);
	region[0] = 1;
	region[PAGE] = 1;
	volatile char c = region[2 * PAGE];
	(void)c;
	show("two pages written, one read (the zero page is not counted)", region, 8 * PAGE, 1);
	CHECK("MADV_GUARD_INSTALL", madvise(region + 4 * PAGE, PAGE, 102));
	CHECK("mlock", mlock(region + 6 * PAGE, PAGE));
	show("guard (gu, on the whole VMA) and mlock (lo, populated)", region, 8 * PAGE, 1);
	abi_in_child("fork", child);
	show("parent after the child copied", region, 8 * PAGE, 1);
	CHECK("MADV_DONTFORK", madvise(region + 7 * PAGE, PAGE, MADV_DONTFORK));
	CHECK("MADV_WIPEONFORK", madvise(region + 5 * PAGE, PAGE, MADV_WIPEONFORK));
	CHECK("MADV_RANDOM", madvise(region + 3 * PAGE, PAGE, MADV_RANDOM));
	CHECK("munlock", munlock(region + 6 * PAGE, PAGE));
	CHECK("mlock2 MLOCK_ONFAULT", syscall(SYS_mlock2, region + 6 * PAGE, PAGE, 1));
	CHECK("mseal", syscall(462, region, PAGE, 0));
	show("madvise flags, lock on fault, mseal", region, 8 * PAGE, 1);

	int fd = memfd_create("smaps", 0);
	CHECK("ftruncate", ftruncate(fd, 4 * PAGE));
	char *w = mmap(0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *hole = mmap(0, 32 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *at = (char *)(((unsigned long)hole + 16 * PAGE - 1) & ~(16 * PAGE - 1));
	char *r = mmap(at, 4 * PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
	w[0] = 1;
	w[PAGE] = 2;
	c = r[3 * PAGE];
	show("memfd: written mapping", w, 4 * PAGE, 0);
	show("memfd: read-only mapping (fault-around maps the cached pages)", r, 4 * PAGE, 0);

	char *n = mmap(0, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	show("PROT_NONE, MAP_NORESERVE", n, 2 * PAGE, 1);
	check_structure();
	return 0;
}
