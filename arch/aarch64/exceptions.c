/* aarch64 exception handling: IRQs go to the GIC dispatcher; anything
 * else is reported (cause, PC, fault address, registers) and ends the run
 * with a failure status. */
#include <arch/power.h>
#include <lib/log.h>

#include "aarch64.h"

struct frame {
  uint64_t x[31];
  uint64_t sp;
  uint64_t elr;
  uint64_t spsr;
};
_Static_assert(sizeof(struct frame) == (size_t)34 * 8, "matches vectors.S");

static const char *const kind_names[16] = {
    "sync (SP_EL0)",  "IRQ (SP_EL0)",  "FIQ (SP_EL0)",  "SError (SP_EL0)",
    "sync",           "IRQ",           "FIQ",           "SError",
    "sync (lower)",   "IRQ (lower)",   "FIQ (lower)",   "SError (lower)",
    "sync (lower32)", "IRQ (lower32)", "FIQ (lower32)", "SError (lower32)",
};

static const char *ec_name(unsigned ec) {
  switch (ec) {
  case 0x00:
    return "unknown reason (undefined instruction)";
  case 0x01:
    return "WFI/WFE trapped";
  case 0x0e:
    return "illegal execution state";
  case 0x15:
    return "SVC";
  case 0x16:
    return "HVC";
  case 0x17:
    return "SMC";
  case 0x18:
    return "MSR/MRS trapped";
  case 0x20:
  case 0x21:
    return "instruction abort";
  case 0x22:
    return "PC alignment fault";
  case 0x24:
  case 0x25:
    return "data abort";
  case 0x26:
    return "SP alignment fault";
  case 0x2f:
    return "SError";
  case 0x3c:
    return "BRK";
  default:
    return "other";
  }
}

void aarch64_exception(struct frame *f, uint64_t kind);

void aarch64_exception(struct frame *f, uint64_t kind) {
  if (kind == 5 || kind == 1) {
    aarch64_gic_dispatch();
    return;
  }
  if (aarch64_semihosting_trapped()) {
    /* SYS_EXIT trapped: QEMU runs without semihosting. */
    aarch64_psci_off();
  }
  uint64_t esr, far;
  __asm__ volatile("mrs %0, esr_el1" : "=r"(esr));
  __asm__ volatile("mrs %0, far_el1" : "=r"(far));
  unsigned ec = (unsigned)(esr >> 26) & 0x3f;
  kprintf("\n*** EXCEPTION: %s: %s\n", kind_names[kind & 15], ec_name(ec));
  kprintf("ESR_EL1 0x%016llx (EC %#x, ISS %#llx)\n", (unsigned long long)esr,
          ec, (unsigned long long)(esr & 0x1ffffff));
  kprintf("PC (ELR_EL1) 0x%016llx  FAR_EL1 0x%016llx  SPSR %#llx\n",
          (unsigned long long)f->elr, (unsigned long long)far,
          (unsigned long long)f->spsr);
  for (int i = 0; i < 31; i += 2) {
    if (i + 1 < 31) {
      kprintf("x%-2d 0x%016llx  x%-2d 0x%016llx\n", i,
              (unsigned long long)f->x[i], i + 1,
              (unsigned long long)f->x[i + 1]);
    } else {
      kprintf("x%-2d 0x%016llx  sp  0x%016llx\n", i,
              (unsigned long long)f->x[i], (unsigned long long)f->sp);
    }
  }
  panic("unhandled exception at PC %#llx", (unsigned long long)f->elr);
}
