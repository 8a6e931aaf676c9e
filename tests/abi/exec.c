/* execve(2) and execveat(2): the program re-executes itself (through
 * /proc/self/exe, a memfd copy of itself, and #! scripts in memfds) with
 * different argv and envp and, in the new image, reports what exec kept
 * and what it reset: argv, envp, AT_EXECFN, comm, /proc/self/exe, the
 * descriptors (close-on-exec ones gone), signal dispositions (handled ->
 * default, ignored kept, flags gone), the blocked mask and pending signals
 * (kept), the alternate stack (gone), PDEATHSIG, dumpable, pid, ppid,
 * rlimits, umask; a vfork parent released at exec; and the errno cases:
 * ENOENT, EACCES, ENOEXEC, E2BIG, EFAULT, ENAMETOOLONG, ELOOP (deep #!
 * nesting, AT_SYMLINK_NOFOLLOW), EINVAL, EBADF, ENOTDIR, ETXTBSY.
 *
 * The report mode is chosen by the environment (EXEC_MODE=report), so that
 * an exec with an empty argv reports too. */
#include "abi.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#define MAX_ARG_STRLEN (32 * 4096)

static char self_path[4096];

static long sys_execveat(int dirfd, const char *path, char *const *argv, char *const *envp, int flags)
{
	return syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

static long sys_execve(const char *path, char *const *argv, char *const *envp)
{
	return syscall(SYS_execve, path, argv, envp);
}

static const char *disposition(int sig)
{
	static char buf[64];
	struct sigaction sa;
	if (sigaction(sig, NULL, &sa) != 0)
		return "?";
	const char *h = sa.sa_handler == SIG_DFL ? "default" : sa.sa_handler == SIG_IGN ? "ignored" : "handled";
	snprintf(buf, sizeof buf, "%s flags %#lx", h, (unsigned long)sa.sa_flags & ~0x04000000ul /* SA_RESTORER */);
	return buf;
}

static void print_bytes(const char *what, int i, const char *s)
{
	printf("  %s[%d] (%zu) \"", what, i, strlen(s));
	size_t n = strlen(s);
	for (size_t k = 0; k < n && k < 60; k++) {
		unsigned char c = (unsigned char)s[k];
		if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	printf("%s\"\n", n > 60 ? "..." : "");
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int s)
{
	got_usr1 = s;
}

/* The new image: what exec left. */
static int report(int argc, char **argv, char **envp)
{
	printf(" report: argc %d\n", argc);
	for (int i = 0; i < argc; i++)
		print_bytes("argv", i, argv[i]);
	/* The pids passed in (not printed: they differ between runs). */
	for (int i = 0; envp[i]; i++)
		if (strncmp(envp[i], "EXEC_PID=", 9) != 0 && strncmp(envp[i], "EXEC_PPID=", 10) != 0)
			print_bytes("envp", i, envp[i]);
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	printf("  execfn %s\n", execfn ? execfn : "(none)");
	char comm[32] = { 0 };
	prctl(PR_GET_NAME, comm);
	printf("  comm %s\n", comm);
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = 0;
	const char *want = getenv("EXEC_SELF");
	if (want && strcmp(exe, want) == 0)
		printf("  exe: the program itself\n");
	else if (exe[0] == '/' && strncmp(exe, "/memfd:", 7) != 0)
		printf("  exe: a file named %s\n", strrchr(exe, '/') + 1);
	else
		printf("  exe %s\n", exe);
	printf("  fds:");
	for (int fd = 0; fd < 20; fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0)
			printf(" %d%s", fd, fl & FD_CLOEXEC ? "(cloexec)" : "");
	}
	printf("\n");
	int sigs[] = { SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE, SIGTERM, SIGCHLD, SIGWINCH };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		printf("  signal %d: %s\n", sigs[i], disposition(sigs[i]));
	sigset_t blocked, pending;
	sigprocmask(SIG_BLOCK, NULL, &blocked);
	sigpending(&pending);
	printf("  blocked:");
	for (int s = 1; s < 32; s++)
		if (sigismember(&blocked, s))
			printf(" %d", s);
	/* A released vfork parent signals at a time of its own. */
	if (!getenv("EXEC_WAIT_USR1")) {
		printf("\n  pending:");
		for (int s = 1; s < 32; s++)
			if (sigismember(&pending, s))
				printf(" %d", s);
	}
	printf("\n");
	stack_t ss;
	sigaltstack(NULL, &ss);
	printf("  altstack flags %d size %zu\n", ss.ss_flags, ss.ss_size);
	int pd = -1;
	prctl(PR_GET_PDEATHSIG, &pd);
	printf("  pdeathsig %d dumpable %d no_new_privs %d\n", pd, prctl(PR_GET_DUMPABLE), prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	const char *pid = getenv("EXEC_PID"), *ppid = getenv("EXEC_PPID");
	if (pid)
		SHOW("  same pid", atoi(pid) == getpid());
	if (ppid)
		SHOW("  same parent", atoi(ppid) == getppid());
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	printf("  nofile %llu\n", (unsigned long long)rl.rlim_cur);
	mode_t m = umask(0);
	printf("  umask %03o\n", m);
	const char *exitcode = getenv("EXEC_EXIT");
	if (getenv("EXEC_WAIT_USR1")) {
		/* The released vfork parent signals us; SIGUSR1 stayed blocked
		 * through exec, so it cannot be lost before sigsuspend. */
		struct sigaction sa = { .sa_handler = on_usr1 };
		sigaction(SIGUSR1, &sa, NULL);
		sigset_t none;
		sigemptyset(&none);
		while (!got_usr1)
			sigsuspend(&none);
		int got = got_usr1;
		printf("  got signal %d\n", got);
	}
	if (getenv("EXEC_UNBLOCK")) {
		fflush(stdout);
		/* The pending SIGUSR1 now takes its default action. */
		sigset_t u;
		sigemptyset(&u);
		sigaddset(&u, SIGUSR1);
		sigprocmask(SIG_UNBLOCK, &u, NULL);
		printf("  still alive after unblocking\n");
	}
	return exitcode ? atoi(exitcode) : 0;
}

static char env_mode[] = "EXEC_MODE=report";
static char env_self[4200];
static char env_pid[64], env_ppid[64];

/* Forks; the child runs FN (which execs); prints the child's status. */
static void in_child(const char *name, void (*fn)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		snprintf(env_pid, sizeof env_pid, "EXEC_PID=%d", getpid());
		snprintf(env_ppid, sizeof env_ppid, "EXEC_PPID=%d", getppid());
		fn();
		fflush(stdout);
		_exit(99);
	}
	printf("%s: %s\n", name, abi_wait(pid));
}

static void exec_plain(void)
{
	char *argv[] = { "first", "two words", "", "\xff\xfe-bytes", NULL };
	char *envp[] = { env_mode, env_self, env_pid, env_ppid, "A=1", "NOEQUALS", "", NULL };
	CHECK("execve /proc/self/exe", sys_execve("/proc/self/exe", argv, envp));
}

static void exec_null_argv(void)
{
	char *envp[] = { env_mode, env_self, NULL };
	CHECK("execve NULL argv", sys_execve("/proc/self/exe", NULL, envp));
}

static void exec_empty_argv(void)
{
	char *argv[] = { NULL };
	char *envp[] = { env_mode, NULL };
	CHECK("execve empty argv", sys_execve("/proc/self/exe", argv, envp));
}

static void exec_null_envp(void)
{
	/* No environment for EXEC_MODE: argv says to report. */
	char *argv[] = { "x", "report-by-argv", NULL };
	CHECK("execve NULL envp", sys_execve("/proc/self/exe", argv, NULL));
}

static int copy_self(const char *name, unsigned flags)
{
	int in = open("/proc/self/exe", O_RDONLY);
	int m = memfd_create(name, flags);
	if (in < 0 || m < 0) {
		printf("copy_self: %s\n", ename(errno));
		return -1;
	}
	static char buf[65536];
	ssize_t r;
	while ((r = read(in, buf, sizeof buf)) > 0)
		if (write(m, buf, r) != r)
			return -1;
	close(in);
	return m;
}

static void exec_memfd(void)
{
	int m = copy_self("selfcopy", 0);
	char *argv[] = { "fexecve", NULL };
	char *envp[] = { env_mode, env_pid, NULL };
	CHECK("execveat memfd AT_EMPTY_PATH", sys_execveat(m, "", argv, envp, AT_EMPTY_PATH));
}

static void exec_dev_fd(void)
{
	int m = copy_self("viadevfd", MFD_CLOEXEC);
	char path[64];
	snprintf(path, sizeof path, "/dev/fd/%d", m);
	char *argv[] = { "devfd", NULL };
	char *envp[] = { env_mode, NULL };
	CHECK("execve /dev/fd/N", sys_execve(path, argv, envp));
}

static void exec_cloexec(void)
{
	int a = memfd_create("keep", 0), b = memfd_create("close", MFD_CLOEXEC);
	dup2(a, 10);
	dup3(b, 11, O_CLOEXEC);
	dup2(a, 12);
	fcntl(12, F_SETFD, FD_CLOEXEC);
	dup2(b, 13); /* dup2 clears close-on-exec */
	struct rlimit rl = { 200, 4096 };
	setrlimit(RLIMIT_NOFILE, &rl);
	umask(027);
	char *argv[] = { "fds", NULL };
	char *envp[] = { env_mode, NULL };
	CHECK("execve with descriptors", sys_execve("/proc/self/exe", argv, envp));
}

static void on_signal(int s)
{
	(void)s;
}

static void exec_signals(void)
{
	struct sigaction h = { .sa_handler = on_signal, .sa_flags = SA_RESTART | SA_SIGINFO };
	sigaddset(&h.sa_mask, SIGTERM);
	sigaction(SIGUSR1, &h, NULL);
	sigaction(SIGHUP, &h, NULL);
	struct sigaction ign = { .sa_handler = SIG_IGN, .sa_flags = SA_RESTART };
	sigaction(SIGUSR2, &ign, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	struct sigaction chld = { .sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT | SA_NOCLDSTOP };
	sigaction(SIGCHLD, &chld, NULL);
	struct sigaction term = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };
	sigaction(SIGTERM, &term, NULL);
	sigset_t b;
	sigemptyset(&b);
	sigaddset(&b, SIGUSR1);
	sigaddset(&b, SIGWINCH);
	sigaddset(&b, SIGHUP);
	sigprocmask(SIG_BLOCK, &b, NULL);
	raise(SIGUSR1);
	raise(SIGHUP);
	static char stk[65536];
	stack_t ss = { .ss_sp = stk, .ss_size = sizeof stk };
	sigaltstack(&ss, NULL);
	prctl(PR_SET_PDEATHSIG, SIGHUP);
	prctl(PR_SET_DUMPABLE, 0);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	char *argv[] = { "signals", NULL };
	char *envp[] = { env_mode, "EXEC_UNBLOCK=1", NULL };
	CHECK("execve with signal state", sys_execve("/proc/self/exe", argv, envp));
}

static void exec_exit_code(void)
{
	char *argv[] = { "status", NULL };
	char *envp[] = { env_mode, "EXEC_EXIT=7", NULL };
	CHECK("execve then exit 7", sys_execve("/proc/self/exe", argv, envp));
}

static int script_fd(const char *name, const char *text, unsigned flags)
{
	int m = memfd_create(name, flags);
	if (write(m, text, strlen(text)) != (ssize_t)strlen(text))
		return -1;
	return m;
}

static void exec_script(void)
{
	int m = script_fd("script", "#! \t/proc/self/exe  opt  arg \t\necho not run\n", 0);
	char *argv[] = { "ignored-argv0", "a1", "a2", NULL };
	char *envp[] = { env_mode, env_self, NULL };
	CHECK("execveat #! script", sys_execveat(m, "", argv, envp, AT_EMPTY_PATH));
}

static void exec_script_no_arg(void)
{
	int m = script_fd("script2", "#!/proc/self/exe", 0);
	char *envp[] = { env_mode, NULL };
	CHECK("execveat #! script, no newline, no argv", sys_execveat(m, "", NULL, envp, AT_EMPTY_PATH));
}

/* A chain of N scripts, each naming the previous one through /dev/fd. */
static int chain(int n)
{
	int fd = -1;
	for (int i = 0; i < n; i++) {
		char text[64];
		if (fd < 0)
			snprintf(text, sizeof text, "#!/proc/self/exe level%d\n", i);
		else
			snprintf(text, sizeof text, "#!/dev/fd/%d\n", fd);
		fd = script_fd("chain", text, 0);
	}
	return fd;
}

static int nest_n;
static void exec_nested(void)
{
	int fd = chain(nest_n);
	char *argv[] = { "nested", NULL };
	char *envp[] = { env_mode, NULL };
	long r = sys_execveat(fd, "", argv, envp, AT_EMPTY_PATH);
	printf("execveat %d nested scripts: %ld %s\n", nest_n, r, ename(errno));
}

static void exec_long_arg(void)
{
	static char big[MAX_ARG_STRLEN];
	memset(big, 'x', MAX_ARG_STRLEN - 1);
	big[MAX_ARG_STRLEN - 1] = 0;
	char *argv[] = { "long", big, NULL };
	char *envp[] = { env_mode, NULL };
	CHECK("execve MAX_ARG_STRLEN-1 bytes", sys_execve("/proc/self/exe", argv, envp));
}

static long as_limit;
static void exec_small_as(void)
{
	struct rlimit rl = { as_limit, as_limit };
	setrlimit(RLIMIT_AS, &rl);
	char *argv[] = { "small", NULL };
	char *envp[] = { "EXEC_MODE=ran", NULL };
	/* Past the point of no return, a new image that does not fit is SIGSEGV. */
	CHECK("execve under a small RLIMIT_AS", sys_execve("/proc/self/exe", argv, envp));
}

static void vfork_exec(void)
{
	char *argv[] = { "vforked", NULL };
	char *envp[] = { env_mode, "EXEC_WAIT_USR1=1", NULL };
	sigset_t b, old;
	sigemptyset(&b);
	sigaddset(&b, SIGUSR1);
	sigprocmask(SIG_BLOCK, &b, &old);
	fflush(stdout);
	pid_t pid = vfork();
	if (pid == 0) {
		sys_execve("/proc/self/exe", argv, envp);
		_exit(98);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* Here only once the child exec'd: it waits for this signal. */
	kill(pid, SIGUSR1);
	printf("vfork then exec: %s\n", abi_wait(pid));
}

static void errors(void)
{
	char *argv[] = { "x", NULL };
	char *envp[] = { env_mode, NULL };
	char *bad_elem[] = { "x", BAD_ADDR, NULL };
	CHECK("ENOENT", sys_execve("/no/such/program", argv, envp));
	CHECK("empty path", sys_execve("", argv, envp));
	CHECK("root directory", sys_execve("/", argv, envp));
	CHECK("current directory", sys_execve(".", argv, envp));
	CHECK("AT_EMPTY_PATH on AT_FDCWD", sys_execveat(AT_FDCWD, "", argv, envp, AT_EMPTY_PATH));
	int plain = open("notexec", O_CREAT | O_RDWR, 0644);
	CHECK("file without x bit", sys_execve("notexec", argv, envp));
	close(plain);
	CHECK("bad path pointer", sys_execve(BAD_ADDR, argv, envp));
	CHECK("bad argv pointer", sys_execve("/proc/self/exe", BAD_ADDR, envp));
	CHECK("bad argv entry", sys_execve("/proc/self/exe", bad_elem, envp));
	CHECK("bad envp entry", sys_execve("/proc/self/exe", argv, bad_elem));
	CHECK("bad envp pointer", sys_execve("/proc/self/exe", argv, BAD_ADDR));
	CHECK("ENOENT before a bad argv", sys_execve("/no/such", BAD_ADDR, envp));
	/* A string that runs into an unmapped page. */
	char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(page + 4096, 4096);
	memset(page, 'a', 4096);
	char *unterminated[] = { "x", page, NULL };
	CHECK("unterminated argv string", sys_execve("/proc/self/exe", unterminated, envp));
	/* An array that runs into the unmapped page. */
	char **arr = (char **)(page + 4096 - 16);
	arr[0] = "x";
	arr[1] = "y";
	CHECK("unterminated argv array", sys_execve("/proc/self/exe", arr, envp));
	static char longpath[5000];
	memset(longpath, 'a', sizeof longpath - 1);
	longpath[0] = '/';
	CHECK("path of PATH_MAX", sys_execve(longpath, argv, envp));
	static char big[MAX_ARG_STRLEN + 1];
	memset(big, 'x', MAX_ARG_STRLEN);
	char *too_long[] = { "x", big, NULL };
	CHECK("string of MAX_ARG_STRLEN", sys_execve("/proc/self/exe", too_long, envp));
	CHECK("env string of MAX_ARG_STRLEN", sys_execve("/proc/self/exe", argv, too_long));
	static char chunk[120000];
	memset(chunk, 'y', sizeof chunk - 1);
	static char *many[80];
	for (int i = 0; i < 79; i++)
		many[i] = chunk;
	CHECK("strings beyond the stack limit", sys_execve("/proc/self/exe", many, envp));
	static char *ptrs[1100000];
	for (int i = 0; i < 1100000 - 1; i++)
		ptrs[i] = "";
	CHECK("pointers beyond the stack limit", sys_execve("/proc/self/exe", ptrs, envp));
	CHECK("unknown flag", sys_execveat(AT_FDCWD, "/proc/self/exe", argv, envp, 0x1));
	CHECK("AT_SYMLINK_FOLLOW is not a flag here", sys_execveat(AT_FDCWD, "/proc/self/exe", argv, envp, 0x400));
	CHECK("AT_SYMLINK_NOFOLLOW at /proc/self/exe", sys_execveat(AT_FDCWD, "/proc/self/exe", argv, envp, 0x100));
	int m = memfd_create("text", 0);
	CHECK("empty memfd", sys_execveat(m, "", argv, envp, AT_EMPTY_PATH));
	write(m, "hello\n", 6);
	CHECK("text memfd", sys_execveat(m, "", argv, envp, AT_EMPTY_PATH));
	char dev_fd[64];
	snprintf(dev_fd, sizeof dev_fd, "/dev/fd/%d", m);
	CHECK("AT_SYMLINK_NOFOLLOW at /dev/fd/N", sys_execveat(AT_FDCWD, dev_fd, argv, envp, 0x100));
	CHECK("/dev/fd of a closed descriptor", sys_execve("/dev/fd/77", argv, envp));
	CHECK("relative path from a memfd", sys_execveat(m, "x", argv, envp, 0));
	CHECK("empty path without AT_EMPTY_PATH", sys_execveat(m, "", argv, envp, 0));
	CHECK("AT_EMPTY_PATH on a closed descriptor", sys_execveat(77, "", argv, envp, AT_EMPTY_PATH));
	CHECK("AT_EMPTY_PATH on stdout (a pipe or the console)", sys_execveat(1, "", argv, envp, AT_EMPTY_PATH));
	int elf = memfd_create("badelf", 0);
	char hdr[64] = "\x7f" "ELF";
	write(elf, hdr, sizeof hdr);
	CHECK("ELF magic, nothing else", sys_execveat(elf, "", argv, envp, AT_EMPTY_PATH));
	int empty_interp = script_fd("ei", "#!  \t\nrest\n", 0);
	CHECK("#! without an interpreter", sys_execveat(empty_interp, "", argv, envp, AT_EMPTY_PATH));
	int bare = script_fd("bare", "#!", 0);
	CHECK("#! and nothing else (an empty name: the current directory)", sys_execveat(bare, "", argv, envp, AT_EMPTY_PATH));
	int missing = script_fd("mi", "#!/no/such/interpreter -x\n", 0);
	CHECK("#! with a missing interpreter", sys_execveat(missing, "", argv, envp, AT_EMPTY_PATH));
	int cloexec_script = script_fd("ce", "#!/proc/self/exe\n", MFD_CLOEXEC);
	CHECK("#! script through a close-on-exec descriptor", sys_execveat(cloexec_script, "", argv, envp, AT_EMPTY_PATH));
	char longi[400] = "#!/";
	memset(longi + 3, 'i', 300);
	int trunc = script_fd("tr", longi, 0);
	CHECK("#! interpreter truncated at 256 bytes", sys_execveat(trunc, "", argv, envp, AT_EMPTY_PATH));
	CHECK("open /proc/self/exe for writing", open("/proc/self/exe", O_RDWR));
	CHECK("open /proc/self/exe read-only", open("/proc/self/exe", O_RDONLY) >= 0);
	/* Nothing above replaced this process. */
	printf("errors: still the same image\n");
}

int main(int argc, char **argv, char **envp)
{
	abi_line_buffered();
	const char *mode = getenv("EXEC_MODE");
	if ((mode && strcmp(mode, "report") == 0) || (argc > 1 && strcmp(argv[1], "report-by-argv") == 0))
		return report(argc, argv, envp);
	if (mode && strcmp(mode, "ran") == 0) {
		printf(" the new image runs\n");
		return 0;
	}
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
	self_path[n > 0 ? n : 0] = 0;
	snprintf(env_self, sizeof env_self, "EXEC_SELF=%s", self_path);
	in_child("plain", exec_plain);
	in_child("NULL argv", exec_null_argv);
	in_child("empty argv", exec_empty_argv);
	in_child("NULL envp", exec_null_envp);
	in_child("memfd", exec_memfd);
	in_child("/dev/fd", exec_dev_fd);
	in_child("cloexec", exec_cloexec);
	in_child("signals", exec_signals);
	in_child("exit code", exec_exit_code);
	in_child("script", exec_script);
	in_child("script without argument", exec_script_no_arg);
	for (nest_n = 1; nest_n <= 7; nest_n++)
		in_child("nested", exec_nested);
	in_child("long argument", exec_long_arg);
	in_child("vfork", vfork_exec);
	long limits[] = { 64 << 10, 1 << 20, 8 << 20, 10 << 20, 16 << 20 };
	for (int i = 0; i < 5; i++) {
		as_limit = limits[i];
		printf("RLIMIT_AS %ld KiB:\n", as_limit >> 10);
		in_child("small address space", exec_small_as);
	}
	in_child("errors", errors);
	return 0;
}
