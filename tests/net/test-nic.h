/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A stand-in NIC for tests: records what it receives, can stall (a guest
 * without rx buffers) and sends frames on request. */
#ifndef KITE_TEST_NIC_H
#define KITE_TEST_NIC_H

#include "net.h"

typedef struct TestNic TestNic;
struct TestNic {
	NetClient *nc;
	bool stalled;
	GPtrArray *frames; /* of GBytes*, when not consumed by on_rx */
	void (*on_rx)(TestNic *t, const uint8_t *buf, size_t len);
	int link_changes;
	void (*on_link)(TestNic *t);
};

/* The models kite's device code registers (e1000, virtio-net-pci). */
void test_nic_register_models(void);
/* One TestNic per NicConfig of -net nic / -nic, in order. */
GPtrArray *test_nic_create_all(void);
TestNic *test_nic_new(const char *model, const char *name, NetClient *peer, const uint8_t mac[6]);
void test_nic_free(TestNic *t);

#endif
