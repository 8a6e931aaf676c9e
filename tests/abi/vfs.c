/* The file system calls by name, with their error cases: open and its
 * flags (O_CREAT/O_EXCL/O_TRUNC/O_APPEND/O_DIRECTORY/O_NOFOLLOW/O_CLOEXEC/
 * O_PATH/O_TMPFILE), the stat family and statx, getdents64, readlink,
 * access, mkdir, rmdir, rename/renameat2, link, symlink, unlink(at),
 * chdir/fchdir/getcwd, umask, chmod, chown, truncate, utimensat, statfs,
 * and what /proc and /dev show.
 *
 * Everything happens below the starting directory (a private temporary
 * directory natively, "/" in the microVM), by relative names. What differs
 * between file systems and is not Linux's to define the same way everywhere
 * (inode and device numbers, times, directory sizes and blocks, readdir order
 * on ext4, the statfs type) is not printed: names are sorted, times are
 * compared with each other.
 */
#include "abi.h"

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/time.h>

#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#define RENAME_WHITEOUT 4
#endif
#ifndef STATX_BASIC_STATS
#define STATX_BASIC_STATS 0x7ff
#endif

#define D "vfs-test"

static long sys_renameat2(int od, const char *o, int nd, const char *n, unsigned f) { return syscall(SYS_renameat2, od, o, nd, n, f); }
static long sys_faccessat2(int d, const char *p, int m, int f) { return syscall(439, d, p, m, f); }

static const char *type_of(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "lnk";
	case S_IFCHR: return "chr";
	case S_IFIFO: return "fifo";
	default: return "?";
	}
}

/* Type, permission bits, link count and (for regular files) size. */
static void show_stat(const char *what, const char *path, int follow)
{
	struct stat st;
	int r = follow ? stat(path, &st) : lstat(path, &st);
	if (r < 0) {
		printf("%s: -1 %s\n", what, ename(errno));
		return;
	}
	printf("%s: %s %04o nlink=%lu", what, type_of(st.st_mode), st.st_mode & 07777, (unsigned long)st.st_nlink);
	if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
		printf(" size=%lld", (long long)st.st_size);
	if (S_ISCHR(st.st_mode))
		printf(" rdev=%u:%u", major(st.st_rdev), minor(st.st_rdev));
	printf("\n");
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The sorted names of a directory, read with getdents64 in small batches. */
static void list(const char *what, const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		printf("%s: -1 %s\n", what, ename(errno));
		return;
	}
	char buf[64];
	char *names[256];
	int n = 0, calls = 0;
	long got;
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		calls++;
		for (long off = 0; off < got;) {
			unsigned short reclen = *(unsigned short *)(buf + off + 16);
			unsigned char type = *(unsigned char *)(buf + off + 18);
			char *name = buf + off + 19;
			if (n < 256) {
				char *s = malloc(strlen(name) + 4);
				sprintf(s, "%s/%u", name, type);
				names[n++] = s;
			}
			off += reclen;
		}
	}
	if (got < 0)
		printf("%s: getdents64 -1 %s\n", what, ename(errno));
	qsort(names, n, sizeof names[0], cmp);
	printf("%s:", what);
	for (int i = 0; i < n; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf("\n");
	close(fd);
}

static void opens(void)
{
	CHECK("open missing", open(D "/none", O_RDONLY));
	CHECK("open creat", open(D "/f", O_CREAT | O_WRONLY, 0666));
	show_stat("stat f (umask 022)", D "/f", 1);
	CHECK("open creat excl existing", open(D "/f", O_CREAT | O_EXCL | O_WRONLY, 0600));
	CHECK("open directory on file", open(D "/f", O_RDONLY | O_DIRECTORY));
	CHECK("open file as dir prefix", open(D "/f/x", O_RDONLY));
	CHECK("open trailing slash on file", open(D "/f/", O_RDONLY));
	CHECK("open creat trailing slash", open(D "/new/", O_CREAT | O_WRONLY, 0600));
	CHECK("open dir for writing", open(D, O_WRONLY));
	CHECK("open dir creat", open(D, O_CREAT | O_RDONLY, 0600));
	CHECK("open accmode 3", ({ int r2 = open(D "/f", 3); char b[2]; if (r2 >= 0) { printf("accmode 3 read: %ld\n", (long)read(r2, b, 1)); close(r2); } r2 >= 0; }));
	int fd = open(D "/f", O_RDWR);
	CHECK("write", write(fd, "hello world", 11));
	close(fd);
	fd = open(D "/f", O_WRONLY | O_APPEND);
	CHECK("append", write(fd, "!", 1));
	CHECK("append lseek", lseek(fd, 0, SEEK_CUR));
	close(fd);
	show_stat("stat f after append", D "/f", 1);
	fd = open(D "/f", O_RDONLY | O_TRUNC);
	show_stat("rdonly trunc keeps", D "/f", 1);
	close(fd);
	fd = open(D "/f", O_WRONLY | O_TRUNC | O_CLOEXEC);
	CHECK("cloexec flag", fcntl(fd, F_GETFD));
	show_stat("wronly trunc empties", D "/f", 1);
	close(fd);
	CHECK("open empty path", open("", O_RDONLY));
	char longname[300];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	CHECK("open long component", open(longname, O_RDONLY));
	CHECK("open bad pointer", syscall(SYS_openat, AT_FDCWD, (void *)8, O_RDONLY));
	CHECK("openat bad dirfd", openat(99, "f", O_RDONLY));
	CHECK("openat file as dirfd", ({ int f2 = open(D "/f", O_RDONLY); int r2 = openat(f2, "x", O_RDONLY); int e2 = errno; close(f2); errno = e2; r2; }));
	int dfd = open(D, O_RDONLY | O_DIRECTORY);
	CHECK("openat dirfd", ({ int r2 = openat(dfd, "f", O_RDONLY); if (r2 >= 0) close(r2); r2 >= 0; }));
	CHECK("read a directory", ({ char b[4]; read(dfd, b, 4); }));
	close(dfd);

	/* O_PATH */
	fd = open(D "/f", O_PATH);
	CHECK("o_path read", ({ char b[4]; read(fd, b, 4); }));
	CHECK("o_path fstat", ({ struct stat st; fstat(fd, &st); }));
	CHECK("o_path getfl", fcntl(fd, F_GETFL) & (O_PATH | O_ACCMODE));
	close(fd);

	/* O_TMPFILE */
	CHECK("tmpfile rdonly", open(D, O_TMPFILE | O_RDONLY, 0600));
	CHECK("tmpfile on file", open(D "/f", O_TMPFILE | O_RDWR, 0600));
	fd = open(D, O_TMPFILE | O_RDWR, 0640);
	if (fd >= 0) {
		struct stat st;
		fstat(fd, &st);
		printf("tmpfile: %s %04o nlink=%lu\n", type_of(st.st_mode), st.st_mode & 07777, (unsigned long)st.st_nlink);
		CHECK("tmpfile write", write(fd, "abc", 3));
		CHECK("tmpfile pread", ({ char b[4] = {0}; long r2 = pread(fd, b, 3, 0); printf("tmpfile data: %s\n", b); r2; }));
		close(fd);
	} else {
		printf("tmpfile: -1 %s\n", ename(errno));
	}
	list("after tmpfile", D);
}

static void names(void)
{
	CHECK("mkdir", mkdir(D "/d", 0777));
	show_stat("stat d", D "/d", 1);
	CHECK("mkdir existing", mkdir(D "/d", 0777));
	CHECK("mkdir dot", mkdir(D "/d/.", 0777));
	CHECK("mkdir missing parent", mkdir(D "/x/y", 0777));
	CHECK("mkdir under file", mkdir(D "/f/y", 0777));
	CHECK("mkdir sub", mkdir(D "/d/sub", 0700));
	show_stat("nlink d with sub", D "/d", 1);
	CHECK("rmdir not empty", rmdir(D "/d"));
	CHECK("rmdir dot", rmdir(D "/d/."));
	CHECK("rmdir dotdot", rmdir(D "/d/sub/.."));
	CHECK("rmdir file", rmdir(D "/f"));
	CHECK("unlink dir", unlink(D "/d"));
	CHECK("unlinkat removedir file", unlinkat(AT_FDCWD, D "/f", AT_REMOVEDIR));
	CHECK("unlinkat bad flag", unlinkat(AT_FDCWD, D "/f", 0x1000));
	CHECK("unlink trailing slash file", unlink(D "/f/"));

	CHECK("symlink", symlink("f", D "/lf"));
	CHECK("symlink existing", symlink("f", D "/lf"));
	CHECK("symlink dangling", symlink("nowhere", D "/dangling"));
	CHECK("symlink loop a", symlink("loopb", D "/loopa"));
	CHECK("symlink loop b", symlink("loopa", D "/loopb"));
	show_stat("lstat lf", D "/lf", 0);
	show_stat("stat lf", D "/lf", 1);
	show_stat("stat dangling", D "/dangling", 1);
	show_stat("stat loop", D "/loopa", 1);
	CHECK("open nofollow link", open(D "/lf", O_RDONLY | O_NOFOLLOW));
	CHECK("open creat excl on link", open(D "/lf", O_CREAT | O_EXCL | O_RDWR, 0600));
	char buf[64] = {0};
	CHECK("readlink", readlink(D "/lf", buf, sizeof buf));
	printf("readlink text: %s\n", buf);
	CHECK("readlink short", readlink(D "/lf", buf, 0));
	CHECK("readlink not a link", readlink(D "/f", buf, sizeof buf));
	CHECK("readlink missing", readlink(D "/none", buf, sizeof buf));
	CHECK("open dangling creat", ({ int r2 = open(D "/dangling", O_CREAT | O_WRONLY, 0600); if (r2 >= 0) close(r2); r2 >= 0; }));
	show_stat("dangling now", D "/nowhere", 1);

	CHECK("link", link(D "/f", D "/hard"));
	show_stat("nlink after link", D "/f", 1);
	CHECK("link existing", link(D "/f", D "/hard"));
	CHECK("link dir", link(D "/d", D "/dlink"));
	CHECK("link missing", link(D "/none", D "/x"));
	CHECK("unlink hard", unlink(D "/hard"));
	show_stat("nlink after unlink", D "/f", 1);

	CHECK("rename file", rename(D "/f", D "/g"));
	show_stat("renamed", D "/g", 1);
	show_stat("old name", D "/f", 1);
	CHECK("rename over file", ({ int f2 = open(D "/h", O_CREAT | O_WRONLY, 0600); close(f2); rename(D "/g", D "/h"); }));
	CHECK("rename file over dir", rename(D "/h", D "/d"));
	CHECK("rename dir over file", rename(D "/d", D "/h"));
	CHECK("rename dir into itself", rename(D "/d", D "/d/sub/x"));
	CHECK("rename dir over nonempty", ({ mkdir(D "/e", 0777); rename(D "/e", D "/d"); }));
	CHECK("rename dir over empty", ({ rename(D "/d", D "/e"); }));
	show_stat("moved dir sub", D "/e/sub", 1);
	CHECK("rename missing", rename(D "/none", D "/x"));
	CHECK("rename dot", rename(D "/.", D "/x"));
	CHECK("renameat2 noreplace", sys_renameat2(AT_FDCWD, D "/h", AT_FDCWD, D "/lf", RENAME_NOREPLACE));
	CHECK("renameat2 bad flags", sys_renameat2(AT_FDCWD, D "/h", AT_FDCWD, D "/x", RENAME_NOREPLACE | RENAME_EXCHANGE));
	CHECK("renameat2 exchange missing", sys_renameat2(AT_FDCWD, D "/h", AT_FDCWD, D "/x", RENAME_EXCHANGE));
	CHECK("renameat2 exchange", sys_renameat2(AT_FDCWD, D "/h", AT_FDCWD, D "/e", RENAME_EXCHANGE));
	show_stat("exchanged h", D "/h", 1);
	show_stat("exchanged e", D "/e", 1);
	show_stat("exchanged h/sub", D "/h/sub", 1);
	CHECK("renameat2 whiteout", sys_renameat2(AT_FDCWD, D "/e", AT_FDCWD, D "/x", RENAME_WHITEOUT));
	list("listing", D);
	list("listing h", D "/h");
}

static void cwd(void)
{
	char buf[4096];
	int top = open(".", O_RDONLY | O_DIRECTORY);
	CHECK("chdir", chdir(D "/h"));
	CHECK("getcwd tail", ({ char *r2 = getcwd(buf, sizeof buf); r2 ? (long)strlen(r2) >= 7 && !strcmp(r2 + strlen(r2) - 11, "vfs-test/h") : -1; }));
	CHECK("getcwd small", (long)getcwd(buf, 3));
	CHECK("relative open after chdir", ({ int r2 = open("sub", O_RDONLY | O_DIRECTORY); if (r2 >= 0) close(r2); r2 >= 0; }));
	CHECK("chdir dotdot", chdir(".."));
	CHECK("chdir file", chdir("g"));
	CHECK("chdir missing", chdir("none"));
	CHECK("fchdir", fchdir(top));
	CHECK("fchdir bad", fchdir(99));
	CHECK("fchdir file", ({ int f2 = open(D "/h/../lf", O_RDONLY); int r2 = fchdir(f2); int e2 = errno; close(f2); errno = e2; r2; }));
	/* The working directory removed under us. */
	mkdir(D "/gone", 0777);
	chdir(D "/gone");
	CHECK("rmdir cwd", rmdir("../gone"));
	CHECK("getcwd removed", (long)getcwd(buf, sizeof buf));
	CHECK("create in removed cwd", open("x", O_CREAT | O_WRONLY, 0600));
	CHECK("fchdir back", fchdir(top));
	close(top);
}

static void perms(void)
{
	int fd = open(D "/p", O_CREAT | O_WRONLY, 0600);
	close(fd);
	CHECK("umask", umask(077));
	fd = open(D "/q", O_CREAT | O_WRONLY, 0666);
	close(fd);
	show_stat("created under umask 077", D "/q", 1);
	CHECK("umask back", umask(022));
	CHECK("chmod", chmod(D "/p", 0400));
	CHECK("open rdwr read-only file", open(D "/p", O_RDWR));
	CHECK("access r", access(D "/p", R_OK));
	CHECK("access w", access(D "/p", W_OK));
	CHECK("access x", access(D "/p", X_OK));
	CHECK("access f", access(D "/p", F_OK));
	CHECK("access bad mode", access(D "/p", 8));
	CHECK("access missing", access(D "/none", F_OK));
	CHECK("faccessat2 bad flag", sys_faccessat2(AT_FDCWD, D "/p", R_OK, 0x4));
	CHECK("faccessat2 eaccess", sys_faccessat2(AT_FDCWD, D "/p", R_OK, AT_EACCESS));
	CHECK("chmod 0", chmod(D "/p", 0));
	CHECK("open no permission", open(D "/p", O_RDONLY));
	CHECK("truncate no permission", truncate(D "/p", 0));
	CHECK("chmod back", chmod(D "/p", 0644));
	CHECK("chmod symlink follows", chmod(D "/lf", 0600));
	show_stat("target of lf", D "/h", 0);
	CHECK("fchmodat nofollow", fchmodat(AT_FDCWD, D "/lf", 0600, AT_SYMLINK_NOFOLLOW));
	/* A directory without search permission. */
	mkdir(D "/locked", 0700);
	fd = open(D "/locked/in", O_CREAT | O_WRONLY, 0600);
	close(fd);
	CHECK("chmod dir 0600", chmod(D "/locked", 0600));
	CHECK("stat through unsearchable", ({ struct stat st; stat(D "/locked/in", &st); }));
	list("list unsearchable", D "/locked");
	CHECK("chmod dir 0500", chmod(D "/locked", 0500));
	CHECK("create in read-only dir", open(D "/locked/new", O_CREAT | O_WRONLY, 0600));
	CHECK("unlink in read-only dir", unlink(D "/locked/in"));
	CHECK("chmod dir back", chmod(D "/locked", 0700));
	/* chown without CAP_CHOWN. */
	CHECK("chown same", chown(D "/p", getuid(), getgid()));
	CHECK("chown -1 -1", chown(D "/p", -1, -1));
	CHECK("chown other uid", chown(D "/p", getuid() + 1, -1));
	CHECK("chown other gid", chown(D "/p", -1, 65533));
	CHECK("lchown link", lchown(D "/lf", getuid(), getgid()));
	CHECK("fchownat bad flag", fchownat(AT_FDCWD, D "/p", -1, -1, 0x2));
	/* truncate */
	CHECK("truncate grow", truncate(D "/p", 10000));
	show_stat("after truncate", D "/p", 1);
	CHECK("truncate negative", truncate(D "/p", -1));
	CHECK("truncate dir", truncate(D "/h", 0));
	CHECK("truncate missing", truncate(D "/none", 0));
	/* utimensat */
	struct timespec ts[2] = {{100, 0}, {200, 500}};
	CHECK("utimensat", utimensat(AT_FDCWD, D "/p", ts, 0));
	struct stat st;
	stat(D "/p", &st);
	printf("times: atime=%ld mtime=%ld.%ld\n", (long)st.st_atime, (long)st.st_mtime, st.st_mtim.tv_nsec);
	struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
	CHECK("utimensat bad nsec", utimensat(AT_FDCWD, D "/p", bad, 0));
	struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
	CHECK("utimensat omit now", utimensat(AT_FDCWD, D "/p", omit, 0));
	stat(D "/p", &st);
	printf("atime kept: %s, mtime moved: %s\n", st.st_atime == 100 ? "yes" : "no", st.st_mtime > 200 ? "yes" : "no");
	CHECK("utimensat bad flag", utimensat(AT_FDCWD, D "/p", NULL, 0x1));
	/* Writes move mtime forward. */
	struct stat before, after;
	stat(D "/p", &before);
	CHECK("mkdir moves parent mtime", ({ struct stat a0, a1; stat(D, &a0); usleep(20000); mkdir(D "/t", 0777); stat(D, &a1); a1.st_mtim.tv_sec * 1000000000L + a1.st_mtim.tv_nsec > a0.st_mtim.tv_sec * 1000000000L + a0.st_mtim.tv_nsec; }));
	int wfd = open(D "/p", O_WRONLY);
	usleep(20000);
	write(wfd, "w", 1);
	fstat(wfd, &after);
	close(wfd);
	printf("write moves mtime: %s\n", after.st_mtim.tv_sec * 1000000000L + after.st_mtim.tv_nsec > before.st_mtim.tv_sec * 1000000000L + before.st_mtim.tv_nsec ? "yes" : "no");
	/* On tmpfs (/dev/shm on both sides: the host's working directory may be
	   a disk file system, whose rules differ), truncate moves mtime and
	   ctime only when the size changes (shmem_setattr); ftruncate always
	   (ATTR_MTIME | ATTR_CTIME). mtime is set to 200 first. */
	char shm[64];
	snprintf(shm, sizeof shm, "/dev/shm/vfs-times-%d", (int)getpid());
	close(open(shm, O_CREAT | O_WRONLY | O_TRUNC, 0600));
	struct timespec old_t[2] = {{100, 0}, {200, 0}};
	for (int k = 0; k < 4; k++) {
		utimensat(AT_FDCWD, shm, old_t, 0);
		stat(shm, &before);
		usleep(2000);
		int tfd = open(shm, O_RDWR);
		int r = k == 0 ? truncate(shm, before.st_size) : k == 1 ? truncate(shm, before.st_size + 1)
		      : k == 2 ? ftruncate(tfd, before.st_size) : ftruncate(tfd, 3);
		close(tfd);
		stat(shm, &after);
		printf("%s: %d, mtime moved %s, ctime moved %s\n",
		       k == 0 ? "truncate to the same size" : k == 1 ? "truncate to a new size" : k == 2 ? "ftruncate to the same size" : "ftruncate to a new size",
		       r, after.st_mtime > 200 ? "yes" : "no",
		       after.st_ctim.tv_sec * 1000000000L + after.st_ctim.tv_nsec > before.st_ctim.tv_sec * 1000000000L + before.st_ctim.tv_nsec ? "yes" : "no");
	}
	unlink(shm);
}

static void stats(void)
{
	struct stat st;
	int fd = open(D "/h/sub", O_RDONLY | O_DIRECTORY);
	CHECK("fstatat empty path", fstatat(fd, "", &st, AT_EMPTY_PATH));
	printf("empty path type: %s\n", type_of(st.st_mode));
	CHECK("fstatat empty without flag", fstatat(fd, "", &st, 0));
	CHECK("fstatat relative", fstatat(fd, "..", &st, 0));
	printf("dotdot type: %s\n", type_of(st.st_mode));
	CHECK("fstatat bad flag", fstatat(fd, "..", &st, 0x1));
	close(fd);
	CHECK("stat bad buffer", syscall(SYS_stat, D, (void *)8));
	CHECK("stat bad path", syscall(SYS_stat, (void *)8, &st));
	/* struct statx by offsets (musl's headers may lack it). */
	unsigned char sx[256];
	CHECK("statx", syscall(SYS_statx, AT_FDCWD, D "/p", 0, STATX_BASIC_STATS, sx));
	uint32_t mask, nlink;
	uint16_t mode;
	uint64_t size;
	memcpy(&mask, sx, 4);
	memcpy(&nlink, sx + 16, 4);
	memcpy(&mode, sx + 28, 2);
	memcpy(&size, sx + 40, 8);
	printf("statx: mode %o nlink %u size %llu mask-has-basic %s\n", mode, nlink, (unsigned long long)size,
	       (mask & STATX_BASIC_STATS) == STATX_BASIC_STATS ? "yes" : "no");
	CHECK("statx bad sync flags", syscall(SYS_statx, AT_FDCWD, D "/p", 0x6000, STATX_BASIC_STATS, &sx));
	CHECK("statx reserved mask", syscall(SYS_statx, AT_FDCWD, D "/p", 0, 0x80000000u, &sx));
	struct statfs sf;
	CHECK("statfs", statfs(D, &sf));
	printf("statfs namelen %ld bsize %ld\n", (long)sf.f_namelen, (long)sf.f_bsize);
	CHECK("statfs missing", statfs(D "/none", &sf));
	CHECK("statfs proc", statfs("/proc", &sf));
	printf("proc magic: %s\n", sf.f_type == 0x9fa0 ? "yes" : "no");
	/* getdents64 errors */
	char buf[8];
	fd = open(D, O_RDONLY | O_DIRECTORY);
	CHECK("getdents64 tiny buffer", syscall(SYS_getdents64, fd, buf, sizeof buf));
	CHECK("getdents64 bad buffer", syscall(SYS_getdents64, fd, (void *)8, 4096));
	close(fd);
	fd = open(D "/p", O_RDONLY);
	CHECK("getdents64 on file", syscall(SYS_getdents64, fd, buf, sizeof buf));
	close(fd);
	CHECK("getdents64 bad fd", syscall(SYS_getdents64, 99, buf, sizeof buf));
	/* A directory read while its entries go. */
	mkdir(D "/many", 0777);
	for (int i = 0; i < 40; i++) {
		char name[64];
		snprintf(name, sizeof name, D "/many/entry-%02d", i);
		close(open(name, O_CREAT | O_WRONLY, 0600));
	}
	fd = open(D "/many", O_RDONLY | O_DIRECTORY);
	char big[128];
	int removed = 0;
	long got;
	while ((got = syscall(SYS_getdents64, fd, big, sizeof big)) > 0) {
		for (long off = 0; off < got;) {
			unsigned short reclen = *(unsigned short *)(big + off + 16);
			char *name = big + off + 19;
			if (name[0] != '.') {
				char path[128];
				snprintf(path, sizeof path, D "/many/%s", name);
				if (unlink(path) == 0)
					removed++;
			}
			off += reclen;
		}
	}
	close(fd);
	printf("removed while reading: %d\n", removed);
	CHECK("rmdir emptied", rmdir(D "/many"));
}

static void procdev(void)
{
	show_stat("/dev/null", "/dev/null", 1);
	show_stat("/dev/zero", "/dev/zero", 1);
	show_stat("/dev/full", "/dev/full", 1);
	show_stat("/dev/urandom", "/dev/urandom", 1);
	show_stat("/dev/fd", "/dev/fd", 0);
	int fd = open("/dev/null", O_RDWR);
	CHECK("write null", write(fd, "abc", 3));
	CHECK("read null", ({ char b[4]; read(fd, b, 4); }));
	CHECK("lseek null", lseek(fd, 100, SEEK_SET));
	close(fd);
	fd = open("/dev/zero", O_RDONLY);
	CHECK("read zero", ({ char b[8] = {1, 1, 1, 1, 1, 1, 1, 1}; long r2 = read(fd, b, 8); r2 == 8 && !b[0] && !b[7]; }));
	close(fd);
	fd = open("/dev/full", O_WRONLY);
	CHECK("write full", write(fd, "x", 1));
	close(fd);
	fd = open("/dev/urandom", O_RDONLY);
	CHECK("read urandom", ({ char b[100]; read(fd, b, 100); }));
	close(fd);
	char buf[256] = {0};
	CHECK("readlink /proc/self/fd/0 is a link", readlink("/proc/self/fd/0", buf, sizeof buf) > 0);
	fd = open(D "/g-target", O_CREAT | O_RDWR, 0600);
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	memset(buf, 0, sizeof buf);
	readlink(path, buf, sizeof buf);
	printf("fd link tail: %s\n", strstr(buf, D "/g-target") ? "yes" : "no");
	write(fd, "xyz", 3);
	int fd2 = open(path, O_RDONLY);
	CHECK("reopen via /proc/self/fd", ({ char b[4] = {0}; long r2 = read(fd2, b, 3); printf("reopened data: %s\n", b); r2; }));
	close(fd2);
	unlink(D "/g-target");
	memset(buf, 0, sizeof buf);
	readlink(path, buf, sizeof buf);
	printf("deleted link says deleted: %s\n", strstr(buf, "(deleted)") ? "yes" : "no");
	close(fd);
	show_stat("/proc/self", "/proc/self", 0);
	show_stat("/proc/self/", "/proc/self/", 1);
	show_stat("/proc/self/maps", "/proc/self/maps", 1);
	CHECK("open /proc/self/nothing", open("/proc/self/nothing", O_RDONLY));
	CHECK("open /proc/999999", open("/proc/999999/maps", O_RDONLY));
	CHECK("write /proc/self/maps", open("/proc/self/maps", O_WRONLY));
	CHECK("mkdir in /proc", mkdir("/proc/x", 0777));
	memset(buf, 0, sizeof buf);
	fd = open("/proc/self/comm", O_RDONLY);
	read(fd, buf, sizeof buf - 1);
	close(fd);
	printf("comm: %s", buf);
	memset(buf, 0, sizeof buf);
	fd = open("/proc/self/cmdline", O_RDONLY);
	long n = read(fd, buf, sizeof buf - 1);
	close(fd);
	printf("cmdline args: %ld bytes, second: %s\n", n, buf + strlen(buf) + 1);
	fd = open("/proc/self/status", O_RDONLY);
	char st[4096] = {0};
	read(fd, st, sizeof st - 1);
	close(fd);
	printf("status has Name, Umask, State, PPid: %s\n", strstr(st, "Name:\tvfs") && strstr(st, "Umask:\t0022") && strstr(st, "\nState:\t") && strstr(st, "\nPPid:\t") ? "yes" : "no");
	CHECK("readlink /proc/self/cwd is a link", readlink("/proc/self/cwd", buf, sizeof buf) > 0);
}

static sigjmp_buf jb;
static void on_bus(int sig) { siglongjmp(jb, sig); }

/* Reads a byte, reporting SIGBUS/SIGSEGV instead of dying. */
static int touch(volatile char *p)
{
	int sig = sigsetjmp(jb, 1);
	if (sig)
		return -sig;
	return *p;
}

/* Mappings of a named file (in the working directory) and of a tmpfs file
 * in /dev/shm: shared writes reach read(2), private ones do not, a
 * truncated page is SIGBUS, holes read zero. */
static void mapping(const char *what, const char *path)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_bus;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	if (fd < 0) {
		printf("%s: open -1 %s\n", what, ename(errno));
		return;
	}
	ftruncate(fd, 3 * 4096);
	char *s = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (s == MAP_FAILED || p == MAP_FAILED) {
		printf("%s: mmap failed %s\n", what, ename(errno));
		return;
	}
	strcpy(s + 4096, "shared");
	char b[8] = {0};
	pread(fd, b, 6, 4096);
	printf("%s: shared write read back: %s\n", what, b);
	printf("%s: private sees shared before COW: %c\n", what, p[4096]);
	p[4096] = 'P';
	memset(b, 0, sizeof b);
	pread(fd, b, 6, 4096);
	printf("%s: private write stays private: %s, shared still: %c\n", what, b, s[4096]);
	pwrite(fd, "W", 1, 2 * 4096);
	printf("%s: write(2) seen by shared map: %c, by private: %c\n", what, s[2 * 4096], p[2 * 4096]);
	printf("%s: hole reads %d\n", what, touch(s));
	ftruncate(fd, 4096);
	printf("%s: after truncate page 2 shared: %d private copy: %d private uncopied: %d\n", what, touch(s + 2 * 4096), touch(p + 4096), touch(p + 2 * 4096));
	struct stat st;
	fstat(fd, &st);
	printf("%s: size %lld\n", what, (long long)st.st_size);
	munmap(s, 3 * 4096);
	munmap(p, 3 * 4096);
	close(fd);
	unlink(path);
	signal(SIGBUS, SIG_DFL);
	signal(SIGSEGV, SIG_DFL);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	umask(022);
	CHECK("mkdir top", mkdir(D, 0755));
	opens();
	names();
	cwd();
	perms();
	stats();
	procdev();
	mapping("file", D "/mapped");
	mapping("shm", "/dev/shm/vfs-abi-test");
	return 0;
}
