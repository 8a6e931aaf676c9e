/* stdio over a pipe: printf conversions (integers, floats, %a, strings,
 * widths, precision, flags), puts/fputs/putchar, stderr, and how buffered
 * output interleaves with direct write(2) calls under full, line and no
 * buffering. Stdout is a pipe in both runs, so libc buffers it fully with a
 * buffer sized from fstat's st_blksize (glibc) or BUFSIZ (musl): where the
 * direct writes land in the stream shows the flush points.
 *
 * Output differs between glibc and musl (%a, %p, buffer sizes); each binary's
 * output must be the same on both kernels.
 */
#include "abi.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>

/* Truncation and NULL arguments are what this file tests. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#pragma GCC diagnostic ignored "-Wformat-overflow"

static void direct(const char *s) { (void)!write(1, s, strlen(s)); }

static void integers(void)
{
	printf("d: %d %d %d %d\n", 0, 1, -1, 42);
	printf("limits: %d %d %u %ld %ld %lu\n", INT_MAX, INT_MIN, UINT_MAX, LONG_MAX, LONG_MIN, ULONG_MAX);
	printf("ll: %lld %llu %jd %zu %zd %td\n", LLONG_MIN, ULLONG_MAX, (intmax_t)-7, (size_t)12345, (ssize_t)-3,
	       (ptrdiff_t)99);
	printf("short: %hd %hu %hhd %hhu\n", (short)-2, (unsigned short)65535, (signed char)-128, (unsigned char)255);
	printf("hex: %x %X %#x %#X %#o %o %#x\n", 0xbeefu, 0xbeefu, 255u, 255u, 8u, 8u, 0u);
	printf("width: [%5d] [%-5d] [%05d] [%+d] [% d] [%+5d] [%-+5d] [%5.3d]\n", 42, 42, 42, 42, 42, -42, 42, 7);
	printf("star: [%*d] [%-*d] [%.*d] [%*.*d]\n", 6, 1, 6, 2, 4, 3, 8, 5, 4);
	printf("negative star width: [%*d]\n", -6, 9);
	printf("positional: %2$s %1$s %3$d\n", "world", "hello", 3);
	printf("zero precision of zero: [%.0d] [%.0x] [%#.0o]\n", 0, 0u, 0u);
	printf("char: [%c] [%3c] [%-3c]\n", 'x', 'y', 'z');
	printf("percent: %%\n");
	int n1 = 0, n2 = 0;
	printf("count%n: here%n\n", &n1, &n2);
	printf("counts: %d %d\n", n1, n2);
}

static void floats(void)
{
	double vals[] = {0.0, -0.0, 1.0, -1.5, 0.1, 1.0 / 3.0, 123456789.125, 1e-300, 1e300, DBL_MAX, DBL_MIN, 5e-324};
	for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		double v = vals[i];
		printf("f[%u]: %f | %.0f | %.10f | %e | %.3E | %g | %G | %.17g | %a | %A\n", i, v, v, v, v, v, v, v, v,
		       v, v);
	}
	printf("special: %f %f %f %e %g %a\n", INFINITY, -INFINITY, NAN, INFINITY, -INFINITY, NAN);
	printf("special upper: %F %E %G %A\n", INFINITY, -INFINITY, NAN, INFINITY);
	printf("width: [%10.3f] [%-10.3f] [%010.3f] [%+.2e] [% .1f] [%#.0f] [%#g]\n", 3.14159, 3.14159, -3.14159,
	       12345.678, 2.5, 2.0, 1.0);
	printf("rounding: %.0f %.0f %.0f %.0f %.1f %.2f\n", 0.5, 1.5, 2.5, -0.5, 0.05, 1.005);
	printf("long double: %Lf %Le %Lg %La\n", (long double)1 / 3, (long double)1e-4000L, (long double)LDBL_MAX,
	       (long double)1.0);
	printf("float math: %.6f %.6f %.6f %.6f\n", sqrt(2.0), exp(1.0), log(10.0), sin(1.0));
	/* x87 and SSE state must be intact after all that. */
	volatile double a = 1e16, b = 1.0;
	printf("float sum: %.1f\n", a + b - a);
}

static void strings(void)
{
	printf("s: [%s] [%10s] [%-10s] [%.3s] [%10.2s] [%-*s]\n", "abc", "abc", "abc", "abcdef", "abcdef", 5, "ab");
	printf("empty: [%s] [%5s]\n", "", "");
	printf("pointer NULL: [%p]\n", (void *)0);
	const char *nul = NULL;
	char buf[64];
	/* glibc prints "(null)"; musl crashes on NULL for %s, so only glibc does it. */
#ifdef __GLIBC__
	snprintf(buf, sizeof buf, "%s", nul);
#else
	(void)nul;
	snprintf(buf, sizeof buf, "(musl: not tested)");
#endif
	printf("null string: %s\n", buf);
	printf("long string: %s\n", "0123456789012345678901234567890123456789012345678901234567890123456789"
				    "0123456789012345678901234567890123456789");
	printf("wide width: [%300d]\n", 1);
}

static void snprintf_rules(void)
{
	char buf[8];
	memset(buf, 'Z', sizeof buf);
	int r = snprintf(buf, sizeof buf, "%s", "0123456789");
	printf("snprintf truncating: %d \"%s\" last byte %d\n", r, buf, buf[7]);
	memset(buf, 'Z', sizeof buf);
	r = snprintf(buf, 0, "%d", 12345);
	printf("snprintf size 0: %d buf untouched: %s\n", r, buf[0] == 'Z' ? "yes" : "no");
	r = snprintf(NULL, 0, "%d-%s", -77, "abc");
	printf("snprintf NULL 0: %d\n", r);
	r = snprintf(buf, 1, "abc");
	printf("snprintf size 1: %d \"%s\"\n", r, buf);
	char big[400];
	r = snprintf(big, sizeof big, "%0*d", 350, 5);
	printf("snprintf long: %d %zu\n", r, strlen(big));
	r = sprintf(big, "%s|%d|%.2f|%c", "x", 1, 2.5, 'q');
	printf("sprintf: %d \"%s\"\n", r, big);
}

/* printf("...") goes to stdio's buffer; direct() goes straight to fd 1. */
static void interleaving(void)
{
	/* Full buffering (stdout is a pipe): the direct write overtakes. */
	printf("1 buffered line A\n");
	printf("2 buffered line B\n");
	direct("3 direct write (appears before A and B)\n");
	fflush(stdout);
	direct("4 direct write after fflush\n");

	/* Enough output to overflow the buffer: the direct markers show where
	 * stdio flushed. */
	for (int i = 0; i < 200; i++) {
		printf("fill %03d ........................................\n", i);
		if (i % 25 == 24) {
			char m[64];
			snprintf(m, sizeof m, "marker after fill %03d\n", i);
			direct(m);
		}
	}
	fflush(stdout);

	/* A line-buffered stream on the same pipe. */
	FILE *lb = fdopen(dup(1), "w");
	setvbuf(lb, NULL, _IOLBF, 0);
	fprintf(lb, "5 line-buffered line\n");
	direct("6 direct after a complete line\n");
	fprintf(lb, "7 partial line ");
	direct("8 direct while the partial line waits\n");
	fprintf(lb, "completed\n");
	fclose(lb);

	/* An unbuffered stream. */
	FILE *nb = fdopen(dup(1), "w");
	setvbuf(nb, NULL, _IONBF, 0);
	fprintf(nb, "9 unbuffered ");
	direct("10 direct\n");
	fprintf(nb, "11 unbuffered line\n");
	fclose(nb);

	/* A small user-supplied buffer. */
	static char small[16];
	FILE *sb = fdopen(dup(1), "w");
	setvbuf(sb, small, _IOFBF, sizeof small);
	fprintf(sb, "12 small buf");
	direct("<13 direct>");
	fprintf(sb, " and more text beyond sixteen bytes");
	direct("<14 direct>");
	fprintf(sb, "\n");
	fclose(sb);
	direct("\n");

	/* stderr is unbuffered; stdout stays buffered. */
	fputs("stderr: line one\n", stderr);
	fprintf(stderr, "stderr: %d %s\n", 2, "two");
	(void)!write(2, "stderr: direct\n", 15);
	fputc('!', stderr);
	fputc('\n', stderr);

	puts("15 puts adds a newline");
	fputs("16 fputs does not", stdout);
	putchar('\n');
	fputc('1', stdout);
	putc('7', stdout);
	putchar('\n');
	printf("18 still buffered at the end of interleaving\n");
	direct("19 direct (before 15..18)\n");
	fflush(NULL);
}

static int vsn(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}

int main(void)
{
	/* First of all, before stdout is used: the buffering libc chose. */
	interleaving();
	integers();
	floats();
	strings();
	snprintf_rules();
	char buf[32];
	int r = vsn(buf, sizeof buf, "%s %d %.1f", "vsnprintf", 7, 0.25);
	printf("%d \"%s\"\n", r, buf);
	fflush(stdout);
	printf("ferror(stdout): %d\n", ferror(stdout));
	printf("fileno(stdout): %d fileno(stderr): %d\n", fileno(stdout), fileno(stderr));
	/* Left in the buffer: exit (returning from main) must flush it. */
	printf("last line, flushed by exit");
	return 0;
}
