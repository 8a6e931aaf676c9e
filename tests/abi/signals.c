/* Signals: sigaction and the signal mask, synchronous faults and what their
 * siginfo and ucontext say (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP),
 * sigaltstack, pending and blocked signals, delivery order and queueing,
 * sigsuspend woken by a child, kill/tgkill/tkill, abort and default actions,
 * SIGCHLD, and fork + wait4 statuses.
 *
 * Every sequence is deterministic on any scheduler: a signal from another
 * process is always sent while the receiver has it blocked (or is waiting in
 * sigsuspend), so when it arrives does not change what is printed.
 * Fault addresses are printed relative to the mapping that was touched.
 */
#include "abi.h"

#include <sys/prctl.h>

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#define PAGE 4096ul

/* The kernel's struct sigaction for raw rt_sigaction. */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};
#define SA_RESTORER_ 0x04000000ul
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1u << 31)
#endif

static long sys_sigaction(int sig, const struct ksigaction *act, struct ksigaction *old, size_t size)
{
	return syscall(SYS_rt_sigaction, sig, act, old, size);
}
static long sys_sigprocmask(int how, const uint64_t *set, uint64_t *old, size_t size)
{
	return syscall(SYS_rt_sigprocmask, how, set, old, size);
}

static volatile sig_atomic_t count[65];
static volatile int order[16], norder;
static void counter(int sig)
{
	count[sig]++;
	if (norder < 16)
		order[norder++] = sig;
}

static void set_handler(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void block(int sig, int how)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(how, &s, NULL);
}

static int is_pending(int sig)
{
	sigset_t s;
	sigpending(&s);
	return sigismember(&s, sig);
}

/* --- sigaction and the mask --- */

static volatile int in_handler_masked, in_handler_aligned, in_handler_usr2_masked;
static void info_handler(int sig, siginfo_t *si, void *ctx)
{
	(void)si;
	(void)ctx;
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	in_handler_masked = sigismember(&cur, sig);
	in_handler_usr2_masked = sigismember(&cur, SIGUSR2);
	in_handler_aligned = ((uintptr_t)__builtin_frame_address(0) & 15) == 0;
	count[sig]++;
}
static void plain_info_handler(int sig) { info_handler(sig, NULL, NULL); }

static void sigaction_tests(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = info_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	CHECK("sigaction(SIGUSR1, SA_SIGINFO|SA_RESTART, mask {SIGUSR2})", sigaction(SIGUSR1, &sa, NULL));
	CHECK("sigaction(SIGUSR1, NULL, &old)", sigaction(SIGUSR1, NULL, &old));
	SHOW("old handler is ours", old.sa_sigaction == info_handler);
	SHOW("old flags have SA_SIGINFO and SA_RESTART", (old.sa_flags & (SA_SIGINFO | SA_RESTART)) == (SA_SIGINFO | SA_RESTART));
	SHOW("old mask has SIGUSR2", sigismember(&old.sa_mask, SIGUSR2) == 1);
	struct ksigaction k;
	CHECK("raw rt_sigaction query SIGUSR1", sys_sigaction(SIGUSR1, NULL, &k, 8));
	printf("kernel's SIGUSR1 flags: %#lx, mask %#llx\n", k.flags, (unsigned long long)k.mask);
	raise(SIGUSR1);
	printf("handler ran: %d, SIGUSR1 blocked in its handler: %d, SIGUSR2 blocked (sa_mask): %d, frame aligned: %d\n",
	       count[SIGUSR1], in_handler_masked, in_handler_usr2_masked, in_handler_aligned);

	set_handler(SIGUSR1, plain_info_handler, SA_NODEFER);
	raise(SIGUSR1);
	printf("SA_NODEFER: SIGUSR1 blocked in its handler: %d\n", in_handler_masked);

	set_handler(SIGUSR2, counter, SA_RESETHAND);
	raise(SIGUSR2);
	sigaction(SIGUSR2, NULL, &old);
	SHOW("SA_RESETHAND: handler ran once and the action is SIG_DFL again",
	     count[SIGUSR2] == 1 && old.sa_handler == SIG_DFL);

	for (int sig = 1; sig <= 64; sig++) {
		if (sys_sigaction(sig, NULL, &k, 8) == 0 && k.handler != SIG_DFL && sig != SIGUSR1)
			printf("signal %d has a non-default action at start\n", sig);
	}
	struct ksigaction act = {.handler = (void *)counter, .flags = SA_RESTORER_, .restorer = NULL, .mask = 0};
	CHECK("rt_sigaction(SIGKILL, act)", sys_sigaction(SIGKILL, &act, NULL, 8));
	CHECK("rt_sigaction(SIGSTOP, act)", sys_sigaction(SIGSTOP, &act, NULL, 8));
	CHECK("rt_sigaction(SIGKILL, NULL, &old)", sys_sigaction(SIGKILL, NULL, &k, 8));
	CHECK("rt_sigaction(0)", sys_sigaction(0, NULL, &k, 8));
	CHECK("rt_sigaction(65)", sys_sigaction(65, NULL, &k, 8));
	CHECK("rt_sigaction(-1)", sys_sigaction(-1, NULL, &k, 8));
	CHECK("rt_sigaction sigsetsize 4", sys_sigaction(SIGUSR1, NULL, &k, 4));
	CHECK("rt_sigaction sigsetsize 16", sys_sigaction(SIGUSR1, NULL, &k, 16));
	CHECK("rt_sigaction bad act pointer", sys_sigaction(SIGUSR2, NULL_PAGE, NULL, 8));
	CHECK("rt_sigaction bad old pointer", sys_sigaction(SIGUSR2, NULL, NULL_PAGE, 8));
	/* Unknown flag bits are dropped from what the kernel stores. */
	act = (struct ksigaction){.handler = SIG_IGN, .flags = SA_RESTORER_ | 0x400ul | 0x00800000ul, .restorer = NULL};
	CHECK("rt_sigaction(SIGURG, SIG_IGN, unknown flag bits)", sys_sigaction(SIGURG, &act, NULL, 8));
	CHECK("rt_sigaction(SIGURG, NULL, &old)", sys_sigaction(SIGURG, NULL, &k, 8));
	printf("SIGURG flags read back: %#lx\n", k.flags);
	act.handler = SIG_DFL;
	act.flags = SA_RESTORER_;
	sys_sigaction(SIGURG, &act, NULL, 8);

	uint64_t all = ~0ull, got = 0, saved = 0;
	CHECK("rt_sigprocmask(SIG_SETMASK, all)", sys_sigprocmask(SIG_SETMASK, &all, &saved, 8));
	CHECK("rt_sigprocmask query", sys_sigprocmask(SIG_BLOCK, NULL, &got, 8));
	printf("mask after blocking everything: %#llx (SIGKILL and SIGSTOP cannot be blocked)\n", (unsigned long long)got);
	CHECK("rt_sigprocmask(SIG_SETMASK, saved)", sys_sigprocmask(SIG_SETMASK, &saved, NULL, 8));
	printf("mask at start: %#llx\n", (unsigned long long)saved);
	CHECK("rt_sigprocmask how 3", sys_sigprocmask(3, &all, NULL, 8));
	CHECK("rt_sigprocmask how 3 without a set", sys_sigprocmask(3, NULL, &got, 8));
	CHECK("rt_sigprocmask sigsetsize 4", sys_sigprocmask(SIG_BLOCK, &all, NULL, 4));
	CHECK("rt_sigprocmask bad set pointer", sys_sigprocmask(SIG_BLOCK, NULL_PAGE, NULL, 8));
	CHECK("rt_sigprocmask bad old pointer", sys_sigprocmask(SIG_BLOCK, NULL, NULL_PAGE, 8));
}

/* --- synchronous faults --- */

static sigjmp_buf jb;
static volatile int f_sig, f_code, f_errno;
static volatile uintptr_t f_addr, f_rip, f_cr2;
static volatile long f_err, f_trapno;
static void fault_handler(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	f_sig = sig;
	f_code = si->si_code;
	f_errno = si->si_errno;
	f_addr = (uintptr_t)si->si_addr;
	f_err = uc->uc_mcontext.gregs[REG_ERR];
	f_trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
	f_rip = uc->uc_mcontext.gregs[REG_RIP];
	f_cr2 = uc->uc_mcontext.gregs[REG_CR2];
	if (sig == SIGTRAP)
		return; /* int3 is a trap: execution continues after it */
	siglongjmp(jb, 1);
}

__asm__(".text\n"
	".globl abi_ud2\n"
	".type abi_ud2, @function\n"
	"abi_ud2:\n"
	"	ud2\n"
	"	ret\n"
	".globl abi_int3\n"
	".type abi_int3, @function\n"
	"abi_int3:\n"
	"	int3\n"
	"abi_after_int3:\n"
	"	ret\n"
	".globl abi_after_int3\n");
extern void abi_ud2(void), abi_int3(void);
extern char abi_after_int3[];

/* ERRMASK selects the page-fault error code bits printed. */
static void report(const char *what, uintptr_t base, unsigned long errmask)
{
	printf("%s: signal %d si_code %d si_errno %d, si_addr %s%#lx, trapno %ld, error code %#lx\n", what, f_sig,
	       f_code, f_errno, f_addr >= base ? "base+" : "base-",
	       (unsigned long)(f_addr >= base ? f_addr - base : base - f_addr), f_trapno,
	       (unsigned long)f_err & errmask);
}

#define FAULT(what, base, stmt) FAULT_MASKED(what, base, ~0ul, stmt)
#define FAULT_MASKED(what, base, errmask, stmt) \
	do { \
		f_sig = 0; \
		if (sigsetjmp(jb, 1) == 0) { \
			stmt; \
			printf("%s: no fault\n", what); \
		} else \
			report(what, (uintptr_t)(base), (errmask)); \
	} while (0)

static void fault_tests(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fault_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (int s = 0, sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP}; s < 5; s++)
		sigaction(sigs[s], &sa, NULL);

	volatile unsigned char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p[0] = 1;
	mprotect((void *)(p + PAGE), PAGE, PROT_NONE);
	mprotect((void *)(p + 2 * PAGE), PAGE, PROT_READ);
	munmap((void *)(p + 3 * PAGE), PAGE);
	volatile unsigned char sink;
	sink = p[2 * PAGE]; /* present now (the zero page) */
	FAULT("read PROT_NONE", p, sink = p[PAGE + 16]);
	FAULT("write PROT_NONE", p, p[PAGE + 32] = 1);
	FAULT("write read-only (present)", p, p[2 * PAGE + 8] = 1);
	FAULT("read unmapped", p, sink = p[3 * PAGE + 4]);
	FAULT("write unmapped", p, p[3 * PAGE + 5] = 1);
	SHOW("REG_CR2 is the fault address", f_cr2 == f_addr);
	FAULT("read NULL", 0, sink = *(volatile unsigned char *)NULL_PAGE);
	/* Whether a kernel address is mapped (the present bit, 1) depends on the
	 * kernel's layout (KASLR randomises the direct map): not printed. */
	FAULT_MASKED("read kernel address (error code without the present bit)", 0xffff888000000000ul, ~1ul,
		     sink = *(volatile unsigned char *)0xffff888000000000ul);
	FAULT("read non-canonical address", 0, sink = *(volatile unsigned char *)BAD_ADDR);
	/* Executing data: the page holds a ret but is not executable. */
	p[0] = 0xc3;
	FAULT("execute a non-executable page", p, ((void (*)(void))p)());
	SHOW("rip is the non-executable page", f_rip == (uintptr_t)p);
	(void)sink;

	int fd = memfd_create("abi-sigbus", 0);
	ftruncate(fd, PAGE);
	volatile unsigned char *f = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	FAULT("read beyond the end of a memfd", f, sink = f[PAGE + 1]);
	FAULT("write beyond the end of a memfd", f, f[PAGE + 2] = 1);
	uintptr_t last_pf_cr2 = f_cr2;
	munmap((void *)f, 2 * PAGE);
	close(fd);

	FAULT("ud2", (uintptr_t)abi_ud2, abi_ud2());
	SHOW("ud2: rip is the instruction", f_rip == (uintptr_t)abi_ud2);
	volatile int zero = 0, one = 1;
	FAULT("integer divide by zero (si_addr relative to itself)", f_addr, one = one / zero);
	SHOW("divide by zero: si_addr is rip", f_addr == f_rip);
	f_sig = 0;
	abi_int3();
	printf("int3: signal %d si_code %#x, rip after the int3 %s, trapno %ld\n", f_sig, f_code,
	       f_rip == (uintptr_t)abi_after_int3 ? "yes" : "no", f_trapno);
	/* A signal that is not a fault shows the last fault's trapno and error
	   code, and the last page fault's cr2: Linux keeps them per thread. */
	f_sig = 0;
	if (sigsetjmp(jb, 1) == 0)
		raise(SIGSEGV);
	printf("raise(SIGSEGV) after the int3: signal %d si_code %d, trapno %ld, error code %#lx, cr2 the last page fault's %s\n",
	       f_sig, f_code, f_trapno, (unsigned long)f_err, f_cr2 == last_pf_cr2 ? "yes" : "no");
	munmap((void *)p, 3 * PAGE);
}

/* --- sigaltstack --- */

static char altstack[64 * 1024] __attribute__((aligned(16)));
static volatile int on_alt, alt_flags, alt_eperm;
static void alt_handler(int sig)
{
	(void)sig;
	char here;
	on_alt = (uintptr_t)&here >= (uintptr_t)altstack && (uintptr_t)&here < (uintptr_t)altstack + sizeof altstack;
	stack_t cur;
	sigaltstack(NULL, &cur);
	alt_flags = cur.ss_flags;
	stack_t other = {.ss_sp = altstack, .ss_size = sizeof altstack};
	alt_eperm = sigaltstack(&other, NULL) == -1 ? errno : 0;
}

static void altstack_tests(void)
{
	stack_t ss, old;
	CHECK("sigaltstack(NULL, &old)", sigaltstack(NULL, &old));
	printf("initial: ss_flags %d ss_size %zu ss_sp NULL %s\n", old.ss_flags, old.ss_size, old.ss_sp ? "no" : "yes");
	ss = (stack_t){.ss_sp = altstack, .ss_size = 1024};
	CHECK("sigaltstack size 1024 (< MINSIGSTKSZ)", syscall(SYS_sigaltstack, &ss, NULL));
	ss = (stack_t){.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0x1234};
	CHECK("sigaltstack bad flags", syscall(SYS_sigaltstack, &ss, NULL));
	CHECK("sigaltstack bad pointer", syscall(SYS_sigaltstack, NULL_PAGE, NULL));
	CHECK("sigaltstack bad old pointer", syscall(SYS_sigaltstack, NULL, NULL_PAGE));
	ss = (stack_t){.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
	CHECK("sigaltstack set 64 KiB", syscall(SYS_sigaltstack, &ss, NULL));
	CHECK("sigaltstack get", syscall(SYS_sigaltstack, NULL, &old));
	printf("after set: ss_flags %d ss_size %zu ss_sp is ours %s\n", old.ss_flags, old.ss_size,
	       old.ss_sp == altstack ? "yes" : "no");
	set_handler(SIGUSR1, alt_handler, SA_ONSTACK);
	raise(SIGUSR1);
	printf("SA_ONSTACK handler: ran on the alternate stack %s, ss_flags inside %d, sigaltstack inside: %s\n",
	       on_alt ? "yes" : "no", alt_flags, alt_eperm ? ename(alt_eperm) : "0");
	set_handler(SIGUSR1, alt_handler, 0);
	raise(SIGUSR1);
	printf("handler without SA_ONSTACK: ran on the alternate stack %s, ss_flags inside %d\n", on_alt ? "yes" : "no",
	       alt_flags);
	ss.ss_flags = SS_ONSTACK;
	CHECK("sigaltstack with SS_ONSTACK (accepted as 0)", syscall(SYS_sigaltstack, &ss, NULL));
	ss.ss_flags = SS_DISABLE;
	CHECK("sigaltstack SS_DISABLE", syscall(SYS_sigaltstack, &ss, NULL));
	CHECK("sigaltstack get", syscall(SYS_sigaltstack, NULL, &old));
	printf("after SS_DISABLE: ss_flags %d ss_size %zu\n", old.ss_flags, old.ss_size);
	set_handler(SIGUSR1, alt_handler, SA_ONSTACK);
	raise(SIGUSR1);
	printf("SA_ONSTACK with no alternate stack: ran on it %s\n", on_alt ? "yes" : "no");
	ss = (stack_t){.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = SS_AUTODISARM};
	CHECK("sigaltstack SS_AUTODISARM", syscall(SYS_sigaltstack, &ss, NULL));
	raise(SIGUSR1);
	printf("SS_AUTODISARM: on the alternate stack %s, ss_flags inside %d, sigaltstack inside: %s\n",
	       on_alt ? "yes" : "no", alt_flags, alt_eperm ? ename(alt_eperm) : "0");
	CHECK("sigaltstack get after the handler", syscall(SYS_sigaltstack, NULL, &old));
	printf("after SS_AUTODISARM handler: ss_flags %#x\n", old.ss_flags);
	ss.ss_flags = SS_DISABLE;
	syscall(SYS_sigaltstack, &ss, NULL);
	signal(SIGUSR1, SIG_DFL);
}

/* --- pending, blocked, ignored --- */

static int child_pending_not_inherited(void)
{
	SHOW("child: SIGUSR1 not pending (pending signals are not inherited)", !is_pending(SIGUSR1));
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	SHOW("child: SIGUSR1 still blocked (the mask is inherited)", sigismember(&cur, SIGUSR1) == 1);
	return 0;
}

static void pending_tests(void)
{
	memset((void *)count, 0, sizeof count);
	norder = 0;
	set_handler(SIGUSR1, counter, 0);
	set_handler(SIGUSR2, counter, 0);
	block(SIGUSR1, SIG_BLOCK);
	CHECK("kill(getpid(), SIGUSR1) while blocked", kill(getpid(), SIGUSR1));
	printf("handler count while blocked: %d, pending: %d\n", count[SIGUSR1], is_pending(SIGUSR1));
	uint64_t set = 0;
	CHECK("raw rt_sigpending", syscall(SYS_rt_sigpending, &set, 8));
	printf("rt_sigpending set: %#llx\n", (unsigned long long)set);
	CHECK("rt_sigpending sigsetsize 4", syscall(SYS_rt_sigpending, &set, 4));
	CHECK("rt_sigpending sigsetsize 16", syscall(SYS_rt_sigpending, &set, 16));
	CHECK("rt_sigpending bad pointer", syscall(SYS_rt_sigpending, NULL_PAGE, 8));
	kill(getpid(), SIGUSR1);
	abi_in_child("child after fork with SIGUSR1 pending", child_pending_not_inherited);
	block(SIGUSR1, SIG_UNBLOCK);
	printf("after unblocking: handler count %d (standard signals do not queue), pending %d\n", count[SIGUSR1],
	       is_pending(SIGUSR1));

	/* Delivery order: the lowest-numbered pending signal first. */
	norder = 0;
	sigset_t both;
	sigemptyset(&both);
	sigaddset(&both, SIGUSR1);
	sigaddset(&both, SIGUSR2);
	sigaddset(&both, SIGTERM);
	set_handler(SIGTERM, counter, 0);
	sigprocmask(SIG_BLOCK, &both, NULL);
	kill(getpid(), SIGTERM);
	kill(getpid(), SIGUSR2);
	kill(getpid(), SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &both, NULL);
	printf("delivery order after unblocking TERM, USR2, USR1 sent in that order:");
	for (int i = 0; i < norder; i++)
		printf(" %d", order[i]);
	printf("\n");

	/* Real-time signals queue. */
	int rt = SIGRTMIN + 2;
	count[rt] = 0;
	set_handler(rt, counter, 0);
	block(rt, SIG_BLOCK);
	for (int i = 0; i < 3; i++)
		kill(getpid(), rt);
	union sigval v = {.sival_int = 5};
	CHECK("sigqueue(getpid(), SIGRTMIN+2)", sigqueue(getpid(), rt, v));
	block(rt, SIG_UNBLOCK);
	printf("SIGRTMIN+2 sent 4 times while blocked: handler ran %d times\n", count[rt]);
	signal(rt, SIG_DFL);

	/* Ignored signals. */
	signal(SIGUSR2, SIG_IGN);
	CHECK("kill(getpid(), SIGUSR2) with SIG_IGN", kill(getpid(), SIGUSR2));
	printf("SIGUSR2 ignored: pending %d, handler count %d\n", is_pending(SIGUSR2), count[SIGUSR2]);
	block(SIGUSR2, SIG_BLOCK);
	kill(getpid(), SIGUSR2);
	printf("SIGUSR2 ignored and blocked, sent: pending %d\n", is_pending(SIGUSR2));
	set_handler(SIGUSR2, counter, 0);
	kill(getpid(), SIGUSR2);
	printf("SIGUSR2 blocked with a handler, sent: pending %d\n", is_pending(SIGUSR2));
	signal(SIGUSR2, SIG_IGN);
	printf("setting SIG_IGN discards it: pending %d\n", is_pending(SIGUSR2));
	block(SIGUSR2, SIG_UNBLOCK);
	signal(SIGCHLD, SIG_DFL);
	kill(getpid(), SIGCHLD);
	kill(getpid(), SIGURG);
	kill(getpid(), SIGWINCH);
	printf("SIGCHLD, SIGURG, SIGWINCH with default action (ignore): still running\n");
	signal(SIGUSR1, SIG_DFL);
	signal(SIGUSR2, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

/* --- sigsuspend woken by a child, kill, tgkill, tkill --- */

static void sigsuspend_test(void)
{
	memset((void *)count, 0, sizeof count);
	set_handler(SIGUSR1, counter, 0);
	block(SIGUSR1, SIG_BLOCK);
	fflush(stdout);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		kill(parent, SIGUSR1);
		_exit(0);
	}
	sigset_t empty;
	sigemptyset(&empty);
	errno = 0;
	int r = sigsuspend(&empty);
	printf("sigsuspend: %d %s, handler count %d\n", r, ename(errno), count[SIGUSR1]);
	printf("child that sent it: %s\n", abi_wait(pid));
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	SHOW("sigsuspend restored the mask (SIGUSR1 blocked again)", sigismember(&cur, SIGUSR1) == 1);
	block(SIGUSR1, SIG_UNBLOCK);
}

static void kill_tests(void)
{
	memset((void *)count, 0, sizeof count);
	set_handler(SIGUSR1, counter, 0);
	CHECK("kill(getpid(), 0)", kill(getpid(), 0));
	CHECK("kill(getpid(), 65)", syscall(SYS_kill, getpid(), 65));
	CHECK("kill(getpid(), -1)", syscall(SYS_kill, getpid(), -1));
	CHECK("kill(no such pid, 0)", syscall(SYS_kill, NO_SUCH_PID, 0));
	CHECK("kill(no such pid, SIGUSR1)", syscall(SYS_kill, NO_SUCH_PID, SIGUSR1));
	CHECK("kill(-(no such pgrp), 0)", syscall(SYS_kill, -NO_SUCH_PID, 0));
	CHECK("kill(INT_MIN, 0)", syscall(SYS_kill, INT_MIN, 0));
	long tid = syscall(SYS_gettid);
	CHECK("tgkill(getpid(), gettid(), SIGUSR1)", syscall(SYS_tgkill, getpid(), tid, SIGUSR1));
	printf("handler ran before tgkill returned: %d\n", count[SIGUSR1]);
	CHECK("tgkill(getpid(), gettid(), 0)", syscall(SYS_tgkill, getpid(), tid, 0));
	CHECK("tgkill(no such tgid, gettid(), SIGUSR1)", syscall(SYS_tgkill, NO_SUCH_PID, tid, SIGUSR1));
	CHECK("tgkill(getpid(), no such tid, SIGUSR1)", syscall(SYS_tgkill, getpid(), NO_SUCH_PID, SIGUSR1));
	CHECK("tgkill(0, gettid(), SIGUSR1)", syscall(SYS_tgkill, 0, tid, SIGUSR1));
	CHECK("tgkill(getpid(), -1, SIGUSR1)", syscall(SYS_tgkill, getpid(), -1, SIGUSR1));
	CHECK("tgkill(getpid(), gettid(), 65)", syscall(SYS_tgkill, getpid(), tid, 65));
	CHECK("tkill(gettid(), SIGUSR1)", syscall(SYS_tkill, tid, SIGUSR1));
	CHECK("tkill(-1, SIGUSR1)", syscall(SYS_tkill, -1, SIGUSR1));
	CHECK("tkill(0, SIGUSR1)", syscall(SYS_tkill, 0, SIGUSR1));
	CHECK("tkill(no such tid, 0)", syscall(SYS_tkill, NO_SUCH_PID, 0));
	CHECK("tkill(gettid(), 65)", syscall(SYS_tkill, tid, 65));
	CHECK("raise(SIGUSR1)", raise(SIGUSR1));
	printf("handler count after tgkill, tkill and raise: %d\n", count[SIGUSR1]);
	signal(SIGUSR1, SIG_DFL);
}

/* --- default actions, SIGCHLD, wait4 --- */

static int child_abort(void) { abort(); }
static int child_abort_with_handler(void)
{
	set_handler(SIGABRT, counter, 0);
	abort();
}
static int child_raise_term(void)
{
	raise(SIGTERM);
	return 0;
}
static int child_kill_self(void)
{
	kill(getpid(), SIGKILL);
	return 0;
}
static int child_exit(int code)
{
	fflush(stdout);
	_exit(code);
}
static int child_exit_0(void) { return child_exit(0); }
static int child_exit_1(void) { return child_exit(1); }
static int child_exit_255(void) { return child_exit(255); }
static int child_usr1_default(void)
{
	raise(SIGUSR1);
	return 0;
}
static int child_segv_default(void)
{
	signal(SIGSEGV, SIG_DFL);
	*(volatile int *)NULL_PAGE = 1;
	return 0;
}

/* The handler records si_pid; the parent compares it after wait4: the
   child may exit (and the handler run) before fork returns in the parent. */
static volatile int chld_code, chld_status;
static volatile pid_t chld_pid;
static void chld_handler(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	count[sig]++;
	chld_code = si->si_code;
	chld_status = si->si_status;
	chld_pid = si->si_pid;
}

static void child_tests(void)
{
	abi_in_child("child calling abort()", child_abort);
	abi_in_child("child calling abort() with a SIGABRT handler", child_abort_with_handler);
	abi_in_child("child raising SIGTERM", child_raise_term);
	abi_in_child("child sending itself SIGKILL", child_kill_self);
	abi_in_child("child raising SIGUSR1 (default action)", child_usr1_default);
	abi_in_child("child writing to page 0 (default action)", child_segv_default);
	abi_in_child("child exiting 0", child_exit_0);
	abi_in_child("child exiting 1", child_exit_1);
	abi_in_child("child exiting 255", child_exit_255);

	memset((void *)count, 0, sizeof count);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = chld_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	int st = 0;
	pid_t w = wait4(pid, &st, 0, NULL);
	printf("wait4: right child %s, %s\n", w == pid ? "yes" : "no", abi_status(st));
	printf("SIGCHLD handler: ran %d, si_code %d (CLD_EXITED %d), si_status %d, si_pid is the child %s\n",
	       count[SIGCHLD], chld_code, CLD_EXITED, chld_status, chld_pid == pid ? "yes" : "no");

	/* Blocked SIGCHLD: pending after the child is reaped, delivered on unblock. */
	block(SIGCHLD, SIG_BLOCK);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		raise(SIGTERM);
		_exit(0);
	}
	w = wait4(pid, &st, 0, NULL);
	printf("wait4: %s, SIGCHLD pending %d\n", abi_status(st), is_pending(SIGCHLD));
	block(SIGCHLD, SIG_UNBLOCK);
	printf("SIGCHLD after unblocking: ran %d, si_code %d (CLD_KILLED %d), si_status %d, si_pid is the child %s\n",
	       count[SIGCHLD], chld_code, CLD_KILLED, chld_status, chld_pid == pid ? "yes" : "no");
	signal(SIGCHLD, SIG_DFL);

	/* WNOHANG on a live child, then SIGKILL. */
	block(SIGUSR1, SIG_BLOCK);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		sigset_t empty;
		sigemptyset(&empty);
		for (;;)
			sigsuspend(&empty);
	}
	w = wait4(pid, &st, WNOHANG, NULL);
	printf("wait4 WNOHANG on a live child: %d\n", (int)w);
	CHECK("kill(child, SIGKILL)", kill(pid, SIGKILL));
	w = wait4(pid, &st, 0, NULL);
	printf("wait4 after SIGKILL: right child %s, %s\n", w == pid ? "yes" : "no", abi_status(st));
	CHECK("kill(reaped child, 0)", kill(pid, 0));
	block(SIGUSR1, SIG_UNBLOCK);

	/* A core-dumping signal in an undumpable process dumps no core: no
	   WCOREDUMP. (Whether a dumpable one dumps depends on the host's
	   core_pattern: a pipe ignores RLIMIT_CORE; not compared here.) */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
		_exit(0);
	}
	w = wait4(pid, &st, 0, NULL);
	printf("undumpable child's SIGSEGV: %s, WCOREDUMP %d\n", abi_status(st), WCOREDUMP(st) ? 1 : 0);
	CHECK("wait4 with no children", wait4(-1, &st, 0, NULL));
	CHECK("wait4 WNOHANG with no children", wait4(-1, &st, WNOHANG, NULL));
	CHECK("wait4 no such pid", wait4(NO_SUCH_PID, &st, 0, NULL));
	CHECK("wait4 bad options", syscall(SYS_wait4, -1, &st, 0x12345678, NULL));

	/* Several children, reaped in any order with wait4(-1). */
	fflush(stdout);
	pid_t kids[3];
	for (int i = 0; i < 3; i++) {
		kids[i] = fork();
		if (kids[i] == 0)
			_exit(10 + i);
	}
	int seen = 0, sum = 0;
	for (int i = 0; i < 3; i++) {
		w = wait4(-1, &st, 0, NULL);
		for (int k = 0; k < 3; k++)
			if (w == kids[k])
				seen |= 1 << k;
		sum += WEXITSTATUS(st);
	}
	printf("wait4(-1) x3: all three children seen %s, status sum %d\n", seen == 7 ? "yes" : "no", sum);
	CHECK("wait4(-1) afterwards", wait4(-1, &st, 0, NULL));
}

int main(void)
{
	abi_line_buffered();
	sigaction_tests();
	fault_tests();
	altstack_tests();
	pending_tests();
	sigsuspend_test();
	kill_tests();
	child_tests();
	return 0;
}
