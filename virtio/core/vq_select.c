/* The ring backends this build has, in the order Kconfig prefers them
 * (virtio/Kconfig, "Virtqueue backends"), and the walk that picks one. */
#include <lib/fmt.h>
#include <lib/log.h>
#include <ringlight/config.h>

#include "vq_select.h"

extern const struct vq_backend_desc vq_split_desc;
extern const struct vq_backend_desc vq_packed_desc;

#if !(defined(RINGLIGHT_KERNEL) && defined(CONFIG_VIRTIO_QUEUE_SPLIT_ONLY))
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
#endif

enum fit { FITS, NEEDS_MODERN, NOT_OFFERED, NEEDS_COHERENT };

static enum fit fit(const struct vq_backend_desc *b,
                    const struct virtio_device *dev, uint64_t offered) {
  if (b->needs_modern && dev->legacy) {
    return NEEDS_MODERN;
  }
  if (b->feature_bit >= 0 && (offered & VIRTIO_BIT(b->feature_bit)) == 0) {
    return NOT_OFFERED;
  }
  if (b->needs_coherent && !dev->dma.coherent) {
    return NEEDS_COHERENT;
  }
  return FITS;
}

const struct vq_backend_desc *
vq_select_from(const struct vq_backend_desc *const *table, size_t n,
               const struct virtio_device *dev, uint64_t offered,
               struct vq_choice *why) {
  why->why[0] = '\0';
  why->warning[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    const struct vq_backend_desc *b = table[i];
    if (fit(b, dev, offered) != FITS) {
      continue;
    }
    /* The reasons without rl_snprintf (rl_append): they are built on
     * the boot's path to the first picture. */
    char *w = why->why;
    const size_t size = sizeof(why->why);
    if (b->feature_bit >= 0) {
      (void)rl_append(w, size, rl_append(w, size, 0, b->feature_name),
                      " negotiated");
    } else if (n == 1) {
      (void)rl_append(w, size, 0, "the only backend built");
    } else if (i == 0) {
      size_t at =
          rl_append(w, size, 0, "preferred (CONFIG_VIRTIO_QUEUE_BOTH_PREFER_");
      (void)rl_append(w, size, rl_append(w, size, at, b->kconfig_name), ")");
    } else {
      /* A fallback: say why the preferred one did not fit. */
      const struct vq_backend_desc *p = table[0];
      enum fit pf = fit(p, dev, offered);
      if (pf == NEEDS_COHERENT) {
        size_t at = rl_append(w, size, 0, "not dma-coherent: no ");
        (void)rl_append(w, size, rl_append(w, size, at, p->name), " ring");
        (void)rl_snprintf(
            why->warning, sizeof(why->warning),
            "%s: %s ring refused, using the %s ring: the device is not "
            "dma-coherent, and the %s ring shares cache lines between "
            "driver and device writes",
            dev->name, p->name, b->name, p->name);
      } else {
        (void)rl_append(w, size,
                        rl_append(w, size, 0,
                                  pf == NEEDS_MODERN
                                      ? "legacy transport: no "
                                      : "device does not offer "),
                        p->feature_name);
      }
    }
    return b;
  }
  /* None fits (only possible without the split ring). */
  const struct vq_backend_desc *b = table[0];
#if defined(RINGLIGHT_KERNEL) && defined(CONFIG_VIRTIO_QUEUE_SPLIT)
  /* The kernel walks only its own table (vq_select), which has the
   * split ring: it fits every device, so this is never reached, and the
   * explanations below are left out of the image. */
  (void)b;
  (void)rl_snprintf(why->warning, sizeof(why->warning),
                    "%s: no ring backend fits", dev->name);
#else
  if (fit(b, dev, offered) == NEEDS_COHERENT) {
    (void)rl_snprintf(
        why->warning, sizeof(why->warning),
        "%s: this build has only the %s ring, which needs a dma-coherent "
        "device (it shares cache lines between driver and device writes), "
        "and the device tree does not make this one dma-coherent; "
        "choose a configuration with the split ring (menuconfig: Virtio > "
        "Virtqueue backends)",
        dev->name, b->name);
  } else {
    (void)rl_snprintf(
        why->warning, sizeof(why->warning),
        "%s: this build has only the %s ring, and the device %s "
        "VIRTIO_F_%s (bit %d)%s; choose a configuration with the split ring "
        "(menuconfig: Virtio > Virtqueue backends)",
        dev->name, b->name, dev->legacy ? "cannot offer" : "does not offer",
        b->feature_name, b->feature_bit,
        dev->legacy ? " on the legacy transport" : "");
  }
#endif
  return NULL;
}

#if !(defined(RINGLIGHT_KERNEL) && defined(CONFIG_VIRTIO_QUEUE_SPLIT_ONLY))
/* (A split-only kernel's is vq_select.h's.) */
const struct vq_backend_desc *vq_select(const struct virtio_device *dev,
                                        uint64_t offered,
                                        struct vq_choice *why) {
#ifdef CONFIG_VIRTIO_QUEUE_SPLIT_ONLY
  /* The split ring fits every device (§2.7: any transport, no feature
   * bit, no coherence needed; vq_split_desc). */
  (void)dev;
  (void)offered;
  (void)rl_append(why->why, sizeof(why->why), 0, "the only backend built");
  why->warning[0] = '\0';
  return backends[0];
#else
  return vq_select_from(backends, NBACKENDS, dev, offered, why);
#endif
}
#endif

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
