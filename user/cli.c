// SPDX-License-Identifier: GPL-2.0-only
/* cli.c - being written. */
#include "sl.h"
