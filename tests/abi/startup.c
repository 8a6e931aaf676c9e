/* Process start-up as the kernel sets it up and libc sees it: argc/argv, the
 * environment, the auxiliary vector (through getauxval and by walking past the
 * environment on the initial stack), stack alignment, and the ways a process
 * ends (return from main, exit, atexit order, _exit, status truncation).
 *
 * Never printed: AT_HWCAP, AT_HWCAP2, AT_MINSIGSTKSZ (the CPU model) and
 * AT_SYSINFO_EHDR (the vDSO), which legitimately differ.
 *
 * Exits 3 by returning from main.
 */
#include "abi.h"

#include <elf.h>
#include <link.h>
#include <sys/auxv.h>

extern char **environ;
extern char _start[];
extern const ElfW(Ehdr) __ehdr_start;

#ifndef AT_RSEQ_FEATURE_SIZE
#define AT_RSEQ_FEATURE_SIZE 27
#endif
#ifndef AT_RSEQ_ALIGN
#define AT_RSEQ_ALIGN 28
#endif
#ifndef AT_HWCAP3
#define AT_HWCAP3 29
#endif
#ifndef AT_HWCAP4
#define AT_HWCAP4 30
#endif
#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif

static void print_env(const char *title)
{
	int n = 0;
	for (char **e = environ; e && *e; e++, n++)
		printf("%s[%d]: \"%s\"\n", title, n, *e);
	printf("%s count: %d\n", title, n);
}

static void show_getenv(const char *name)
{
	const char *v = getenv(name);
	if (v)
		printf("getenv(%s): \"%s\"\n", name, v);
	else
		printf("getenv(%s): NULL\n", name);
}

/* Types whose values depend on the CPU or the vDSO. */
static int machine_dependent(unsigned long type)
{
	return type == AT_HWCAP || type == AT_HWCAP2 || type == AT_HWCAP3 || type == AT_HWCAP4 ||
	       type == AT_MINSIGSTKSZ || type == AT_SYSINFO_EHDR;
}

static void check_auxv(char **envp, char **argv)
{
	char **p = envp;
	while (*p)
		p++;
	ElfW(auxv_t) *auxv = (ElfW(auxv_t) *)(p + 1);

	int n = 0, agree = 1, dup = 0;
	unsigned long seen[64] = {0};
	for (ElfW(auxv_t) *a = auxv; a->a_type != AT_NULL; a++, n++) {
		if (a->a_type < 64) {
			dup |= seen[a->a_type];
			seen[a->a_type] = 1;
		}
		/* glibc reports its own idea of the hardware capabilities. */
		if (!machine_dependent(a->a_type) && getauxval(a->a_type) != a->a_un.a_val) {
			printf("auxv: getauxval(%lu) differs from the auxv entry\n", (unsigned long)a->a_type);
			agree = 0;
		}
	}
	SHOW("auxv: getauxval agrees with the walk past envp (but for hwcaps)", agree);
	SHOW("auxv: no type appears twice", !dup);
	/* The set of types present (sorted), without the machine-dependent ones. */
	printf("auxv: types present:");
	for (unsigned long t = 1; t < 64; t++)
		if (seen[t] && !machine_dependent(t))
			printf(" %lu", t);
	printf("\n");
	int other = 0;
	for (ElfW(auxv_t) *a = auxv; a->a_type != AT_NULL; a++)
		if (a->a_type >= 64)
			other++;
	printf("auxv: types >= 64: %d\n", other);

	printf("AT_PAGESZ: %lu\n", getauxval(AT_PAGESZ));
	printf("AT_CLKTCK: %lu\n", getauxval(AT_CLKTCK));
	printf("AT_PHENT: %lu\n", getauxval(AT_PHENT));
	printf("AT_FLAGS: %lu\n", getauxval(AT_FLAGS));
	printf("AT_BASE: %lu\n", getauxval(AT_BASE));
	printf("AT_SECURE: %lu\n", getauxval(AT_SECURE));
	printf("AT_RSEQ_FEATURE_SIZE: %lu\n", getauxval(AT_RSEQ_FEATURE_SIZE));
	printf("AT_RSEQ_ALIGN: %lu\n", getauxval(AT_RSEQ_ALIGN));
	const char *plat = (const char *)getauxval(AT_PLATFORM);
	printf("AT_PLATFORM: \"%s\"\n", plat ? plat : "(none)");
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	SHOW("AT_EXECFN equals argv[0]", execfn && strcmp(execfn, argv[0]) == 0);
	const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
	int nonzero = 0;
	if (rnd)
		for (int i = 0; i < 16; i++)
			nonzero |= rnd[i];
	SHOW("AT_RANDOM is not NULL", rnd != NULL);
	SHOW("AT_RANDOM's 16 bytes are not all zero", nonzero);
	SHOW("AT_ENTRY is _start", getauxval(AT_ENTRY) == (unsigned long)_start);
	const ElfW(Ehdr) *eh = &__ehdr_start;
	SHOW("AT_PHDR is the program's own header table",
	     getauxval(AT_PHDR) == (unsigned long)eh + eh->e_phoff);
	SHOW("AT_PHNUM is e_phnum", getauxval(AT_PHNUM) == eh->e_phnum);
	SHOW("AT_PHENT is e_phentsize", getauxval(AT_PHENT) == eh->e_phentsize);
	SHOW("AT_UID is getuid()", getauxval(AT_UID) == getuid());
	SHOW("AT_EUID is geteuid()", getauxval(AT_EUID) == geteuid());
	SHOW("AT_GID is getgid()", getauxval(AT_GID) == getgid());
	SHOW("AT_EGID is getegid()", getauxval(AT_EGID) == getegid());
	errno = 0;
	unsigned long none = getauxval(1000);
	printf("getauxval(1000): %lu %s\n", none, errno ? ename(errno) : "0");

	/* The program headers libc sees are the kernel's AT_PHDR. */
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	int loads = 0, has_interp = 0, has_tls = 0;
	for (unsigned long i = 0; ph && i < getauxval(AT_PHNUM); i++) {
		loads += ph[i].p_type == PT_LOAD;
		has_interp |= ph[i].p_type == PT_INTERP;
		has_tls |= ph[i].p_type == PT_TLS;
	}
	SHOW("program headers: at least one PT_LOAD", loads > 0);
	SHOW("program headers: no PT_INTERP", !has_interp);
	printf("program headers: PT_TLS present: %s\n", has_tls ? "yes" : "no");
	printf("sysconf(_SC_PAGESIZE): %ld\n", sysconf(_SC_PAGESIZE));
	printf("sysconf(_SC_CLK_TCK): %ld\n", sysconf(_SC_CLK_TCK));
}

static void handler_a(void) { printf("atexit handler A (registered first)\n"); }
static void handler_b(void) { printf("atexit handler B (registered second)\n"); }
static void handler_c(void) { printf("atexit handler C (registered third)\n"); }
static void parent_handler(void) { printf("main's atexit handler after return from main\n"); }

static int child_exit(void)
{
	atexit(handler_a);
	atexit(handler_b);
	atexit(handler_c);
	printf("child: calling exit(5)\n");
	exit(5);
}

static int child_underscore_exit(void)
{
	atexit(handler_a);
	/* A fully buffered stream that _exit must not flush. */
	FILE *f = fdopen(dup(1), "w");
	if (f) {
		setvbuf(f, NULL, _IOFBF, 4096);
		fprintf(f, "this line is buffered and must be lost by _exit\n");
	}
	printf("child: calling _exit(6)\n");
	_exit(6);
}

static int child_exit_truncated(void) { exit(256 + 7); }
static int child_exit_negative(void) { exit(-1); }
static int child_exit_flushes(void)
{
	FILE *f = fdopen(dup(1), "w");
	if (f) {
		setvbuf(f, NULL, _IOFBF, 4096);
		fprintf(f, "child: a fully buffered line that exit flushes\n");
	}
	exit(0);
}

int main(int argc, char **argv, char **envp)
{
	abi_line_buffered();
	/* The frame pointer of main is 16-byte aligned when the call into main
	 * was made with an aligned stack; argc sits at the kernel's initial
	 * stack pointer, which the ABI requires to be 16-byte aligned. */
	SHOW("stack: main's frame is 16-byte aligned", ((uintptr_t)__builtin_frame_address(0) & 15) == 0);
	SHOW("stack: initial stack pointer (&argc) is 16-byte aligned", (((uintptr_t)argv - 8) & 15) == 0);
	SHOW("stack: argv, envp and auxv are contiguous", envp == argv + argc + 1);

	printf("argc: %d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]: \"%s\" (%zu bytes)\n", i, argv[i], strlen(argv[i]));
	SHOW("argv[argc] is NULL", argv[argc] == NULL);
	SHOW("argv[0] is absolute", argv[0][0] == '/');
	SHOW("environ is main's envp", environ == envp);

	/* Before any change to the environment: musl's unsetenv edits the array
	 * in place, which would move the terminator the walk relies on. */
	check_auxv(envp, argv);

	print_env("env");
	show_getenv("PATH");
	show_getenv("HOME");
	show_getenv("ABI_GREETING");
	show_getenv("ABI_NOT_SET");
	show_getenv("");
	CHECK("setenv(ABI_NEW, one, 0)", setenv("ABI_NEW", "one", 0));
	CHECK("setenv(ABI_NEW, two, 0)", setenv("ABI_NEW", "two", 0));
	show_getenv("ABI_NEW");
	CHECK("setenv(ABI_NEW, three, 1)", setenv("ABI_NEW", "three", 1));
	show_getenv("ABI_NEW");
	CHECK("setenv(A=B, x, 1)", setenv("A=B", "x", 1));
	CHECK("setenv(\"\", x, 1)", setenv("", "x", 1));
	CHECK("unsetenv(HOME)", unsetenv("HOME"));
	CHECK("unsetenv(ABI_NOT_SET)", unsetenv("ABI_NOT_SET"));
	CHECK("unsetenv(A=B)", unsetenv("A=B"));
	show_getenv("HOME");
	print_env("env after changes");
	CHECK("clearenv()", clearenv());
	print_env("env after clearenv");

	abi_in_child("child calling exit(5) with three atexit handlers", child_exit);
	abi_in_child("child calling _exit(6)", child_underscore_exit);
	abi_in_child("child calling exit(263)", child_exit_truncated);
	abi_in_child("child calling exit(-1)", child_exit_negative);
	abi_in_child("child calling exit(0) with a buffered stream", child_exit_flushes);

	atexit(parent_handler);
	printf("main: returning 3\n");
	return 3;
}
