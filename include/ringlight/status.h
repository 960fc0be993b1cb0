/* One status type for the whole project: 0 is success, negative codes say
 * what failed. Every call that can fail returns one and every caller
 * checks it. */
#ifndef RINGLIGHT_STATUS_H
#define RINGLIGHT_STATUS_H

typedef int rl_status;

#define RL_OK 0
#define RL_ERR_INVALID (-1)       /* bad argument from the caller */
#define RL_ERR_NO_MEMORY (-2)     /* allocation failed */
#define RL_ERR_TIMEOUT (-3)       /* a deadline passed */
#define RL_ERR_IO (-4)            /* the device reported an error */
#define RL_ERR_NOT_FOUND (-5)     /* no such node, property, device */
#define RL_ERR_OUT_OF_RANGE (-6)  /* value or address outside its range */
#define RL_ERR_BAD_FORMAT (-7)    /* malformed data (device tree, reply) */
#define RL_ERR_NOT_SUPPORTED (-8) /* feature not offered or not built */
#define RL_ERR_BUSY (-9)          /* resource in use, try later */
#define RL_ERR_BROKEN (-10)       /* device misbehaved; object unusable */
#define RL_ERR_NO_SPACE (-11)     /* queue or table full */

/* A short constant name for a status ("RL_ERR_TIMEOUT"). */
const char *rl_status_str(rl_status status);

#endif
