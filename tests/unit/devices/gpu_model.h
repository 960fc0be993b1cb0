/* A virtio-gpu device for host tests (virtio 1.2 §5.7), on the
 * virtio-mmio model (vmmio.h): 2D resources with the device's own copy of
 * their pixels, backing read through the device's view of DMA memory at
 * TRANSFER_TO_HOST_2D time, scanouts, the cursor queue, the configuration
 * space and display-change events. Every command is logged for the
 * tests; each command type can be told to misbehave.
 *
 * Written from the spec alone: its own numbers and layouts below, never
 * the driver's virtio_gpu.h. A request that breaks the spec's layout
 * (a short command, no or a too small response buffer) fails the test;
 * a request with bad parameters gets the error QEMU 7.2 answers. */
#ifndef TESTS_UNIT_DEVICES_GPU_MODEL_H
#define TESTS_UNIT_DEVICES_GPU_MODEL_H

#include "vmmio.h"

/* §5.7.6.7: command and response types. */
#define GM_CMD_GET_DISPLAY_INFO 0x0100u
#define GM_CMD_RESOURCE_CREATE_2D 0x0101u
#define GM_CMD_RESOURCE_UNREF 0x0102u
#define GM_CMD_SET_SCANOUT 0x0103u
#define GM_CMD_RESOURCE_FLUSH 0x0104u
#define GM_CMD_TRANSFER_TO_HOST_2D 0x0105u
#define GM_CMD_RESOURCE_ATTACH_BACKING 0x0106u
#define GM_CMD_RESOURCE_DETACH_BACKING 0x0107u
#define GM_CMD_GET_EDID 0x010au
#define GM_CMD_UPDATE_CURSOR 0x0300u
#define GM_CMD_MOVE_CURSOR 0x0301u
#define GM_RESP_OK_NODATA 0x1100u
#define GM_RESP_OK_DISPLAY_INFO 0x1101u
#define GM_RESP_OK_EDID 0x1104u
#define GM_RESP_ERR_UNSPEC 0x1200u
#define GM_RESP_ERR_OUT_OF_MEMORY 0x1201u
#define GM_RESP_ERR_INVALID_SCANOUT_ID 0x1202u
#define GM_RESP_ERR_INVALID_RESOURCE_ID 0x1203u
#define GM_RESP_ERR_INVALID_PARAMETER 0x1205u
#define GM_FLAG_FENCE 1u
#define GM_FORMAT_B8G8R8X8 2u /* §5.7.6.8 virtio_gpu_formats */
#define GM_F_EDID 1           /* §5.7.3 */
#define GM_EVENT_DISPLAY 1u   /* §5.7.4 */
#define GM_MAX_SCANOUTS 16
#define GM_CONFIG_SIZE 16 /* §5.7.4: four le32 */

struct gm_rect {
  uint32_t x, y, w, h;
};

/* One command as the device saw it. */
struct gm_cmd {
  unsigned queue; /* 0 controlq, 1 cursorq */
  unsigned long batch;
  uint32_t type, flags;
  uint64_t fence;
  uint32_t resource;
  uint32_t scanout;
  struct gm_rect r;          /* SET_SCANOUT, FLUSH, TRANSFER */
  uint64_t offset;           /* TRANSFER */
  uint32_t format, nentries; /* CREATE_2D (r.w, r.h: size), ATTACH */
  uint64_t addr0;            /* ATTACH: its first entry's address */
  uint32_t x, y;             /* cursor position */
  uint32_t answer;           /* response type; 0: none (held, or cursor) */
  uint32_t used_len;
};

struct gm_resource {
  uint32_t id, format, width, height;
  uint32_t *pixels; /* width * height, as the le32 of each pixel */
  bool backed;
};

struct gm_scanout_cfg {
  bool enabled;
  uint32_t width, height;
  /* EDID preferred mode; 0: the mode's, or 1280x800 when disabled. */
  uint32_t pref_width, pref_height;
};

struct gpu_model_config {
  uint32_t version;      /* virtio-mmio 1 or 2 */
  uint64_t transport;    /* transport features offered (EVENT_IDX, ...) */
  bool edid;             /* offer VIRTIO_GPU_F_EDID */
  uint32_t num_scanouts; /* 1..16 */
  struct gm_scanout_cfg scanout[GM_MAX_SCANOUTS];
  unsigned irq;
  paddr_t pa;
};

/* How a command type misbehaves (gpu_model_misbehave). */
enum gm_fault {
  GM_FAULT_NONE,
  GM_FAULT_ERROR,     /* answers the error type `value` (header only) */
  GM_FAULT_TYPE,      /* answers type `value` at the right length */
  GM_FAULT_USED_LEN,  /* right answer, used length `value` */
  GM_FAULT_NO_ANSWER, /* never answers (holds the chain) */
};

struct gpu_model;

struct gpu_model *gpu_model_create(const struct gpu_model_config *cfg);
void gpu_model_destroy(struct gpu_model *g);
struct vm_dev *gpu_model_vm(struct gpu_model *g);

/* From now on, every command of `type` misbehaves as told. */
void gpu_model_misbehave(struct gpu_model *g, uint32_t type,
                         enum gm_fault fault, uint32_t value);

/* The command log. */
size_t gpu_model_log_count(const struct gpu_model *g);
const struct gm_cmd *gpu_model_log(const struct gpu_model *g, size_t i);
void gpu_model_log_clear(struct gpu_model *g);
/* Log entries of `type` (and their first index in *first, if not NULL). */
size_t gpu_model_count(const struct gpu_model *g, uint32_t type, size_t *first);

/* Device state. */
const struct gm_resource *gpu_model_resource(const struct gpu_model *g,
                                             uint32_t id);
size_t gpu_model_resource_count(const struct gpu_model *g);
/* Resource `id`'s backing entries as ATTACH_BACKING gave them (at most
 * `max` copied); returns how many it has (0: none, or no such resource). */
size_t gpu_model_backing(const struct gpu_model *g, uint32_t id, uint64_t *addr,
                         uint32_t *len, size_t max);
/* The resource scanout `i` shows (0: none) and its rectangle. */
uint32_t gpu_model_scanout(const struct gpu_model *g, unsigned i,
                           struct gm_rect *r);
/* The cursor: resource, scanout and position of the last UPDATE_CURSOR
 * or MOVE_CURSOR. */
struct gm_cursor {
  uint32_t resource, scanout, x, y, hot_x, hot_y;
  unsigned long updates, moves;
};
struct gm_cursor gpu_model_cursor(const struct gpu_model *g);
uint32_t gpu_model_events(const struct gpu_model *g);

/* A monitor change on scanout `i` (§5.7.4.1): new mode, events_read gets
 * VIRTIO_GPU_EVENT_DISPLAY, configuration interrupt. */
void gpu_model_display_change(struct gpu_model *g, unsigned i, bool enabled,
                              uint32_t width, uint32_t height);

#endif
