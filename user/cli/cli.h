/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef SL_CLI_H
#define SL_CLI_H
/* Run the sluice command line; returns the exit status. */
int sl_cli_main(int argc, char **argv);
#endif
