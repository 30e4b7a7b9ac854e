// SPDX-License-Identifier: GPL-2.0-only
/* sluice - eBPF egress allowlist filter.  See README.md. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return sl_cli_main(argc, argv);
}
