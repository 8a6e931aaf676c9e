/*
 * memfd seals: F_ADD_SEALS/F_GET_SEALS, MFD_ALLOW_SEALING and
 * MFD_NOEXEC_SEAL, and what each seal refuses: write, pwrite, shared
 * writable mmap, mprotect to writable, hole punching, ftruncate, writes
 * past the end; EBUSY for F_SEAL_WRITE while a shared writable mapping
 * exists; F_SEAL_FUTURE_WRITE leaving existing mappings writable.
 */
#include "abi.h"

#include <fcntl.h>
#include <sys/mman.h>
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x20
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 8
#endif

int main(void)
{
	abi_line_buffered();
	int a=memfd_create("a",0);
	CHECK("get seals, not sealable", fcntl(a,F_GET_SEALS));
	CHECK("add seal, not sealable", fcntl(a,F_ADD_SEALS,F_SEAL_WRITE));
	int s=memfd_create("s",MFD_ALLOW_SEALING);
	CHECK("get seals sealable", fcntl(s,F_GET_SEALS));
	CHECK("ftruncate", ftruncate(s,8192));
	char *w=mmap(0,8192,PROT_READ|PROT_WRITE,MAP_SHARED,s,0);
	CHECK("add write seal with a writable mapping", fcntl(s,F_ADD_SEALS,F_SEAL_WRITE));
	munmap(w,8192);
	CHECK("add write seal", fcntl(s,F_ADD_SEALS,F_SEAL_WRITE));
	CHECK("get", fcntl(s,F_GET_SEALS));
	CHECK("write", write(s,"x",1));
	CHECK("pwrite", pwrite(s,"x",1,0));
	CHECK("mmap shared rw", (long)mmap(0,4096,PROT_READ|PROT_WRITE,MAP_SHARED,s,0));
	char *ro=mmap(0,4096,PROT_READ,MAP_SHARED,s,0);
	CHECK("mmap shared ro ok", ro==MAP_FAILED?-1:0);
	CHECK("mprotect it rw", mprotect(ro,4096,PROT_READ|PROT_WRITE));
	char *pv=mmap(0,4096,PROT_READ|PROT_WRITE,MAP_PRIVATE,s,0);
	CHECK("mmap private rw ok", pv==MAP_FAILED?-1:0);
	pv[0]=1;
	CHECK("punch hole", fallocate(s,FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE,0,4096));
	CHECK("ftruncate shrink (no shrink seal)", ftruncate(s,4096));
	CHECK("ftruncate grow", ftruncate(s,16384));
	CHECK("add shrink|grow", fcntl(s,F_ADD_SEALS,F_SEAL_SHRINK|F_SEAL_GROW));
	CHECK("shrink", ftruncate(s,4096));
	CHECK("grow", ftruncate(s,65536));
	CHECK("same size", ftruncate(s,16384));
	CHECK("add bad bits", fcntl(s,F_ADD_SEALS,0x100));
	CHECK("add seal seal", fcntl(s,F_ADD_SEALS,F_SEAL_SEAL));
	CHECK("add after seal", fcntl(s,F_ADD_SEALS,F_SEAL_GROW));
	CHECK("get", fcntl(s,F_GET_SEALS));
	int g=memfd_create("g",MFD_ALLOW_SEALING);
	ftruncate(g,4096);
	CHECK("add grow", fcntl(g,F_ADD_SEALS,F_SEAL_GROW));
	CHECK("write within", pwrite(g,"abcd",4,4090));
	CHECK("write past end", pwrite(g,"abcd",4,4096));
	int f=memfd_create("f",MFD_ALLOW_SEALING);
	ftruncate(f,4096);
	char*fw=mmap(0,4096,PROT_READ|PROT_WRITE,MAP_SHARED,f,0);
	CHECK("add future write with a writable mapping", fcntl(f,F_ADD_SEALS,F_SEAL_FUTURE_WRITE));
	fw[0]=5;
	CHECK("existing mapping still writes", fw[0]);
	CHECK("write after future write", write(f,"x",1));
	CHECK("new shared rw mmap", (long)mmap(0,4096,PROT_READ|PROT_WRITE,MAP_SHARED,f,0));
	int e=memfd_create("e",MFD_ALLOW_SEALING);
	CHECK("add exec seal", fcntl(e,F_ADD_SEALS,F_SEAL_EXEC));
	CHECK("get", fcntl(e,F_GET_SEALS));
	int n=memfd_create("n",MFD_NOEXEC_SEAL);
	CHECK("noexec_seal get", fcntl(n,F_GET_SEALS));
	CHECK("F_GET_SEALS of stdout", fcntl(1,F_GET_SEALS));
	CHECK("F_ADD_SEALS of stdout", fcntl(1,F_ADD_SEALS,F_SEAL_WRITE));
	return 0;
}
