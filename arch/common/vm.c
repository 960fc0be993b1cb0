/* The kernel address space, shared by both architectures: direct map of
 * RAM, kernel image permissions, device window, and the translations the
 * DMA code relies on. */
#include <arch/dma.h>
#include <arch/vm.h>
#include <lib/log.h>

#include "arch_common.h"
#include "pgtable.h"

extern char kernel_image_start[], kernel_text_end[], kernel_rodata_end[],
    kernel_image_end[];

static uint64_t *kernel_root;
static struct arch_mem_range direct_ranges[8];
static size_t direct_count;

static paddr_t kva_to_pa(const char *p) {
  return (paddr_t)((uintptr_t)p - ARCH_DIRECT_MAP_BASE);
}

void arch_kernel_extent(paddr_t *start, paddr_t *end) {
  *start = kva_to_pa(kernel_image_start);
  *end = kva_to_pa(kernel_image_end);
}

static rl_status map_direct(paddr_t start, paddr_t end, enum pt_prot prot) {
  if (end <= start) {
    return RL_OK;
  }
  return pt_map(kernel_root, ARCH_DIRECT_MAP_BASE + start, start, end - start,
                prot);
}

rl_status arch_vm_init(const struct arch_mem_range *ram, size_t count) {
  paddr_t root_pa;
  rl_status st = pt_alloc_table(&kernel_root, &root_pa);
  if (st != RL_OK) {
    return st;
  }
  paddr_t kstart, kend;
  arch_kernel_extent(&kstart, &kend);
  for (size_t i = 0; i < count; i++) {
    paddr_t start = RL_ALIGN_UP(ram[i].start, RL_PAGE_SIZE);
    paddr_t end = RL_ALIGN_DOWN(ram[i].start + ram[i].size, RL_PAGE_SIZE);
    if (end <= start || end > ARCH_DIRECT_MAP_SIZE) {
      continue; /* beyond what the direct map can hold */
    }
    if (direct_count == RL_ARRAY_SIZE(direct_ranges)) {
      return RL_ERR_NO_SPACE;
    }
    direct_ranges[direct_count].start = start;
    direct_ranges[direct_count].size = end - start;
    direct_count++;
    /* RAM around the kernel image: read/write, never executed. */
    st = map_direct(start, RL_MIN(end, kstart), PT_KERNEL_RW);
    if (st == RL_OK) {
      st = map_direct(RL_MAX(start, kend), end, PT_KERNEL_RW);
    }
    if (st != RL_OK) {
      return st;
    }
  }
  /* The image itself: text RX, rodata RO, data and bss RW. */
  st = map_direct(kstart, kva_to_pa(kernel_text_end), PT_KERNEL_RX);
  if (st == RL_OK) {
    st = map_direct(kva_to_pa(kernel_text_end), kva_to_pa(kernel_rodata_end),
                    PT_KERNEL_RO);
  }
  if (st == RL_OK) {
    st = map_direct(kva_to_pa(kernel_rodata_end), kend, PT_KERNEL_RW);
  }
  if (st == RL_OK) {
    /* Keep the early console usable across the switch. */
    paddr_t uart = RL_ALIGN_DOWN(arch_early_console_pa(), RL_PAGE_SIZE);
    st = pt_map(kernel_root, ARCH_DEVICE_BASE + uart, uart, RL_PAGE_SIZE,
                PT_DEVICE);
  }
  if (st != RL_OK) {
    return st;
  }
  arch_pt_activate(root_pa);
  return RL_OK;
}

/* Device addresses below ARCH_DEVICE_LOW_SIZE appear at a fixed offset
 * in the device window; higher ones (aarch64 virt's PCI ECAM at 256 GiB
 * and its 64-bit window at 512 GiB) get the next free range of the
 * window's upper part, in mapping order. */
static uint64_t high_next = ARCH_DEVICE_LOW_SIZE;

static rl_status map_device(uint64_t va, paddr_t start, paddr_t end) {
  rl_status st = pt_map(kernel_root, va, start, end - start, PT_DEVICE);
  if (st == RL_OK) {
    arch_pt_sync();
  }
  return st;
}

rl_status arch_ioremap(paddr_t pa, uint64_t size, volatile void **out) {
  if (size == 0 || pa + size < pa) {
    return RL_ERR_OUT_OF_RANGE;
  }
  paddr_t start = RL_ALIGN_DOWN(pa, RL_PAGE_SIZE);
  paddr_t end = RL_ALIGN_UP(pa + size, RL_PAGE_SIZE);
  if (pa >= ARCH_DEVICE_LOW_SIZE || size > ARCH_DEVICE_LOW_SIZE - pa) {
    if (kernel_root == NULL || end - start > ARCH_DEVICE_SIZE - high_next) {
      return RL_ERR_OUT_OF_RANGE;
    }
    uint64_t va = ARCH_DEVICE_BASE + high_next;
    rl_status st = map_device(va, start, end);
    if (st != RL_OK) {
      return st;
    }
    high_next += end - start;
    *out = (volatile void *)(uintptr_t)(va + (pa - start));
    return RL_OK;
  }
  if (kernel_root != NULL) {
    rl_status st = map_device(ARCH_DEVICE_BASE + start, start, end);
    if (st != RL_OK) {
      return st;
    }
  } else if (pa + size > ((uint64_t)1 << 30)) {
    return RL_ERR_OUT_OF_RANGE; /* the boot tables map gigabyte 0 only */
  }
  *out = (volatile void *)(uintptr_t)(ARCH_DEVICE_BASE + pa);
  return RL_OK;
}

rl_status arch_virt_to_phys_checked(const void *va, paddr_t *out) {
  uint64_t v = (uint64_t)(uintptr_t)va;
  if (v < ARCH_DIRECT_MAP_BASE ||
      v - ARCH_DIRECT_MAP_BASE >= ARCH_DIRECT_MAP_SIZE) {
    return RL_ERR_OUT_OF_RANGE;
  }
  paddr_t pa = v - ARCH_DIRECT_MAP_BASE;
  for (size_t i = 0; i < direct_count; i++) {
    if (pa >= direct_ranges[i].start &&
        pa - direct_ranges[i].start < direct_ranges[i].size) {
      *out = pa;
      return RL_OK;
    }
  }
  return RL_ERR_OUT_OF_RANGE;
}

rl_status arch_phys_to_virt_checked(paddr_t pa, void **out) {
  for (size_t i = 0; i < direct_count; i++) {
    if (pa >= direct_ranges[i].start &&
        pa - direct_ranges[i].start < direct_ranges[i].size) {
      *out = (void *)(uintptr_t)(pa + ARCH_DIRECT_MAP_BASE);
      return RL_OK;
    }
  }
  return RL_ERR_OUT_OF_RANGE;
}

paddr_t arch_virt_to_phys(const void *va) {
  paddr_t pa = 0;
  if (arch_virt_to_phys_checked(va, &pa) != RL_OK) {
    panic("virt_to_phys: %p is outside the direct map", va);
  }
  return pa;
}

void *arch_phys_to_virt(paddr_t pa) {
  void *va = NULL;
  if (arch_phys_to_virt_checked(pa, &va) != RL_OK) {
    panic("phys_to_virt: %#llx is outside the direct map",
          (unsigned long long)pa);
  }
  return va;
}
