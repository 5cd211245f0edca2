// libpq, PostgreSQL's C client library (Debian: libpq-dev). BankPostgres is its only user.
#ifndef BANKHUB_CLIBPQ_SHIM_H
#define BANKHUB_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
