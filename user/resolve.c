/* SPDX-License-Identifier: GPL-2.0-only */
/* STUB: to be replaced by the parser owner. */
#include "sl.h"
