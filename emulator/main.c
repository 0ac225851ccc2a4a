/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "vl.h"

int main(int argc, char **argv)
{
	return kite_main(argc, argv);
}
