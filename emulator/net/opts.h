/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU's "-option type,key=value,..." grammar: the first element may omit
 * its key (the implied key, e.g. "type"), ",," stands for a literal comma,
 * a later bare "key" means key=on. Keys may repeat; getters return the last
 * value, kite_opts_get_all() every value in order (hostfwd=, dnssearch=).
 *
 * Errors name the option: "-netdev user,id=a,foo=1: Invalid parameter 'foo'".
 * With option NULL (monitor commands) the message has no such prefix.
 */
#ifndef KITE_NET_OPTS_H
#define KITE_NET_OPTS_H

#include <glib.h>

#include "../error.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct KiteOpt {
	char *key;
	char *value;
	bool used;
} KiteOpt;

typedef struct KiteOpts {
	char *option; /* "-netdev", or NULL */
	char *arg;
	GPtrArray *items; /* of KiteOpt* in order */
} KiteOpts;

KiteOpts *kite_opts_parse(const char *option, const char *arg, const char *implied_key,
			  GError **err);
void kite_opts_free(KiteOpts *o);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(KiteOpts, kite_opts_free)

bool kite_opts_has(KiteOpts *o, const char *key);
const char *kite_opts_get(KiteOpts *o, const char *key);
/* NULL-terminated array of every value of key (free with g_free, not the
 * strings). */
const char **kite_opts_get_all(KiteOpts *o, const char *key);
void kite_opts_set(KiteOpts *o, const char *key, const char *value);
void kite_opts_del(KiteOpts *o, const char *key);

int kite_opts_get_bool(KiteOpts *o, const char *key, bool def, bool *out, GError **err);
int kite_opts_get_int(KiteOpts *o, const char *key, int64_t def, int64_t min, int64_t max,
		      const char *what, int64_t *out, GError **err);
int kite_opts_get_size(KiteOpts *o, const char *key, uint64_t def, uint64_t *out, GError **err);
/* Fails on the first key not listed in 'allowed' (NULL-terminated). */
int kite_opts_check_keys(KiteOpts *o, const char *const *allowed, GError **err);
/* Fails when key is absent: "Parameter 'id' is missing". */
const char *kite_opts_require(KiteOpts *o, const char *key, GError **err);

/* Set *err to the message prefixed with the option location. */
void kite_opts_error(KiteOpts *o, GError **err, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* Same, for callers that hold only the location text. */
void kite_opts_error_at(const char *option, const char *arg, GError **err, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

/* Net errors are kite errors (QMP class from the code: 0 = GenericError). */
#define KITE_NET_ERROR KITE_ERROR

#endif
