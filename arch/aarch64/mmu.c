/* aarch64 translation table entries (Arm ARM D8.3) for arch/common. */
#include <arch/common/pgtable.h>

#define DESC_VALID (1ull << 0)
#define DESC_TABLE (1ull << 1)  /* table at L1/L2, page at L3 */
#define ATTR_DEVICE (0ull << 2) /* MAIR index 0: Device-nGnRE */
#define ATTR_NORMAL (1ull << 2) /* MAIR index 1: Normal WB */
#define AP_RO (2ull << 6)       /* EL1 read-only */
#define SH_INNER (3ull << 8)
#define AF (1ull << 10)
#define PXN (1ull << 53)
#define UXN (1ull << 54)
#define ADDR_MASK 0x0000fffffffff000ull

uint64_t arch_pt_leaf(paddr_t pa, int level, enum pt_prot prot) {
  uint64_t d = (pa & ADDR_MASK) | DESC_VALID | AF | UXN;
  d |= level == 3 ? DESC_TABLE : 0; /* L3 page descriptors are 0b11 */
  switch (prot) {
  case PT_KERNEL_RX:
    return d | ATTR_NORMAL | SH_INNER | AP_RO;
  case PT_KERNEL_RO:
    return d | ATTR_NORMAL | SH_INNER | AP_RO | PXN;
  case PT_DEVICE:
    return d | ATTR_DEVICE | PXN;
  case PT_KERNEL_RW:
  default:
    return d | ATTR_NORMAL | SH_INNER | PXN;
  }
}

uint64_t arch_pt_table(paddr_t table_pa) {
  return (table_pa & ADDR_MASK) | DESC_VALID | DESC_TABLE;
}

bool arch_pt_is_valid(uint64_t pte) { return (pte & DESC_VALID) != 0; }

bool arch_pt_is_table(uint64_t pte, int level) {
  return level < 3 && (pte & 3) == 3;
}

paddr_t arch_pt_addr(uint64_t pte) { return pte & ADDR_MASK; }

void arch_pt_sync(void) { __asm__ volatile("dsb ishst\n isb" ::: "memory"); }

void arch_pt_activate(paddr_t root_pa) {
  uint64_t tcr;
  __asm__ volatile("dsb ishst" ::: "memory");
  __asm__ volatile("msr ttbr1_el1, %0" ::"r"(root_pa) : "memory");
  /* TCR_EL1.EPD0: no more walks through TTBR0, the identity map is gone
   * and a stray low address faults. */
  __asm__ volatile("mrs %0, tcr_el1" : "=r"(tcr));
  tcr |= 1ull << 7;
  __asm__ volatile(
      "msr tcr_el1, %0\n isb\n tlbi vmalle1\n dsb ish\n isb" ::"r"(tcr)
      : "memory");
}
