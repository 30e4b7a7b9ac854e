/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ports.h - allow/deny lines (ports.c).  Internal to user/front.
 */
#ifndef SL_FRONT_PORTS_H
#define SL_FRONT_PORTS_H

#include "front/lexer.h"

/* One allow/deny line of rule @ri after its keyword @act was consumed. */
void sl__parse_line(struct pctx *c, struct lexer *lx, size_t ri, const struct tok *act);

#endif
