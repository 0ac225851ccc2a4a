/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "test-nic.h"
#include "net-cmdline.h"

#include <string.h>

static ssize_t test_nic_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
	TestNic *t = nc->opaque;
	if (t->stalled)
		return 0;
	size_t len = net_iov_size(iov, iovcnt);
	uint8_t *buf = g_malloc(len);
	net_iov_to_buf(iov, iovcnt, buf, len);
	if (t->on_rx) {
		t->on_rx(t, buf, len);
		g_free(buf);
	} else {
		g_ptr_array_add(t->frames, g_bytes_new_take(buf, len));
	}
	return len;
}

static bool test_nic_can_receive(NetClient *nc)
{
	TestNic *t = nc->opaque;
	return !t->stalled;
}

static void test_nic_link(NetClient *nc)
{
	TestNic *t = nc->opaque;
	t->link_changes++;
	if (t->on_link)
		t->on_link(t);
}

static const NetClientOps test_nic_ops = {
    .receive = test_nic_receive,
    .can_receive = test_nic_can_receive,
    .link_status_changed = test_nic_link,
};

void test_nic_register_models(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	net_nic_model_register("e1000", NULL);
	net_nic_model_register("virtio-net-pci", "virtio");
}

TestNic *test_nic_new(const char *model, const char *name, NetClient *peer, const uint8_t mac[6])
{
	TestNic *t = g_new0(TestNic, 1);
	t->frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	t->nc = net_nic_new(model, name, peer, mac, &test_nic_ops, t);
	return t;
}

void test_nic_free(TestNic *t)
{
	g_ptr_array_free(t->frames, TRUE);
	g_free(t);
}

GPtrArray *test_nic_create_all(void)
{
	GPtrArray *a = g_ptr_array_new();
	for (GList *l = net_nic_configs(); l; l = l->next) {
		NicConfig *c = l->data;
		g_ptr_array_add(a, test_nic_new(c->model, c->name, c->peer, c->mac));
	}
	return a;
}
