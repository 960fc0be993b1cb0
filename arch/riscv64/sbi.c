#include "riscv.h"

struct sbi_ret sbi_call(unsigned long ext, unsigned long fid, unsigned long a0,
                        unsigned long a1, unsigned long a2) {
  register unsigned long r0 __asm__("a0") = a0;
  register unsigned long r1 __asm__("a1") = a1;
  register unsigned long r2 __asm__("a2") = a2;
  register unsigned long r6 __asm__("a6") = fid;
  register unsigned long r7 __asm__("a7") = ext;
  __asm__ volatile("ecall"
                   : "+r"(r0), "+r"(r1)
                   : "r"(r2), "r"(r6), "r"(r7)
                   : "memory");
  struct sbi_ret ret = {(long)r0, (long)r1};
  return ret;
}
