/* progbench: the benchmark program of `vmm bench programs`.
 *
 * One program, one case per run: `progbench CASE ARG...` measures CASE and
 * prints one figure on stdout, nanoseconds per operation, or
 * `unsupported: WHAT ERRNO` when the kernel refuses the operation (exit 0).
 * Any other failure prints why on stderr and exits 1.
 *
 * Times are taken inside the program with clock_gettime(CLOCK_MONOTONIC), so
 * the start-up of the process (and of the VM or sandbox around it) is not in
 * the figure. Cases that repeat an operation run ROUNDS batches of N and print
 * the median of the batches' per-operation averages; cases that take a
 * sample per operation (fork, exec, a shell script) print the median sample.
 *
 * The same static binary runs natively, under gVisor (runsc do) and in the
 * microVM (vmm run --root, where it lives at /bench/progbench).
 *
 * Cases (ARG... in brackets):
 *   touch  [MIB ROUNDS]   first write of every page of a fresh MIB anonymous mapping, per page
 *   fork   [MIB N]        fork + child _exit + waitpid with MIB touched, per fork
 *   cow    [MIB ROUNDS]   the child's first write of every page after fork, per page
 *   mmap   [N ROUNDS]     mmap one page, write it, munmap, per op
 *   mprotect [N ROUNDS]   mprotect the middle of 3 pages read-only and back (split + merge), per pair
 *   guard  [N ROUNDS]     MADV_GUARD_INSTALL then MADV_GUARD_REMOVE of a page, per pair
 *   getppid [N ROUNDS]    the getppid system call, per call
 *   pipe   [N ROUNDS]     one byte there and back between two processes over two pipes, per round trip
 *   read   [MIB PASSES]   read(2) of a MIB file in /tmp just written (page cache), per MiB
 *   exec   [N]            fork + execve of this binary with the argument `noop` + waitpid, per exec
 *   sh     [ITERS RUNS]   /bin/busybox sh -c a loop of ITERS pipelines (echo | tr), per iteration
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096L
#define MIB (1L << 20)
/* The guard-region madvise advice (Linux 6.13); older headers lack them. */
#define GUARD_INSTALL 102
#define GUARD_REMOVE 103

extern char **environ;

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "progbench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void unsupported(const char *what, int err) {
    printf("unsupported: %s %s\n", what, strerrorname_np(err));
    exit(0);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, long n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long arg(int argc, char **argv, int i, long dflt) {
    if (i >= argc) return dflt;
    char *end;
    long v = strtol(argv[i], &end, 10);
    if (*end || v < 1) {
        fprintf(stderr, "progbench: bad number %s\n", argv[i]);
        exit(2);
    }
    return v;
}

static double *samples(long n) {
    double *v = malloc(n * sizeof *v);
    if (!v) die("malloc");
    return v;
}

static char *anon(long bytes) {
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) die("mmap");
    return p;
}

static void write_pages(char *p, long bytes, char value) {
    for (long o = 0; o < bytes; o += PAGE) p[o] = value;
}

static void reap(pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) != pid) die("waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "progbench: child ended with status %#x\n", st);
        exit(1);
    }
}

static double case_touch(long mib, long rounds) {
    long bytes = mib * MIB;
    double *v = samples(rounds);
    for (long r = 0; r < rounds; r++) {
        char *p = anon(bytes);
        double t0 = now_ns();
        write_pages(p, bytes, 1);
        v[r] = (now_ns() - t0) / (bytes / PAGE);
        if (munmap(p, bytes)) die("munmap");
    }
    return median(v, rounds);
}

static double case_fork(long mib, long n) {
    long bytes = mib * MIB;
    char *p = anon(bytes);
    write_pages(p, bytes, 1);
    double *v = samples(n);
    for (long i = 0; i < n; i++) {
        double t0 = now_ns();
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) _exit(0);
        reap(pid);
        v[i] = now_ns() - t0;
    }
    return median(v, n);
}

static double case_cow(long mib, long rounds) {
    long bytes = mib * MIB;
    char *p = anon(bytes);
    double *v = samples(rounds);
    for (long r = 0; r < rounds; r++) {
        /* Every page private and writable in the parent again. */
        write_pages(p, bytes, 1);
        int fd[2];
        if (pipe(fd)) die("pipe");
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) {
            double t0 = now_ns();
            write_pages(p, bytes, 2);
            double per_page = (now_ns() - t0) / (bytes / PAGE);
            if (write(fd[1], &per_page, sizeof per_page) != sizeof per_page) _exit(1);
            _exit(0);
        }
        close(fd[1]);
        if (read(fd[0], &v[r], sizeof v[r]) != sizeof v[r]) die("reading the child's figure");
        close(fd[0]);
        reap(pid);
    }
    return median(v, rounds);
}

/* Runs `op` n times per round, `rounds` rounds: the median round's average. */
#define BATCHED(n, rounds, setup, op)                          \
    do {                                                       \
        double *v_ = samples(rounds);                          \
        setup;                                                 \
        for (long r_ = 0; r_ < (rounds); r_++) {               \
            double t0_ = now_ns();                             \
            for (long i_ = 0; i_ < (n); i_++) { op; }          \
            v_[r_] = (now_ns() - t0_) / (n);                   \
        }                                                      \
        return median(v_, rounds);                             \
    } while (0)

static double case_mmap(long n, long rounds) {
    BATCHED(n, rounds, , {
        char *p = anon(PAGE);
        p[0] = 1;
        if (munmap(p, PAGE)) die("munmap");
    });
}

static double case_mprotect(long n, long rounds) {
    BATCHED(n, rounds, char *p = anon(3 * PAGE); write_pages(p, 3 * PAGE, 1), {
        if (mprotect(p + PAGE, PAGE, PROT_READ)) die("mprotect read-only");
        if (mprotect(p + PAGE, PAGE, PROT_READ | PROT_WRITE)) die("mprotect back");
    });
}

static double case_guard(long n, long rounds) {
    char *p = anon(PAGE);
    p[0] = 1;
    if (madvise(p, PAGE, GUARD_INSTALL)) unsupported("MADV_GUARD_INSTALL", errno);
    if (madvise(p, PAGE, GUARD_REMOVE)) unsupported("MADV_GUARD_REMOVE", errno);
    BATCHED(n, rounds, , {
        if (madvise(p, PAGE, GUARD_INSTALL)) die("MADV_GUARD_INSTALL");
        if (madvise(p, PAGE, GUARD_REMOVE)) die("MADV_GUARD_REMOVE");
    });
}

static double case_getppid(long n, long rounds) {
    /* syscall(): glibc does not cache getppid, but be explicit about it. */
    BATCHED(n, rounds, , { syscall(SYS_getppid); });
}

static double case_pipe(long n, long rounds) {
    int there[2], back[2];
    if (pipe(there) || pipe(back)) die("pipe");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        char c;
        close(there[1]);
        close(back[0]);
        while (read(there[0], &c, 1) == 1)
            if (write(back[1], &c, 1) != 1) _exit(1);
        _exit(0);
    }
    close(there[0]);
    close(back[1]);
    double *v = samples(rounds);
    char c = 'x';
    for (long r = 0; r < rounds; r++) {
        double t0 = now_ns();
        for (long i = 0; i < n; i++) {
            if (write(there[1], &c, 1) != 1) die("pipe write");
            if (read(back[0], &c, 1) != 1) die("pipe read");
        }
        v[r] = (now_ns() - t0) / n;
    }
    close(there[1]);
    reap(pid);
    close(back[0]);
    return median(v, rounds);
}

static double case_read(long mib, long passes) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/progbench.%d", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) die("creating the file in /tmp");
    enum { CHUNK = 128 * 1024 };
    char *buf = malloc(CHUNK);
    if (!buf) die("malloc");
    memset(buf, 'r', CHUNK);
    for (long o = 0; o < mib * MIB; o += CHUNK)
        if (write(fd, buf, CHUNK) != CHUNK) die("writing the file");
    double *v = samples(passes);
    for (long r = 0; r < passes; r++) {
        double t0 = now_ns();
        long total = 0;
        for (;;) {
            ssize_t got = pread(fd, buf, CHUNK, total);
            if (got < 0) die("pread");
            if (got == 0) break;
            total += got;
        }
        v[r] = (now_ns() - t0) / mib;
        if (total != mib * MIB) {
            fprintf(stderr, "progbench: read %ld bytes of %ld\n", total, mib * MIB);
            exit(1);
        }
    }
    close(fd);
    if (unlink(path)) die("unlink");
    return median(v, passes);
}

static double spawn_and_wait(const char *path, char *const argv[]) {
    double t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        execve(path, argv, environ);
        fprintf(stderr, "progbench: execve %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    reap(pid);
    return now_ns() - t0;
}

static double case_exec(const char *self, long n) {
    char *argv[] = {(char *)self, "noop", NULL};
    double *v = samples(n);
    for (long i = 0; i < n; i++) v[i] = spawn_and_wait(self, argv);
    return median(v, n);
}

static double case_sh(long iters, long runs) {
    char script[256];
    snprintf(script, sizeof script,
             "i=0; while [ $i -lt %ld ]; do echo $i | tr 0-9 a-j > /dev/null; i=$((i+1)); done", iters);
    char *argv[] = {"busybox", "sh", "-c", script, NULL};
    double *v = samples(runs);
    for (long r = 0; r < runs; r++) v[r] = spawn_and_wait("/bin/busybox", argv) / iters;
    return median(v, runs);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: progbench CASE [ARG...] (see the comment at the top of progbench.c)\n");
        return 2;
    }
    const char *c = argv[1];
    long a = arg(argc, argv, 2, 1), b = arg(argc, argv, 3, 1);
    double ns;
    if (!strcmp(c, "noop")) return 0;
    else if (!strcmp(c, "touch")) ns = case_touch(a, b);
    else if (!strcmp(c, "fork")) ns = case_fork(a, b);
    else if (!strcmp(c, "cow")) ns = case_cow(a, b);
    else if (!strcmp(c, "mmap")) ns = case_mmap(a, b);
    else if (!strcmp(c, "mprotect")) ns = case_mprotect(a, b);
    else if (!strcmp(c, "guard")) ns = case_guard(a, b);
    else if (!strcmp(c, "getppid")) ns = case_getppid(a, b);
    else if (!strcmp(c, "pipe")) ns = case_pipe(a, b);
    else if (!strcmp(c, "read")) ns = case_read(a, b);
    else if (!strcmp(c, "exec")) ns = case_exec(argv[0], a);
    else if (!strcmp(c, "sh")) ns = case_sh(a, b);
    else {
        fprintf(stderr, "progbench: no case %s\n", c);
        return 2;
    }
    printf("%.1f\n", ns);
    return 0;
}
