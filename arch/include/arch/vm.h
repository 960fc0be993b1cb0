/* Kernel address space (contract). Both architectures use three-level
 * tables with 4 KiB pages and a 39-bit upper half:
 *
 *   0xffffffc000000000 + pa   direct map of RAM (normal memory); the kernel
 *                             image is linked inside it
 *   0xffffffe000000000 + pa   device window (device memory), mapped on
 *                             demand by arch_ioremap: devices below
 *                             64 GiB at this fixed offset, higher ones
 *                             (PCI on aarch64 virt) in the window's upper
 *                             half, in mapping order
 *
 * So no kernel virtual address equals its physical address. */
#ifndef ARCH_VM_H
#define ARCH_VM_H

#include <ringlight/status.h>
#include <ringlight/types.h>

#define ARCH_DIRECT_MAP_BASE 0xffffffc000000000ull
#define ARCH_DIRECT_MAP_SIZE 0x2000000000ull /* 128 GiB */
#define ARCH_DEVICE_BASE 0xffffffe000000000ull
#define ARCH_DEVICE_SIZE 0x2000000000ull
#define ARCH_DEVICE_LOW_SIZE 0x1000000000ull /* 64 GiB at a fixed offset */

struct arch_mem_range {
  paddr_t start;
  uint64_t size;
};

/* Builds the final tables: the direct map of `ram` (less nothing: holes
 * between ranges stay unmapped), the kernel image with per-section
 * permissions, and switches to them, dropping the boot identity map. */
rl_status arch_vm_init(const struct arch_mem_range *ram, size_t count);

/* Maps `size` bytes of device registers at `pa` as device memory and
 * returns the virtual address. */
rl_status arch_ioremap(paddr_t pa, uint64_t size, volatile void **out);

/* The kernel image's physical extent (for the page allocator). */
void arch_kernel_extent(paddr_t *start, paddr_t *end);

#endif
