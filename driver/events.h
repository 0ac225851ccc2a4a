/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Event delivery to the clients that registered for it: domain lifecycle
 * (callback form 318 and legacy form 107), reboot, device added/removed,
 * and network lifecycle (315).
 */
#ifndef KITE_DRIVER_EVENTS_H
#define KITE_DRIVER_EVENTS_H

#include <stdint.h>

struct domain;
struct network;

void events_domain_lifecycle(struct domain *d, int event, int detail);
void events_domain_reboot(struct domain *d);
void events_domain_device(struct domain *d, const char *alias, bool added);
void events_network_lifecycle(struct network *n, int event, int detail);

#endif
