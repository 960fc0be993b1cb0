/* riscv64 traps: supervisor timer and external interrupts are dispatched;
 * any exception is reported (cause, PC, faulting address, registers) and
 * ends the run with a failure status. */
#include <lib/log.h>

#include "riscv.h"

struct frame {
  uint64_t x[32]; /* x[0] unused */
  uint64_t sepc;
  uint64_t sstatus;
};
_Static_assert(sizeof(struct frame) == (size_t)34 * 8, "matches trap.S");

void riscv_trap(struct frame *f);

static const char *cause_name(unsigned long code) {
  static const char *const names[] = {
      "instruction address misaligned",
      "instruction access fault",
      "illegal instruction",
      "breakpoint",
      "load address misaligned",
      "load access fault",
      "store address misaligned",
      "store access fault",
      "environment call from U-mode",
      "environment call from S-mode",
      "reserved",
      "reserved",
      "instruction page fault",
      "load page fault",
      "reserved",
      "store page fault",
  };
  return code < RL_ARRAY_SIZE(names) ? names[code] : "other";
}

static const char *const reg_names[32] = {
    "zero", "ra", "sp", "gp", "tp",  "t0",  "t1", "t2", "s0", "s1", "a0",
    "a1",   "a2", "a3", "a4", "a5",  "a6",  "a7", "s2", "s3", "s4", "s5",
    "s6",   "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"};

void riscv_trap(struct frame *f) {
  unsigned long scause = csr_read(scause);
  unsigned long code = scause & ~(1ul << 63);
  if (scause >> 63) {
    if (code == 5) {
      riscv_timer_interrupt();
      return;
    }
    if (code == 9) {
      riscv_external_dispatch();
      return;
    }
    panic("unexpected interrupt, scause %#lx", scause);
  }
  unsigned long stval = csr_read(stval);
  kprintf("\n*** EXCEPTION: %s\n", cause_name(code));
  kprintf("scause 0x%016lx  PC (sepc) 0x%016llx  stval 0x%016lx  sstatus "
          "%#llx\n",
          scause, (unsigned long long)f->sepc, stval,
          (unsigned long long)f->sstatus);
  for (int i = 1; i < 32; i += 2) {
    if (i + 1 < 32) {
      kprintf("%-4s 0x%016llx  %-4s 0x%016llx\n", reg_names[i],
              (unsigned long long)f->x[i], reg_names[i + 1],
              (unsigned long long)f->x[i + 1]);
    } else {
      kprintf("%-4s 0x%016llx\n", reg_names[i], (unsigned long long)f->x[i]);
    }
  }
  panic("unhandled exception at PC %#llx", (unsigned long long)f->sepc);
}
