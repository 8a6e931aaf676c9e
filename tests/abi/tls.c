/* Thread-local storage of the main thread as the static libc sets it up from
 * the program's PT_TLS header (found through AT_PHDR) and ARCH_SET_FS:
 * initialised and zero-initialised __thread/_Thread_local variables, a large
 * (1 MiB) TLS array, an over-aligned one, the TCB self-pointer at %fs:0,
 * addresses relative to the thread pointer and to the image, errno as
 * thread-local storage, and fork copying TLS.
 */
#include "abi.h"

#include <elf.h>
#include <link.h>
#include <sys/auxv.h>

#ifndef ARCH_GET_FS
#define ARCH_GET_FS 0x1003
#endif

extern const ElfW(Ehdr) __ehdr_start;
extern char _end[];

__thread int t_init = 1234567;
__thread long t_zero;
_Thread_local int t_array[256] = {1, 2, 3, [255] = 255};
_Thread_local unsigned char t_big[1 << 20];
_Thread_local _Alignas(64) char t_aligned[64] = "over-aligned";
__thread const char *t_str = "thread string";

int g_init = 42;
long g_zero;

static uintptr_t thread_pointer(void)
{
	uintptr_t tp;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
	return tp;
}

static const ElfW(Phdr) *find_phdr(unsigned type)
{
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	for (unsigned long i = 0; ph && i < getauxval(AT_PHNUM); i++)
		if (ph[i].p_type == type)
			return &ph[i];
	return NULL;
}

/* The run-time address of link-time address VADDR. */
static uintptr_t runtime(uintptr_t vaddr)
{
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
	for (unsigned long i = 0; ph && i < getauxval(AT_PHNUM); i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0)
			return vaddr - ph[i].p_vaddr + (uintptr_t)&__ehdr_start;
	return 0;
}

static int child_changes_tls(void)
{
	t_init = 1000;
	t_array[1] = 77;
	printf("child: t_init %d, t_array[1] %d\n", t_init, t_array[1]);
	return 0;
}

int main(void)
{
	abi_line_buffered();
	printf("t_init: %d\n", t_init);
	printf("t_zero: %ld\n", t_zero);
	printf("t_array: %d %d %d %d %d\n", t_array[0], t_array[1], t_array[2], t_array[3], t_array[255]);
	printf("t_aligned: \"%s\"\n", t_aligned);
	printf("t_str: \"%s\"\n", t_str);
	int zero = 1;
	for (size_t i = 0; i < sizeof t_big; i++)
		zero &= t_big[i] == 0;
	SHOW("t_big (1 MiB of tbss) starts zero", zero);
	for (size_t i = 0; i < sizeof t_big; i++)
		t_big[i] = (unsigned char)(i * 13);
	unsigned long sum = 0;
	for (size_t i = 0; i < sizeof t_big; i++)
		sum += t_big[i];
	printf("t_big checksum after writing: %lu\n", sum);
	SHOW("t_aligned is 64-byte aligned", ((uintptr_t)t_aligned & 63) == 0);

	uintptr_t tp = thread_pointer();
	unsigned long fs = 0;
	long r = syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
	printf("arch_prctl(ARCH_GET_FS): %ld\n", r);
	SHOW("%fs:0 (the TCB self-pointer) is the FS base", fs == tp);

	const ElfW(Phdr) *tls = find_phdr(PT_TLS);
	SHOW("PT_TLS found through AT_PHDR", tls != NULL);
	if (tls) {
		printf("PT_TLS: filesz >= 1 KiB %s, memsz >= 1 MiB %s, align %lu\n",
		       tls->p_filesz >= 1024 ? "yes" : "no", tls->p_memsz >= (1u << 20) ? "yes" : "no",
		       (unsigned long)tls->p_align);
		uintptr_t lo = tp - tls->p_memsz - tls->p_align, hi = tp;
		uintptr_t a = (uintptr_t)&t_init, b = (uintptr_t)t_big, c = (uintptr_t)&t_zero;
		SHOW("TLS variables lie just below the thread pointer (variant II)",
		     a >= lo && a < hi && b >= lo && b < hi && c >= lo && c < hi);
		/* The initialisation image is a template: the thread's copy changes alone. */
		t_init = 43;
		uintptr_t image = runtime(tls->p_vaddr);
		int found = 0;
		for (size_t off = 0; image && off + sizeof(int) <= tls->p_filesz; off += sizeof(int))
			found |= *(const int *)(image + off) == 1234567;
		SHOW("the PT_TLS image still holds t_init's initial value after t_init = 43", found);
		printf("t_init now: %d\n", t_init);
		uintptr_t e = (uintptr_t)&errno;
		SHOW("errno lies in the thread's TLS block or TCB", e >= lo && e < tp + 4096);
	}
	SHOW("&t_init differs from &g_init", (void *)&t_init != (void *)&g_init);
	uintptr_t img_lo = (uintptr_t)&__ehdr_start, img_hi = (uintptr_t)_end;
	SHOW("the 1 MiB TLS block is outside the loaded image",
	     (uintptr_t)t_big >= img_hi || (uintptr_t)t_big + sizeof t_big <= img_lo);
	SHOW("globals are inside the loaded image",
	     (uintptr_t)&g_init >= img_lo && (uintptr_t)&g_zero < img_hi);

	errno = 0;
	close(-1);
	printf("errno after close(-1): %s\n", ename(errno));
	errno = 0;
	printf("errno reset: %d\n", errno);

	abi_in_child("child changing TLS", child_changes_tls);
	printf("parent after child: t_init %d, t_array[1] %d\n", t_init, t_array[1]);
	return 0;
}
