#ifndef BANKHUB_CLWS_SHIM_H
#define BANKHUB_CLWS_SHIM_H
#include <libwebsockets.h>

/* LWS_PRE is a macro; Swift cannot import it. Buffers given to lws_write need this headroom. */
static const int bankhub_lws_pre = LWS_PRE;
#endif
