/* Clocks and sleeping: clock_gettime and clock_getres for every clock id
 * (0..11) and for CPU-time clock ids, invalid ids, EFAULT; gettimeofday and
 * time against CLOCK_REALTIME; CLOCK_MONOTONIC never going backwards;
 * nanosleep and clock_nanosleep (relative, absolute in the past, errors,
 * clock_nanosleep's positive errno return); clock_settime without privilege.
 *
 * No time value is printed, only resolutions (fixed by the kernel's
 * configuration: this host has CONFIG_HZ=250, so the coarse and tick-based
 * clocks have 4 ms), errno names and relations. The *_ALARM clocks need an
 * RTC device: without one (CONFIG_RTC_CLASS is off on this host) Linux says
 * EINVAL to clock_gettime/clock_getres and EOPNOTSUPP to clock_nanosleep.
 * The raw syscall() is used wherever a vDSO could answer instead.
 */
#include "abi.h"

#include <sys/time.h>
#include <time.h>

static const char *const clock_names[] = {"REALTIME",	     "MONOTONIC",	"PROCESS_CPUTIME_ID",
					  "THREAD_CPUTIME_ID", "MONOTONIC_RAW",	"REALTIME_COARSE",
					  "MONOTONIC_COARSE",  "BOOTTIME",		"REALTIME_ALARM",
					  "BOOTTIME_ALARM",	     "SGI_CYCLE",	"TAI"};

static long sys_gettime(long id, struct timespec *ts) { return syscall(SYS_clock_gettime, id, ts); }
static long sys_getres(long id, struct timespec *ts) { return syscall(SYS_clock_getres, id, ts); }

/* Linux's CPU-clock ids, a 32-bit clockid_t: ~pid << 3 | type (0 PROF, 1 VIRT,
 * 2 SCHED), | 4 for a thread. */
static long cpu_clock(int pid, int type, int thread)
{
	return (int32_t)((~(uint32_t)pid << 3) | (uint32_t)type | (thread ? 4u : 0u));
}
/* A pid no system has (above PID_MAX_LIMIT) that still fits a clock id's 29 bits. */
#define NO_SUCH_CLOCK_PID 0x0fffffff

static void print_res(const char *name, long id)
{
	struct timespec ts = {-1, -1};
	long r = sys_getres(id, &ts);
	if (r)
		printf("clock_getres(%s): -1 %s\n", name, ename(errno));
	else
		printf("clock_getres(%s): %ld.%09ld\n", name, (long)ts.tv_sec, ts.tv_nsec);
}

static void print_get(const char *name, long id)
{
	struct timespec ts;
	long r = sys_gettime(id, &ts);
	if (r)
		printf("clock_gettime(%s): -1 %s\n", name, ename(errno));
	else
		printf("clock_gettime(%s): ok, tv_nsec in range %s\n", name,
		       ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000 ? "yes" : "no");
}

static void clocks(void)
{
	for (long id = 0; id < 12; id++)
		print_get(clock_names[id], id);
	for (long id = 0; id < 12; id++)
		print_res(clock_names[id], id);
	struct {
		const char *name;
		long id;
	} odd[] = {
		{"12", 12},
		{"16", 16},
		{"-1", -1},
		{"INT_MAX", INT_MAX},
		{"process SCHED clock of self", cpu_clock(0, 2, 0)},
		{"process PROF clock of self", cpu_clock(0, 0, 0)},
		{"process VIRT clock of self", cpu_clock(0, 1, 0)},
		{"thread SCHED clock of self", cpu_clock(0, 2, 1)},
		{"process clock with type 3", cpu_clock(0, 3, 0)},
		{"process clock of no such pid", cpu_clock(NO_SUCH_CLOCK_PID, 2, 0)},
		{"thread clock of no such tid", cpu_clock(NO_SUCH_CLOCK_PID, 2, 1)},
		{"process clock of pid 1 (init)", cpu_clock(1, 2, 0)},
	};
	for (unsigned i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		print_get(odd[i].name, odd[i].id);
		print_res(odd[i].name, odd[i].id);
	}
	clockid_t cid;
	CHECK_RET("clock_getcpuclockid(0)", clock_getcpuclockid(0, &cid));
	SHOW("clock_getcpuclockid(0) is the process SCHED clock", cid == cpu_clock(0, 2, 0));
	CHECK("clock_gettime bad pointer", sys_gettime(CLOCK_MONOTONIC, NULL_PAGE));
	CHECK("clock_gettime kernel-half pointer", sys_gettime(CLOCK_REALTIME, BAD_ADDR));
	CHECK("clock_getres NULL", sys_getres(CLOCK_MONOTONIC, NULL));
	CHECK("clock_getres bad pointer", sys_getres(CLOCK_MONOTONIC, NULL_PAGE));
	CHECK("clock_getres bad clock, NULL", sys_getres(12, NULL));
}

static double secs(struct timespec t) { return t.tv_sec + t.tv_nsec / 1e9; }

static void consistency(void)
{
	struct timespec rt;
	struct timeval tv;
	clock_gettime(CLOCK_REALTIME, &rt);
	CHECK("gettimeofday", gettimeofday(&tv, NULL));
	time_t t = time(NULL);
	double a = secs(rt), b = tv.tv_sec + tv.tv_usec / 1e6;
	SHOW("gettimeofday within 1 s of CLOCK_REALTIME", b - a > -1 && b - a < 1);
	SHOW("time() within 1 s of CLOCK_REALTIME", t - a > -1.5 && t - a < 1.5);
	SHOW("tv_usec in range", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	struct timeval rtv;
	CHECK("raw gettimeofday", syscall(SYS_gettimeofday, &rtv, NULL));
	SHOW("raw gettimeofday within 1 s", rtv.tv_sec - tv.tv_sec >= -1 && rtv.tv_sec - tv.tv_sec <= 1);
	CHECK("raw gettimeofday NULL NULL", syscall(SYS_gettimeofday, NULL, NULL));
	CHECK("raw gettimeofday bad pointer", syscall(SYS_gettimeofday, NULL_PAGE, NULL));
	long rt2 = syscall(SYS_time, NULL);
	SHOW("raw time within 1 s of time()", rt2 - t >= -1 && rt2 - t <= 1);
	long tt = 0;
	long rt3 = syscall(SYS_time, &tt);
	SHOW("raw time stores its result", rt3 == tt);
	CHECK("raw time bad pointer", syscall(SYS_time, NULL_PAGE));

	struct timespec prev, now;
	int mono = 1, raw_mono = 1;
	sys_gettime(CLOCK_MONOTONIC, &prev);
	for (int i = 0; i < 2000; i++) {
		sys_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec < prev.tv_sec || (now.tv_sec == prev.tv_sec && now.tv_nsec < prev.tv_nsec))
			mono = 0;
		prev = now;
	}
	SHOW("CLOCK_MONOTONIC never goes backwards (2000 raw reads)", mono);
	clock_gettime(CLOCK_MONOTONIC, &prev);
	for (int i = 0; i < 2000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec < prev.tv_sec || (now.tv_sec == prev.tv_sec && now.tv_nsec < prev.tv_nsec))
			raw_mono = 0;
		prev = now;
	}
	SHOW("CLOCK_MONOTONIC never goes backwards (2000 libc reads)", raw_mono);
	struct timespec boot, mon;
	sys_gettime(CLOCK_MONOTONIC, &mon);
	sys_gettime(CLOCK_BOOTTIME, &boot);
	SHOW("CLOCK_BOOTTIME >= CLOCK_MONOTONIC", secs(boot) >= secs(mon));
	struct timespec c1, c2;
	sys_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	volatile unsigned long spin = 0;
	for (unsigned long i = 0; i < 3000000; i++)
		spin += i;
	sys_gettime(CLOCK_PROCESS_CPUTIME_ID, &c2);
	SHOW("CLOCK_PROCESS_CPUTIME_ID advances while spinning", secs(c2) > secs(c1));
}

static double mono_now(void)
{
	struct timespec t;
	sys_gettime(CLOCK_MONOTONIC, &t);
	return secs(t);
}

static void sleeping(void)
{
	struct timespec req = {0, 20 * 1000 * 1000}, rem = {7, 7};
	double t0 = mono_now();
	CHECK("nanosleep 20 ms", syscall(SYS_nanosleep, &req, &rem));
	double slept = mono_now() - t0;
	SHOW("nanosleep 20 ms slept at least 20 ms", slept >= 0.020);
	SHOW("nanosleep 20 ms slept less than 1 s", slept < 1.0);
	SHOW("rem untouched when not interrupted", rem.tv_sec == 7 && rem.tv_nsec == 7);
	req = (struct timespec){0, 0};
	CHECK("nanosleep 0", syscall(SYS_nanosleep, &req, NULL));
	req = (struct timespec){0, 1000000000};
	CHECK("nanosleep tv_nsec 1e9", syscall(SYS_nanosleep, &req, NULL));
	req = (struct timespec){0, -1};
	CHECK("nanosleep tv_nsec -1", syscall(SYS_nanosleep, &req, NULL));
	req = (struct timespec){-1, 0};
	CHECK("nanosleep tv_sec -1", syscall(SYS_nanosleep, &req, NULL));
	CHECK("nanosleep bad request pointer", syscall(SYS_nanosleep, NULL_PAGE, NULL));
	req = (struct timespec){0, 1000};
	CHECK("nanosleep bad rem pointer (not written)", syscall(SYS_nanosleep, &req, NULL_PAGE));

	/* clock_nanosleep returns the error number itself. */
	req = (struct timespec){0, 0};
	for (int id = 0; id < 12; id++) {
		char name[64];
		snprintf(name, sizeof name, "clock_nanosleep(%s, 0)", clock_names[id]);
		CHECK_RET(name, clock_nanosleep(id, 0, &req, NULL));
	}
	CHECK_RET("clock_nanosleep(12)", clock_nanosleep(12, 0, &req, NULL));
	CHECK_RET("clock_nanosleep(process SCHED clock of self)", clock_nanosleep(cpu_clock(0, 2, 0), 0, &req, NULL));
	CHECK_RET("clock_nanosleep(thread SCHED clock of self)", clock_nanosleep(cpu_clock(0, 2, 1), 0, &req, NULL));
	CHECK("raw clock_nanosleep(12) (-1 and errno)", syscall(SYS_clock_nanosleep, 12, 0, &req, NULL));
	req = (struct timespec){0, 1000000000};
	CHECK_RET("clock_nanosleep tv_nsec 1e9", clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL));
	req = (struct timespec){-1, 0};
	CHECK_RET("clock_nanosleep tv_sec -1 (relative)", clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL));
	CHECK("raw clock_nanosleep bad pointer", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, NULL_PAGE, NULL));
	req = (struct timespec){0, 5 * 1000 * 1000};
	t0 = mono_now();
	CHECK_RET("clock_nanosleep unknown flag 2 (ignored)", clock_nanosleep(CLOCK_MONOTONIC, 2, &req, NULL));
	SHOW("clock_nanosleep with flag 2 slept 5 ms", mono_now() - t0 >= 0.005);

	struct timespec abs;
	t0 = mono_now();
	/* A deadline already past: 1 ms before now (not a fixed time since boot:
	   a freshly booted VM's monotonic clock may be below any constant). */
	sys_gettime(CLOCK_MONOTONIC, &abs);
	if (abs.tv_nsec >= 1000000) {
		abs.tv_nsec -= 1000000;
	} else if (abs.tv_sec > 0) {
		abs.tv_sec--;
		abs.tv_nsec += 999000000;
	}
	CHECK_RET("clock_nanosleep TIMER_ABSTIME 1 ms in the past", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL));
	abs = (struct timespec){0, 0};
	CHECK_RET("clock_nanosleep TIMER_ABSTIME at 0", clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &abs, NULL));
	abs = (struct timespec){-1, 0};
	CHECK_RET("clock_nanosleep TIMER_ABSTIME at -1 s", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL));
	SHOW("past absolute deadlines return at once (< 0.5 s)", mono_now() - t0 < 0.5);
	sys_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += 20 * 1000 * 1000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_nsec -= 1000000000;
		abs.tv_sec++;
	}
	t0 = mono_now();
	CHECK_RET("clock_nanosleep TIMER_ABSTIME 20 ms ahead", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL));
	double d = mono_now() - t0;
	SHOW("absolute sleep lasted between 10 ms and 1 s", d >= 0.010 && d < 1.0);
}

static void setting(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	CHECK("clock_settime(REALTIME, now)", syscall(SYS_clock_settime, CLOCK_REALTIME, &now));
	CHECK("clock_settime(MONOTONIC, now)", syscall(SYS_clock_settime, CLOCK_MONOTONIC, &now));
	CHECK("clock_settime(12)", syscall(SYS_clock_settime, 12, &now));
	struct timeval tv = {now.tv_sec, 0};
	CHECK("settimeofday(now)", syscall(SYS_settimeofday, &tv, NULL));
}

int main(void)
{
	abi_line_buffered();
	clocks();
	consistency();
	sleeping();
	setting();
	return 0;
}
