/* Credentials without capabilities: both runs have the VMM's uid, gid and
 * supplementary groups and no capabilities (natively the harness drops them
 * all), so the ids are printed and every privileged change fails with EPERM.
 *
 * Raw syscall() throughout: glibc's set*id wrappers broadcast to threads and
 * musl's check arguments; the kernel's answers are what is compared.
 */
#include "abi.h"

#include <sys/prctl.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_IS_SET 1
#endif

static void ids(void)
{
	printf("getuid: %ld\n", syscall(SYS_getuid));
	printf("geteuid: %ld\n", syscall(SYS_geteuid));
	printf("getgid: %ld\n", syscall(SYS_getgid));
	printf("getegid: %ld\n", syscall(SYS_getegid));
	SHOW("libc getuid() agrees", (long)getuid() == syscall(SYS_getuid));
	SHOW("libc getgid() agrees", (long)getgid() == syscall(SYS_getgid));
	unsigned r = 1, e = 1, s = 1;
	CHECK("getresuid", syscall(SYS_getresuid, &r, &e, &s));
	printf("getresuid: %u %u %u\n", r, e, s);
	CHECK("getresgid", syscall(SYS_getresgid, &r, &e, &s));
	printf("getresgid: %u %u %u\n", r, e, s);
	CHECK("getresuid bad pointer", syscall(SYS_getresuid, &r, NULL_PAGE, &s));
	CHECK("getresgid bad pointer", syscall(SYS_getresgid, NULL_PAGE, &e, &s));
}

static void groups(void)
{
	gid_t list[256];
	long n = CHECK("getgroups(0, NULL)", syscall(SYS_getgroups, 0, NULL));
	long m = CHECK("getgroups(256, list)", syscall(SYS_getgroups, 256, list));
	SHOW("both calls agree on the count", n == m);
	printf("groups:");
	for (long i = 0; i < m; i++)
		printf(" %u", list[i]);
	printf("\n");
	if (m > 1)
		CHECK("getgroups(count - 1) (too small)", syscall(SYS_getgroups, m - 1, list));
	else
		printf("getgroups(count - 1) (too small): not applicable with %ld groups\n", m);
	CHECK("getgroups(-1)", syscall(SYS_getgroups, -1, list));
	if (m > 0)
		CHECK("getgroups bad pointer", syscall(SYS_getgroups, m, NULL_PAGE));
	CHECK("setgroups(0, NULL)", syscall(SYS_setgroups, 0, NULL));
	CHECK("setgroups(current list)", syscall(SYS_setgroups, m, list));
	CHECK("setgroups(-1)", syscall(SYS_setgroups, -1, list));
	CHECK("setgroups(100000)", syscall(SYS_setgroups, 100000, list));
}

static void set_ids(void)
{
	long uid = syscall(SYS_getuid), gid = syscall(SYS_getgid);
	long other = uid + 1, ogid = gid + 1;
	CHECK("setuid(uid)", syscall(SYS_setuid, uid));
	CHECK("setuid(uid + 1)", syscall(SYS_setuid, other));
	CHECK("setuid(-1)", syscall(SYS_setuid, -1));
	CHECK("setgid(gid)", syscall(SYS_setgid, gid));
	CHECK("setgid(gid + 1)", syscall(SYS_setgid, ogid));
	CHECK("setreuid(-1, -1)", syscall(SYS_setreuid, -1, -1));
	CHECK("setreuid(uid, uid)", syscall(SYS_setreuid, uid, uid));
	CHECK("setreuid(uid + 1, -1)", syscall(SYS_setreuid, other, -1));
	CHECK("setreuid(-1, uid + 1)", syscall(SYS_setreuid, -1, other));
	CHECK("setregid(gid, gid)", syscall(SYS_setregid, gid, gid));
	CHECK("setregid(gid + 1, -1)", syscall(SYS_setregid, ogid, -1));
	CHECK("setresuid(-1, -1, -1)", syscall(SYS_setresuid, -1, -1, -1));
	CHECK("setresuid(uid, uid, uid)", syscall(SYS_setresuid, uid, uid, uid));
	CHECK("setresuid(uid + 1, -1, -1)", syscall(SYS_setresuid, other, -1, -1));
	CHECK("setresuid(-1, -1, uid + 1)", syscall(SYS_setresuid, -1, -1, other));
	CHECK("setresgid(gid, gid, gid)", syscall(SYS_setresgid, gid, gid, gid));
	CHECK("setresgid(-1, gid + 1, -1)", syscall(SYS_setresgid, -1, ogid, -1));
	CHECK("setfsuid(uid) (returns the old fsuid)", syscall(SYS_setfsuid, uid));
	CHECK("setfsuid(uid + 1) (refused silently)", syscall(SYS_setfsuid, other));
	CHECK("setfsuid(-1) (query)", syscall(SYS_setfsuid, -1));
	CHECK("setfsgid(gid)", syscall(SYS_setfsgid, gid));
	CHECK("setfsgid(gid + 1)", syscall(SYS_setfsgid, ogid));
	CHECK("setfsgid(-1)", syscall(SYS_setfsgid, -1));
	SHOW("ids unchanged after all that", syscall(SYS_getuid) == uid && syscall(SYS_geteuid) == uid &&
						     syscall(SYS_getgid) == gid && syscall(SYS_getegid) == gid);
}

/* capget's version 3 header and data, as in <linux/capability.h>. */
struct cap_header {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective, permitted, inheritable;
};

static void capabilities(void)
{
	struct cap_header h = {0x20080522, 0};
	struct cap_data d[2];
	memset(d, 0xff, sizeof d);
	CHECK("capget", syscall(SYS_capget, &h, d));
	printf("capabilities: effective %#x %#x, permitted %#x %#x, inheritable %#x %#x\n", d[0].effective,
	       d[1].effective, d[0].permitted, d[1].permitted, d[0].inheritable, d[1].inheritable);
	int bset = 0;
	for (int c = 0; c < 41; c++)
		bset += prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1;
	printf("capabilities in the bounding set (of 0..40): %d\n", bset);
	int amb = 0;
	for (int c = 0; c < 41; c++)
		amb += prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1;
	printf("ambient capabilities: %d\n", amb);
	h.version = 0x19980330;
	CHECK("capget version 1 of pid 0", syscall(SYS_capget, &h, d));
	h.version = 0x12345678;
	CHECK("capget bad version", syscall(SYS_capget, &h, d));
	printf("capget wrote back the preferred version: %#x\n", h.version);
	h = (struct cap_header){0x20080522, NO_SUCH_PID};
	CHECK("capget no such pid", syscall(SYS_capget, &h, d));
	h = (struct cap_header){0x20080522, 0};
	d[0] = d[1] = (struct cap_data){0, 0, 0};
	CHECK("capset to nothing (no change)", syscall(SYS_capset, &h, d));
	d[0].effective = d[0].permitted = 1u << 21; /* CAP_SYS_ADMIN */
	CHECK("capset CAP_SYS_ADMIN", syscall(SYS_capset, &h, d));
}

int main(void)
{
	abi_line_buffered();
	ids();
	groups();
	set_ids();
	capabilities();
	return 0;
}
