/* The virtio-gpu driver's own header: the per-device state (struct gpu,
 * in the device's `priv`) and what the driver's files call in each other.
 * Not for the rest of the kernel, which uses gpu.h.
 *
 *   gpu.c          probe, release, remove, poll; the list of devices and
 *                  the handles (gpu_count, gpu_get, gpu_surface, ...)
 *   gpu_req.c      request plumbing: post, check, command
 *   gpu_resource.c framebuffer chunks, CREATE_2D, ATTACH_BACKING, DETACH,
 *                  UNREF
 *   gpu_scanout.c  GET_DISPLAY_INFO, EDID (CONFIG_GPU_EDID), scanout
 *                  setup and teardown, display-change events
 *                  (CONFIG_GPU_DISPLAY_EVENTS), the painter
 *   gpu_update.c   TRANSFER_TO_HOST_2D + RESOURCE_FLUSH of the damage
 *   gpu_cursor.c   the cursor resource, UPDATE_CURSOR, MOVE_CURSOR
 *                  (CONFIG_GPU_CURSOR builds only)
 *   gpu_console.c  the text console: layout, header, log sink
 *                  (CONFIG_GPU_CONSOLE builds only)
 *   gpu_bench.c    the benchmark (CONFIG_BENCH builds only) */
#ifndef DRIVERS_GPU_GPU_INTERNAL_H
#define DRIVERS_GPU_GPU_INTERNAL_H

#include <arch/dma.h>
#include <lib/gfx/console.h>
#include <lib/log.h>
#include <ringlight/config.h>
#include <ringlight/status.h>
#include <virtio/core/virtio.h>

#include "gpu.h"
#include "gpu_proto.h"

/* Scanouts driven (CONFIG_GPU_MAX_SCANOUTS); a loop over them is bounded
 * by GPU_NUM_SCANOUTS, which the compiler sees is at most this. */
#define GPU_SCANOUTS CONFIG_GPU_MAX_SCANOUTS
#if GPU_SCANOUTS < VIRTIO_GPU_MAX_SCANOUTS
#define GPU_NUM_SCANOUTS(g) RL_MIN((g)->num_scanouts, (uint32_t)GPU_SCANOUTS)
#else
#define GPU_NUM_SCANOUTS(g) ((g)->num_scanouts)
#endif
#define GPU_REQS 4
#define GPU_WARM_REQ 2 /* the warm-up transfer's request (gpu_warm_start) */
/* req[3]: scanout 0's GET_EDID, posted with GET_DISPLAY_INFO and read
 * after the warm-up is posted; then the probe's SET_SCANOUT, posted with
 * the first update (gpu_update.c). */
#define GPU_EDID_REQ 3
#define GPU_SHOW_REQ 3
#define GPU_REQ_PAGES 2 /* command in page 0, response in page 1 */
#define GPU_TIMEOUT_NS 2000000000ull
#define GPU_CHUNK_PAGES 256u /* framebuffer chunks of up to 1 MiB */
#define GPU_CURSOR_SIZE 64u
#define GPU_CURSOR_RESOURCE 0x100u
/* Scanout resources take ids 1..GPU_RESOURCE_IDS-1 (the cursor's is
 * GPU_CURSOR_RESOURCE, above them). */
#define GPU_RESOURCE_IDS 256u

struct gpu_req {
  struct arch_dma_buf buf;
  volatile bool done;
  uint32_t used_len;
};

struct gpu_scanout {
  struct gpu_mode mode;
  bool active;
  bool unshown; /* active, SET_SCANOUT still to come (the probe's) */
  uint32_t resource_id;
  struct fb_surface fb;
  struct arch_dma_buf chunks[FB_MAX_CHUNKS];
  struct fb_console con;
  struct gpu_edid_info edid;
  bool have_edid;
  /* Its device and index, for its info lines (klog_later). */
  struct gpu *gpu;
  unsigned index;
};

struct gpu {
  struct gpu *next; /* the list of every device's state, in probe order */
  struct virtio_device *dev;
  /* Resource ids retired for the device's lifetime (kept across
   * re-probes): a DETACH_BACKING or UNREF of them failed, so the device may
   * still hold them (and their backing, leaked on purpose). */
  uint32_t retired_ids[GPU_RESOURCE_IDS / 32];
  /* From here on, each probe starts from zero (gpu.c, gpu_state). */
  bool ready;             /* the last probe succeeded: gpu_get() hands it out */
  rl_status probe_status; /* of the last probe */
  bool negotiate_failed;  /* ... and it failed in feature negotiation */
  struct virtqueue *ctrlq;
  struct virtqueue *cursorq;
  struct gpu_req req[GPU_REQS];
  struct gpu_req cursor_req;
  uint32_t num_scanouts; /* driven: the device's, at most GPU_SCANOUTS */
  struct gpu_scanout scanout[GPU_SCANOUTS];
  uint64_t next_fence;
  struct arch_dma_buf cursor_mem;
  bool cursor_ready;
  uint32_t cursor_scanout; /* where UPDATE_CURSOR last set the image */
  volatile bool event_pending;
  /* A request timed out or could not be posted: it may still sit in the
   * ring, so no request is reused until the device is reset. */
  bool broken;
  unsigned long updates;
  /* Per update: notifications and interrupts of the control queue. */
  unsigned long last_notifications, last_interrupts;
  unsigned long max_notifications, max_interrupts;
  uint64_t first_frame_ns; /* arch_time_ns when the boot picture was out */
  uint32_t warm_resource;  /* a warm-up transfer of it is in flight, or 0 */
  bool edid0_answered; /* req[GPU_EDID_REQ] holds scanout 0's GET_EDID answer,
                          not yet read (gpu_scanout.c take_edid) */
};

/* g->edid0_answered, constant false without EDIDs (their code then not in
 * the image). */
#ifdef CONFIG_GPU_EDID
#define GPU_EDID0_ANSWERED(g) ((g)->edid0_answered)
#else
#define GPU_EDID0_ANSWERED(g) false
#endif

/* A command's type in a message: its name (gpu_type_name), or without
 * CONFIG_GPU_COMMAND_NAMES its number (virtio 1.2 §5.7.6.7), the names
 * then not in the image. */
#ifdef CONFIG_GPU_COMMAND_NAMES
#define GPU_TYPE_FMT "%s"
#define GPU_TYPE_ARG(type) gpu_type_name(type)
#else
#define GPU_TYPE_FMT "command %#x"
#define GPU_TYPE_ARG(type) (type)
#endif

/* gpu_req.c */
static inline void *gpu_req_cmd(struct gpu_req *r) { return r->buf.cpu; }
static inline void *gpu_req_resp(struct gpu_req *r) {
  return (uint8_t *)r->buf.cpu + RL_PAGE_SIZE;
}
/* The completion callback of both queues. */
void gpu_done(struct virtqueue *vq, void *token, uint32_t len);
/* Posts requests [0, n) (each: a command of cmd_len[i] bytes, and a
 * response page unless resp_len[i] is 0) with one notification, and waits
 * for all of them (on the control queue, for a warm-up in flight first).
 * A failure (not posted, timeout, broken queue) is logged here, once, with
 * the first command's type. */
rl_status gpu_post(struct gpu *g, struct virtqueue *vq, struct gpu_req **reqs,
                   const size_t *cmd_len, const size_t *resp_len, unsigned n);
/* gpu_post's one error line for a lost command (not posted, timeout,
 * broken queue), naming r's command type. */
static inline void gpu_log_lost(struct gpu *g, struct gpu_req *r,
                                rl_status st) {
  klog(LOG_ERROR, "%s: " GPU_TYPE_FMT ": %s\n", g->dev->name,
       GPU_TYPE_ARG(((struct virtio_gpu_ctrl_hdr *)gpu_req_cmd(r))->type),
       rl_status_str(st));
}
/* gpu_post in two halves: post without waiting, then wait for each
 * request in order (nothing else; stops at the first failure or once
 * the GPU is broken). */
rl_status gpu_post_nowait(struct gpu *g, struct virtqueue *vq,
                          struct gpu_req **reqs, const size_t *cmd_len,
                          const size_t *resp_len, unsigned n);
rl_status gpu_wait_posted(struct gpu *g, struct virtqueue *vq,
                          struct gpu_req **reqs, unsigned n);
/* Checks request r's response: type `expected`, at least `expected_len`
 * bytes, fence; logs the command, the resource and the answer if not. */
rl_status gpu_check(struct gpu *g, struct gpu_req *r, uint32_t expected,
                    size_t expected_len, uint64_t fence, uint32_t resource);
/* One command (in req[0]) on the control queue, response checked. */
rl_status gpu_command(struct gpu *g, size_t cmd_len, uint32_t expected,
                      size_t resp_len, uint32_t resource);
/* gpu_command for a command answered by RESP_OK_NODATA. */
rl_status gpu_command_nodata(struct gpu *g, size_t cmd_len, uint32_t resource);
/* The warm-up: TRANSFER_TO_HOST_2D of the whole framebuffer of `so`,
 * posted (gpu_resource_post) without waiting: the device's first copy
 * into a new resource is its slow one (QEMU faults in the resource's host
 * memory page by page), so it runs while the picture is drawn.
 * gpu_warm_encode writes it in its request; once posted, gpu_warm_posted
 * records it. The next post on the control queue (posted behind it), or
 * gpu_warm_finish, waits for it and checks the answer. */
#ifdef CONFIG_GPU_WARMUP
struct gpu_req *gpu_warm_encode(struct gpu *g, const struct gpu_scanout *so,
                                size_t *len);
void gpu_warm_posted(struct gpu *g, const struct gpu_scanout *so);
rl_status gpu_warm_finish(struct gpu *g);
#else
static inline rl_status gpu_warm_finish(struct gpu *g) {
  (void)g;
  return RL_OK;
}
#endif

/* Whether anything is set up again on a device: a re-probe (recovery
 * after a device reset) or a scanout rebuilt after a display change.
 * Without both, a failure during the probe fails the device for good: the
 * resources it made and their backing are left as they are (the device
 * may own them; nothing reuses their ids or memory), and the teardown
 * (DETACH_BACKING, UNREF, retired ids) is not in the image. */
#if defined(CONFIG_VIRTIO_RECOVERY) || defined(CONFIG_GPU_DISPLAY_EVENTS)
#define GPU_TEARDOWN 1
#else
#define GPU_TEARDOWN 0
#endif

/* gpu_resource.c */
/* The scanout's framebuffer: w x h in chunks of whole rows. */
rl_status gpu_fb_alloc(struct gpu_scanout *so, uint32_t w, uint32_t h);
void gpu_fb_free(struct gpu_scanout *so);
/* A resource id for scanout `index` that is neither retired nor used by
 * another active scanout (index + 1 when free); 0 if none is left.
 * Without CONFIG_VIRTIO_RECOVERY and CONFIG_GPU_DISPLAY_EVENTS no id is
 * ever used twice: index + 1, and nothing is retired. */
#if GPU_TEARDOWN
uint32_t gpu_resource_id(const struct gpu *g, unsigned index);
#else
static inline uint32_t gpu_resource_id(const struct gpu *g, unsigned index) {
  (void)g;
  return index + 1;
}
#endif
/* CREATE_2D of so->resource_id at the framebuffer's size and
 * ATTACH_BACKING of its chunks, posted together (one notification, one
 * round trip: the device runs them in order), then both answers read.
 * On failure the framebuffer is gone: freed, or leaked when the device
 * may own it (as gpu_resource_destroy). */
rl_status gpu_resource_create(struct gpu *g, struct gpu_scanout *so);
/* gpu_resource_create in two halves, for the probe with a warm-up
 * (CONFIG_GPU_WARMUP): post the two and the warm-up transfer behind
 * them, draw, then read the answers, given what the post returned. The
 * queue's interrupt is held back meanwhile (virtqueue_disable_cb): the
 * answers are read, not waited for. */
rl_status gpu_resource_post(struct gpu *g, struct gpu_scanout *so);
rl_status gpu_resource_created(struct gpu *g, struct gpu_scanout *so,
                               rl_status posted);
/* DETACH_BACKING, UNREF, then frees the framebuffer. If either failed
 * (an error answer, a bad answer, a timeout) the device may still own the
 * backing: it is leaked on purpose, the id retired, one line logged. */
#if GPU_TEARDOWN
void gpu_resource_destroy(struct gpu *g, struct gpu_scanout *so);
#else
/* Only after a failure, which fails the device: left as is. */
static inline void gpu_resource_destroy(struct gpu *g, struct gpu_scanout *so) {
  (void)g;
  (void)so;
}
#endif

/* gpu_scanout.c */
/* (Re)reads the display configuration; (re)builds the scanouts whose mode
 * changed, each showing the painter's picture and the console: presented
 * at once on a ready device (a display change), only painted during the
 * probe, which presents them after the console's replay. */
rl_status gpu_configure_scanouts(struct gpu *g);
/* CONFIG_GPU_DISPLAY_EVENTS: clears display events pending before the
 * first configuration. */
void gpu_events_clear(struct gpu *g);
/* Handles a display-change event (§5.7.4.1) outside interrupt context. */
void gpu_events_handle(struct gpu *g);
/* SET_SCANOUT of the scanout's resource over its whole framebuffer; on
 * failure the scanout is inactive and its resource destroyed. */
rl_status gpu_scanout_show(struct gpu *g, struct gpu_scanout *so);

/* gpu_update.c */
/* Sends the scanout's damaged rectangle (nothing without damage). */
rl_status gpu_present_scanout(struct gpu *g, struct gpu_scanout *so);

/* gpu_cursor.c (CONFIG_GPU_CURSOR) */
#ifdef CONFIG_GPU_CURSOR
/* The cursor on scanout 0, at its centre. */
rl_status gpu_cursor_setup(struct gpu *g);
#else
static inline rl_status gpu_cursor_setup(struct gpu *g) {
  (void)g;
  return RL_OK;
}
#endif

/* gpu_console.c (CONFIG_GPU_CONSOLE; without it the scanouts show the
 * painter's picture alone) */
#ifdef CONFIG_GPU_CONSOLE
/* The console over the bottom quarter of scanout `index`, header drawn. */
void gpu_console_init(struct gpu *g, unsigned index);
/* The device's consoles become a log sink (the last lines replayed
 * first); a warning when no sink is free. */
void gpu_console_start(struct gpu *g);
/* The device's consoles stop mirroring the log. */
void gpu_console_stop(struct gpu *g);
#else
static inline void gpu_console_init(struct gpu *g, unsigned index) {
  (void)g;
  (void)index;
}
static inline void gpu_console_start(struct gpu *g) { (void)g; }
static inline void gpu_console_stop(struct gpu *g) { (void)g; }
#endif

#endif
