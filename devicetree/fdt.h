/* A bounds-checked reader of flattened device trees (devicetree spec 0.4
 * §5). Portable C, no allocation: used by the kernel at boot and by host
 * tests. Every offset and length in the blob is checked before use; a
 * malformed blob gives RL_ERR_BAD_FORMAT, never an out-of-bounds read or a
 * loop that does not end.
 *
 * Nodes are named by their offset in the structure block (like libfdt), so
 * results can be cross-checked against libfdt on the host. */
#ifndef DEVICETREE_FDT_H
#define DEVICETREE_FDT_H

#include <ringlight/status.h>
#include <ringlight/types.h>

/* Nodes nest at most this deep (the root is level 1). */
#define FDT_MAX_DEPTH 32
/* Phandles fdt_open remembers (struct fdt). */
#define FDT_PHANDLE_CACHE 16
/* Nodes whose place in the tree fdt_open remembers (struct fdt); QEMU's
 * virt trees have 30 to 60. */
#define FDT_NODE_CACHE 64

struct fdt {
  const uint8_t *blob;
  uint32_t size;        /* totalsize, checked against the caller's limit */
  uint32_t struct_off;  /* off_dt_struct */
  uint32_t struct_size; /* size_dt_struct */
  uint32_t strings_off; /* off_dt_strings */
  uint32_t strings_size;
  uint32_t rsvmap_off; /* off_mem_rsvmap */
  /* The strings block ends in a NUL (§5.5: it is a list of terminated
   * strings), so every name offset inside it is a terminated string and
   * reading a property need not look for the end of its name. */
  bool strings_closed;
  /* The first FDT_PHANDLE_CACHE nodes with a phandle, in tree order,
   * found once by fdt_open: fdt_find_phandle answers from them instead of
   * a pass over the block (every interrupt lookup needs one; 65 passes
   * were most of the boot's device tree time). `phandle_more`: the tree
   * has more, so a phandle not cached is still searched for. */
  bool phandle_ready, phandle_more;
  uint32_t phandle_count;
  struct {
    uint32_t phandle;
    int node;
  } phandle_cache[FDT_PHANDLE_CACHE];
  /* The first FDT_NODE_CACHE nodes in tree order with their parent's
   * index (-1 for the root), found by the same pass: finding a node's
   * parents (every reg, interrupt and walk with a depth needs them) is a
   * binary search instead of a walk from the start. `node_more`: the
   * tree has more, found by that walk. */
  bool node_ready, node_more;
  uint32_t node_count;
  struct {
    int node;
    int parent;
  } node_cache[FDT_NODE_CACHE];
};

struct fdt_prop {
  const char *name;
  const void *data; /* big-endian cells, not aligned for the host */
  uint32_t len;
};

/* Validates the header and the structure block (tokens, nesting, name and
 * string termination, property bounds) in one bounded pass. `limit` is how
 * many bytes are readable at `blob`. */
rl_status fdt_open(struct fdt *fdt, const void *blob, size_t limit);

/* Root node offset (a negative rl_status if `fdt` is not open). */
int fdt_root(const struct fdt *fdt);

/* Depth-first walk: the node after `node` (any depth) in document order,
 * with its depth relative to the root (root = 0; `depth` may be NULL).
 * Returns RL_ERR_NOT_FOUND at the end. Start with node = fdt_root() to get
 * its first descendant. (Not fdt_next_node: libfdt exports that name.) */
rl_status fdt_walk_next(const struct fdt *fdt, int node, int *next, int *depth);

/* First child / next sibling; RL_ERR_NOT_FOUND when none. */
rl_status fdt_first_child(const struct fdt *fdt, int node, int *child);
rl_status fdt_next_sibling(const struct fdt *fdt, int node, int *sibling);
/* Parent (RL_ERR_NOT_FOUND for the root). */
rl_status fdt_parent(const struct fdt *fdt, int node, int *parent);

/* Node name including the unit address ("virtio_mmio@a000000"); "" for
 * the root; NULL when `node` is not a node offset. */
const char *fdt_node_name(const struct fdt *fdt, int node);

/* Finds a node by absolute path ("/cpus", "/soc/plic@c000000"). */
rl_status fdt_path(const struct fdt *fdt, const char *path, int *node);

/* Properties of a node: iterate with an index from 0. */
rl_status fdt_prop_at(const struct fdt *fdt, int node, unsigned index,
                      struct fdt_prop *prop);
rl_status fdt_get_prop(const struct fdt *fdt, int node, const char *name,
                       struct fdt_prop *prop);

/* Typed property helpers. */
rl_status fdt_get_u32(const struct fdt *fdt, int node, const char *name,
                      uint32_t *value);
/* A NUL-terminated string property (first string of a list).
 * (Not fdt_get_string: libfdt exports that name.) */
rl_status fdt_get_str(const struct fdt *fdt, int node, const char *name,
                      const char **value);
bool fdt_has_prop(const struct fdt *fdt, int node, const char *name);
/* True when the node's "compatible" string list contains `compat`. */
bool fdt_is_compatible(const struct fdt *fdt, int node, const char *compat);
/* Next node after `from` (-1: from the start) that is compatible. */
rl_status fdt_find_compatible(const struct fdt *fdt, int from,
                              const char *compat, int *node);
/* First node whose phandle is `phandle`: its "phandle" property, or
 * "linux,phandle" when "phandle" is absent or not one cell. */
rl_status fdt_find_phandle(const struct fdt *fdt, uint32_t phandle, int *node);
/* "status" absent, "okay" or "ok". */
bool fdt_node_enabled(const struct fdt *fdt, int node);
/* The node's DMA coherence, as Linux's of_dma_is_coherent: dma-coherent
 * or dma-noncoherent on the node, else `arch_default` (the
 * architecture's: CONFIG_ARCH_DMA_COHERENT_DEFAULT). */
bool fdt_dma_coherent(const struct fdt *fdt, int node, bool arch_default);

/* #address-cells / #size-cells that apply to `node`'s reg (read from its
 * parent; defaults 2 and 1 per the spec, also for the root). Values above
 * 2 are RL_ERR_NOT_SUPPORTED. */
rl_status fdt_reg_cells(const struct fdt *fdt, int node, uint32_t *addr_cells,
                        uint32_t *size_cells);
/* The index-th (address, size) pair of "reg". */
rl_status fdt_get_reg(const struct fdt *fdt, int node, unsigned index,
                      uint64_t *addr, uint64_t *size);

/* The interrupt parent of `node` (interrupt-parent walked up the tree,
 * bounded: a loop is RL_ERR_BAD_FORMAT) and its #interrupt-cells. A target
 * without #interrupt-cells is followed on to its own interrupt parent;
 * a phandle that names no node is RL_ERR_BAD_FORMAT. */
rl_status fdt_interrupt_parent(const struct fdt *fdt, int node, int *parent,
                               uint32_t *cells);
/* The index-th specifier of "interrupts": its cells copied into `cells`
 * (host order), the count in *ncells. RL_ERR_NO_SPACE (nothing copied,
 * *ncells set) when the specifier has more than `max` cells. */
rl_status fdt_get_interrupt(const struct fdt *fdt, int node, unsigned index,
                            uint32_t *cells, size_t max, size_t *ncells);

/* Memory reservation block entries (address, size), index from 0. */
rl_status fdt_mem_rsv(const struct fdt *fdt, unsigned index, uint64_t *addr,
                      uint64_t *size);

/* Reads a big-endian 32-bit cell from unaligned memory. */
static inline uint32_t fdt_be32(const void *p) {
  const uint8_t *b = (const uint8_t *)p;
  return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
         ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}

#endif
