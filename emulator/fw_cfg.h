/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KITE_FW_CFG_H
#define KITE_FW_CFG_H
void fw_cfg_init(void);
/* Add the items that depend on the finished machine (kernel, e820...). */
void fw_cfg_finish(void);
#endif
