/* GICv3 device tree node (see gicv3_dt.h). */
#include "gicv3_dt.h"

rl_status gicv3_dt_parse(const struct fdt *fdt, int node,
                         struct gicv3_dt *out) {
  struct gicv3_dt dt = {0};
  rl_status st = fdt_get_reg(fdt, node, 0, &dt.dist.pa, &dt.dist.size);
  if (st == RL_ERR_NOT_FOUND) {
    return RL_ERR_BAD_FORMAT; /* a GIC without a distributor */
  }
  if (st != RL_OK) {
    return st;
  }
  if (dt.dist.size < GICV3_DIST_SIZE) {
    return RL_ERR_BAD_FORMAT;
  }
  uint32_t n = 1; /* the binding's default */
  st = fdt_get_u32(fdt, node, "#redistributor-regions", &n);
  if (st != RL_OK && st != RL_ERR_NOT_FOUND) {
    return st;
  }
  if (n == 0) {
    return RL_ERR_BAD_FORMAT;
  }
  if (n > GICV3_MAX_REDIST_REGIONS) {
    return RL_ERR_OUT_OF_RANGE;
  }
  for (uint32_t i = 0; i < n; i++) {
    struct gicv3_region *r = &dt.redist[i];
    st = fdt_get_reg(fdt, node, 1 + i, &r->pa, &r->size);
    if (st == RL_ERR_NOT_FOUND) {
      return RL_ERR_BAD_FORMAT; /* fewer regions than announced */
    }
    if (st != RL_OK) {
      return st;
    }
    if (r->size < GICV3_REDIST_SIZE || r->pa + r->size < r->pa) {
      return RL_ERR_BAD_FORMAT;
    }
  }
  dt.nredist = n;
  struct fdt_prop prop;
  st = fdt_get_prop(fdt, node, "redistributor-stride", &prop);
  if (st == RL_OK) {
    if (prop.len != 8) {
      return RL_ERR_BAD_FORMAT;
    }
    const uint8_t *b = (const uint8_t *)prop.data;
    dt.stride = ((uint64_t)fdt_be32(b) << 32) | fdt_be32(b + 4);
    if (dt.stride < GICV3_REDIST_SIZE || dt.stride % GICV3_FRAME_SIZE != 0) {
      return RL_ERR_BAD_FORMAT;
    }
  } else if (st != RL_ERR_NOT_FOUND) {
    return st;
  }
  *out = dt;
  return RL_OK;
}
