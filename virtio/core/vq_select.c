/* The ring backends this build has, in the order Kconfig prefers them
 * (virtio/Kconfig, "Virtqueue backends"), and the walk that picks one. */
#include <lib/fmt.h>
#include <ringlight/config.h>

#include "vq_select.h"

extern const struct vq_backend_desc vq_split_desc;
extern const struct vq_backend_desc vq_packed_desc;

static const struct vq_backend_desc *const backends[] = {
#if defined(CONFIG_VIRTIO_QUEUE_SPLIT_ONLY)
    &vq_split_desc,
#elif defined(CONFIG_VIRTIO_QUEUE_PACKED_ONLY)
    &vq_packed_desc,
#elif defined(CONFIG_VIRTIO_QUEUE_BOTH_PREFER_SPLIT)
    &vq_split_desc,
    &vq_packed_desc,
#else /* CONFIG_VIRTIO_QUEUE_BOTH_PREFER_PACKED */
    &vq_packed_desc,
    &vq_split_desc,
#endif
};

#define NBACKENDS RL_ARRAY_SIZE(backends)

enum fit { FITS, NEEDS_MODERN, NOT_OFFERED };

static enum fit fit(const struct vq_backend_desc *b,
                    const struct virtio_device *dev, uint64_t offered) {
  if (b->needs_modern && dev->legacy) {
    return NEEDS_MODERN;
  }
  if (b->feature_bit >= 0 && (offered & VIRTIO_BIT(b->feature_bit)) == 0) {
    return NOT_OFFERED;
  }
  return FITS;
}

const struct vq_backend_desc *vq_select(const struct virtio_device *dev,
                                        uint64_t offered, char *why,
                                        size_t why_size) {
  for (size_t i = 0; i < NBACKENDS; i++) {
    const struct vq_backend_desc *b = backends[i];
    if (fit(b, dev, offered) != FITS) {
      continue;
    }
    if (b->feature_bit >= 0) {
      (void)rl_snprintf(why, why_size, "%s negotiated", b->feature_name);
    } else if (NBACKENDS == 1) {
      (void)rl_snprintf(why, why_size, "the only backend built");
    } else if (i == 0) {
      (void)rl_snprintf(why, why_size,
                        "preferred (CONFIG_VIRTIO_QUEUE_BOTH_PREFER_%s)",
                        b == &vq_split_desc ? "SPLIT" : "PACKED");
    } else {
      /* A fallback: say why the preferred one did not fit. */
      const struct vq_backend_desc *p = backends[0];
      (void)rl_snprintf(why, why_size,
                        fit(p, dev, offered) == NEEDS_MODERN
                            ? "legacy transport: no %s"
                            : "device does not offer %s",
                        p->feature_name);
    }
    return b;
  }
  /* None fits (only possible without the split ring). */
  const struct vq_backend_desc *b = backends[0];
  (void)rl_snprintf(
      why, why_size,
      "this build has only the %s ring, and the device %s "
      "VIRTIO_F_%s (bit %d)%s; choose a configuration with the split ring "
      "(menuconfig: Virtio > Virtqueue backends)",
      b->name, dev->legacy ? "cannot offer" : "does not offer", b->feature_name,
      b->feature_bit, dev->legacy ? " on the legacy transport" : "");
  return NULL;
}

uint32_t vq_select_size(const struct vq_backend_desc *desc, uint32_t size) {
  size = RL_MIN(size, desc->max_size);
  if (!desc->pow2_sizes) {
    return size;
  }
  /* §2.7: split queue sizes are powers of two. */
  uint32_t p = 1;
  while (p * 2 <= size) {
    p *= 2;
  }
  return p;
}
