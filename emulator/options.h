/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QEMU-style "key=value,key=value" option strings: ",," escapes a comma,
 * a bare word in the first position is the implied key (e.g. the driver of
 * -device, the backend of -chardev), a bare word elsewhere is key=on.
 * Every key a consumer does not ask for is reported as an error naming it.
 */
#ifndef KITE_OPTIONS_H
#define KITE_OPTIONS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct kv_item {
	char *key;
	char *val;
	bool used;
};

struct kvlist {
	GPtrArray *items; /* of struct kv_item* */
};

/* implied_key may be NULL: then a bare first word is "word=on". */
struct kvlist *kv_parse(const char *s, const char *implied_key, GError **err);
void kv_free(struct kvlist *l);
/* Last value of key, marking it used; NULL when absent. */
const char *kv_get(struct kvlist *l, const char *key);
bool kv_has(struct kvlist *l, const char *key);
/* Booleans: on/off, yes/no, true/false, y/n; also "no<key>" for the
 * legacy flag form. Returns false with err on a bad value. */
bool kv_get_bool(struct kvlist *l, const char *key, bool def, bool *out, GError **err);
bool kv_get_uint(struct kvlist *l, const char *key, uint64_t def, uint64_t *out, GError **err);
/* Error "Invalid parameter 'KEY'" for the first unused key. */
bool kv_check_all_used(struct kvlist *l, GError **err);

bool parse_bool(const char *s, bool *out);
bool parse_uint(const char *s, uint64_t *out);
/* QEMU size rules: plain number = default_suffix unit (MiB for -m),
 * suffixes B K M G T P E (binary); fractions like 1.5G accepted. */
bool parse_size(const char *s, uint64_t default_unit, uint64_t *out);

#endif
