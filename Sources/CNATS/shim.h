#ifndef BANKHUB_CNATS_SHIM_H
#define BANKHUB_CNATS_SHIM_H
/* The NATS C client (libnats, apt libnats-dev) for the BankBus target. Nothing is wrapped here: the header is
 * plain C that Swift imports as is. */
#include <nats/nats.h>
#endif
