/* Sv39 page table entries (RISC-V privileged spec §4.4) for arch/common.
 * Without Svpbmt, device memory is told apart by the platform's PMAs, so
 * device and normal RW entries differ only in execute permission. */
#include <arch/common/pgtable.h>

#include "riscv.h"

#define PTE_V (1ull << 0)
#define PTE_R (1ull << 1)
#define PTE_W (1ull << 2)
#define PTE_X (1ull << 3)
#define PTE_G (1ull << 5)
#define PTE_A (1ull << 6)
#define PTE_D (1ull << 7)
#define PPN_MASK 0x003ffffffffffc00ull

uint64_t arch_pt_leaf(paddr_t pa, int level, enum pt_prot prot) {
  (void)level;
  uint64_t pte = ((pa >> 12) << 10) | PTE_V | PTE_G | PTE_A | PTE_D | PTE_R;
  switch (prot) {
  case PT_KERNEL_RX:
    return pte | PTE_X;
  case PT_KERNEL_RO:
    return pte;
  case PT_DEVICE:
  case PT_KERNEL_RW:
  default:
    return pte | PTE_W;
  }
}

uint64_t arch_pt_table(paddr_t table_pa) {
  return ((table_pa >> 12) << 10) | PTE_V;
}

bool arch_pt_is_valid(uint64_t pte) { return (pte & PTE_V) != 0; }

bool arch_pt_is_table(uint64_t pte, int level) {
  return level < 3 && (pte & (PTE_R | PTE_W | PTE_X)) == 0;
}

paddr_t arch_pt_addr(uint64_t pte) { return ((pte & PPN_MASK) >> 10) << 12; }

void arch_pt_sync(void) { __asm__ volatile("sfence.vma" ::: "memory"); }

void arch_pt_activate(paddr_t root_pa) {
  /* The new root has no identity map: the boot one is gone. */
  __asm__ volatile("sfence.vma" ::: "memory");
  csr_write(satp, (8ul << 60) | (root_pa >> 12));
  __asm__ volatile("sfence.vma" ::: "memory");
}
