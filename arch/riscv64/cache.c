/* Cache maintenance on riscv64: Zicbom (cbo.clean / cbo.inval /
 * cbo.flush) when the device tree's riscv,isa lists it, with the block
 * size from riscv,cbom-block-size; otherwise a documented no-op: without
 * Zicbom the ISA has no cache maintenance, and QEMU 7.2 neither models
 * caches nor offers Zicbom. */
#include <arch/cache.h>
#include <arch/common/arch_common.h>
#include <lib/log.h>
#include <string.h>

static bool have_zicbom;
static uintptr_t block = 64;

size_t arch_cache_writeback_granule(void) {
  return block < 64 ? 64 : (size_t)block;
}

static bool isa_has(const char *isa, const char *ext) {
  /* Multi-letter extensions follow '_' (e.g. rv64imafdc_zicbom_zicsr). */
  size_t n = strlen(ext);
  for (const char *p = isa; (p = strchr(p, '_')) != NULL;) {
    p++;
    if (strncmp(p, ext, n) == 0 && (p[n] == '_' || p[n] == '\0')) {
      return true;
    }
  }
  return false;
}

/* The info line (klog_later: none is formatted before the first picture). */
static void log_cache(const void *ctx) {
  (void)ctx;
  klog(LOG_INFO, "cache: %s\n",
       have_zicbom ? "Zicbom block operations"
                   : "no Zicbom: cache maintenance is a no-op");
}

rl_status arch_cache_init(const struct fdt *fdt) {
  int cpu;
  const char *isa;
  if (fdt_path(fdt, "/cpus/cpu@0", &cpu) != RL_OK ||
      fdt_get_str(fdt, cpu, "riscv,isa", &isa) != RL_OK) {
    return RL_OK;
  }
  have_zicbom = isa_has(isa, "zicbom");
  uint32_t size;
  if (have_zicbom &&
      fdt_get_u32(fdt, cpu, "riscv,cbom-block-size", &size) == RL_OK &&
      size >= 16 && (size & (size - 1)) == 0) {
    block = size;
  }
  klog_later(log_cache, NULL);
  return RL_OK;
}

/* cbo.* are I-type encodings with funct12 0 (inval), 1 (clean), 2 (flush),
 * opcode MISC-MEM, funct3 2 (Zicbom spec §2.5). */
#define CBO(op, p)                                                             \
  __asm__ volatile(".insn i 0x0f, 2, x0, %0, " #op ::"r"(p) : "memory")

#define CACHE_OP(name, op)                                                     \
  void name(const void *va, size_t len) {                                      \
    if (!have_zicbom) {                                                        \
      return;                                                                  \
    }                                                                          \
    uintptr_t p = (uintptr_t)va & ~(block - 1);                                \
    for (; p < (uintptr_t)va + len; p += block) {                              \
      CBO(op, p);                                                              \
    }                                                                          \
    __asm__ volatile("fence rw, rw" ::: "memory");                             \
  }

CACHE_OP(arch_cache_invalidate, 0)
CACHE_OP(arch_cache_clean, 1)
CACHE_OP(arch_cache_clean_invalidate, 2)
