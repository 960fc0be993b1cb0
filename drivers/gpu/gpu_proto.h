/* virtio-gpu command encoding and response checking: portable, no device
 * access, so host tests feed it recorded and hand-made responses. Every
 * response is checked against the type its command expects, its length
 * against that type's size; nothing the device wrote is used unchecked. */
#ifndef DRIVERS_GPU_GPU_PROTO_H
#define DRIVERS_GPU_GPU_PROTO_H

#include <ringlight/status.h>

#include "virtio_gpu.h"

#define GPU_MAX_DIM 16384u /* largest width or height accepted */

struct gpu_mode {
  bool enabled;
  uint32_t x, y, width, height;
};

struct gpu_edid_info {
  uint32_t pref_width, pref_height; /* preferred mode; 0 x 0: none usable */
  char vendor[4];                   /* PNP id, e.g. "RHT" */
  char name[14];                    /* monitor name descriptor, or "" */
};

const char *gpu_type_name(uint32_t type);

/* Fills a header: type, flags (FENCE when fence_id != 0), fence id. */
void gpu_hdr(struct virtio_gpu_ctrl_hdr *h, uint32_t type, uint64_t fence_id);

/* Checks a response of `len` bytes (as the used ring said): long enough
 * for a header, of type `expected`, at least `expected_len` bytes, and,
 * when `fence_id` != 0, carrying the FENCE flag and that id.
 * RL_ERR_IO: the device answered an error type (in *type);
 * RL_ERR_BAD_FORMAT: short, wrong type or fence mismatch. */
rl_status gpu_check_response(const void *resp, uint32_t len, uint32_t expected,
                             size_t expected_len, uint64_t fence_id,
                             uint32_t *type);

/* GET_DISPLAY_INFO: modes of the first `num_scanouts` (at most 16).
 * Enabled scanouts must have 1..GPU_MAX_DIM sizes; *enabled counts them. */
rl_status gpu_parse_display_info(const void *resp, uint32_t len,
                                 uint32_t num_scanouts,
                                 struct gpu_mode modes[VIRTIO_GPU_MAX_SCANOUTS],
                                 unsigned *enabled);
/* gpu_parse_display_info's modes of a response already checked (type
 * OK_DISPLAY_INFO, the whole struct written: gpu_check_response). */
rl_status gpu_parse_display_modes(
    const struct virtio_gpu_resp_display_info *d, uint32_t num_scanouts,
    struct gpu_mode modes[VIRTIO_GPU_MAX_SCANOUTS], unsigned *enabled);

/* GET_EDID: EDID 1.x base block checked (header, checksum, size within
 * the response), monitor name read, and the preferred mode: the base
 * block's first detailed timing, or, when it has none usable (its 12-bit
 * fields stop at 4095), a DisplayID extension's timing (16-bit widths),
 * else the next usable detailed timing (base block, CTA-861 extension).
 * No usable mode is not an error: pref_width = pref_height = 0. */
rl_status gpu_parse_edid(const void *resp, uint32_t len,
                         struct gpu_edid_info *out);

/* The command builder (§5.7.6.7): the header (gpu_hdr), then the
 * command's fields up to `size` bytes (at most 56) as 64-bit little-endian
 * words w0..w3, each two 32-bit fields (gpu_pair) or one 64-bit one in
 * the order of the command's struct. Writes exactly `size` bytes and
 * returns it. */
size_t gpu_cmd(void *buf, size_t size, uint32_t type, uint64_t fence_id,
               uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3);
static inline uint64_t gpu_pair(uint32_t first, uint32_t second) {
  return first | (uint64_t)second << 32;
}

/* Encoders: each fills `buf` and returns the command's size. */
static inline size_t gpu_encode_create_2d(void *buf, uint32_t resource_id,
                                          uint32_t format, uint32_t width,
                                          uint32_t height) {
  return gpu_cmd(buf, sizeof(struct virtio_gpu_resource_create_2d),
                 VIRTIO_GPU_CMD_RESOURCE_CREATE_2D, 0,
                 gpu_pair(resource_id, format), gpu_pair(width, height), 0, 0);
}
/* UNREF and DETACH_BACKING: header, resource id, padding (§5.7.6.8). */
static inline size_t gpu_encode_unref(void *buf, uint32_t resource_id) {
  return gpu_cmd(buf, sizeof(struct virtio_gpu_resource_unref),
                 VIRTIO_GPU_CMD_RESOURCE_UNREF, 0, resource_id, 0, 0, 0);
}
static inline size_t gpu_encode_detach_backing(void *buf,
                                               uint32_t resource_id) {
  return gpu_cmd(buf, sizeof(struct virtio_gpu_resource_detach_backing),
                 VIRTIO_GPU_CMD_RESOURCE_DETACH_BACKING, 0, resource_id, 0, 0,
                 0);
}
static inline size_t gpu_encode_set_scanout(void *buf, uint32_t scanout_id,
                                            uint32_t resource_id,
                                            const struct virtio_gpu_rect *r) {
  return gpu_cmd(buf, sizeof(struct virtio_gpu_set_scanout),
                 VIRTIO_GPU_CMD_SET_SCANOUT, 0, gpu_pair(r->x, r->y),
                 gpu_pair(r->width, r->height),
                 gpu_pair(scanout_id, resource_id), 0);
}
static inline size_t gpu_encode_transfer_2d(void *buf, uint32_t resource_id,
                                            const struct virtio_gpu_rect *r,
                                            uint64_t offset) {
  return gpu_cmd(buf, sizeof(struct virtio_gpu_transfer_to_host_2d),
                 VIRTIO_GPU_CMD_TRANSFER_TO_HOST_2D, 0, gpu_pair(r->x, r->y),
                 gpu_pair(r->width, r->height), offset, resource_id);
}
static inline size_t gpu_encode_flush(void *buf, uint32_t resource_id,
                                      const struct virtio_gpu_rect *r,
                                      uint64_t fence_id) {
  return gpu_cmd(buf, sizeof(struct virtio_gpu_resource_flush),
                 VIRTIO_GPU_CMD_RESOURCE_FLUSH, fence_id, gpu_pair(r->x, r->y),
                 gpu_pair(r->width, r->height), resource_id, 0);
}
static inline size_t gpu_encode_get_edid(void *buf, uint32_t scanout) {
  return gpu_cmd(buf, sizeof(struct virtio_gpu_get_edid),
                 VIRTIO_GPU_CMD_GET_EDID, 0, scanout, 0, 0, 0);
}
static inline size_t gpu_encode_cursor(void *buf, uint32_t type,
                                       uint32_t scanout, uint32_t x, uint32_t y,
                                       uint32_t resource_id, uint32_t hot_x,
                                       uint32_t hot_y) {
  return gpu_cmd(buf, sizeof(struct virtio_gpu_update_cursor), type, 0,
                 gpu_pair(scanout, x), y, gpu_pair(resource_id, hot_x), hot_y);
}
/* ATTACH_BACKING written in place (§5.7.6.8): the caller fills
 * gpu_attach_entries(buf)[0..n), which follow the fixed part, and has
 * made sure they fit; gpu_encode_attach_in_place writes the fixed part
 * and returns the command's size. */
static inline struct virtio_gpu_mem_entry *gpu_attach_entries(void *buf) {
  return (struct virtio_gpu_mem_entry
              *)((struct virtio_gpu_resource_attach_backing *)buf + 1);
}
static inline size_t gpu_encode_attach_in_place(void *buf, uint32_t resource_id,
                                                uint32_t n) {
  return gpu_cmd(buf, sizeof(struct virtio_gpu_resource_attach_backing),
                 VIRTIO_GPU_CMD_RESOURCE_ATTACH_BACKING, 0,
                 gpu_pair(resource_id, n), 0, 0, 0) +
         (size_t)n * sizeof(struct virtio_gpu_mem_entry);
}
/* ATTACH_BACKING with `n` entries copied from `e`; RL_ERR_NO_SPACE if
 * they don't fit in `cap` bytes. */
rl_status gpu_encode_attach_backing(void *buf, size_t cap, uint32_t resource_id,
                                    const struct virtio_gpu_mem_entry *e,
                                    uint32_t n, size_t *size);

#endif
