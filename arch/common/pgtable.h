/* Three-level page tables shared by aarch64 (39-bit VA, 4 KiB granule) and
 * riscv64 (Sv39): 1 GiB, 2 MiB and 4 KiB leaves, 512 entries a table.
 * The walk is here; each architecture encodes its entries. */
#ifndef ARCH_COMMON_PGTABLE_H
#define ARCH_COMMON_PGTABLE_H

#include <ringlight/status.h>
#include <ringlight/types.h>

enum pt_prot {
  PT_KERNEL_RW, /* normal memory, read/write, never executed */
  PT_KERNEL_RX, /* normal memory, read/execute */
  PT_KERNEL_RO, /* normal memory, read only */
  PT_DEVICE,    /* device registers: uncached, ordered, never executed */
};

/* Architecture hooks (arch/<arch>/mmu.c). level: 1 = 1 GiB, 2 = 2 MiB,
 * 3 = 4 KiB. */
uint64_t arch_pt_leaf(paddr_t pa, int level, enum pt_prot prot);
uint64_t arch_pt_table(paddr_t table_pa);
bool arch_pt_is_valid(uint64_t pte);
bool arch_pt_is_table(uint64_t pte, int level);
paddr_t arch_pt_addr(uint64_t pte);
/* Makes new entries visible to the table walker (after pt_map). */
void arch_pt_sync(void);
/* Switches to `root_pa` and drops the boot identity map. */
void arch_pt_activate(paddr_t root_pa);

/* A zeroed table page from the kernel's static pool. */
rl_status pt_alloc_table(uint64_t **table, paddr_t *pa);

/* Maps [va, va+size) to [pa, pa+size), all page aligned, with the largest
 * leaves alignment allows. Pages already mapped to the same place with
 * the same entry are accepted; anything else mapped there is RL_ERR_BUSY. */
rl_status pt_map(uint64_t *root, uint64_t va, paddr_t pa, uint64_t size,
                 enum pt_prot prot);

#endif
