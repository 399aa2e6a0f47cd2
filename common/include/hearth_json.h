/*  hearth_json.h — the one set of jansson dump flags for every JSON text
    Hearth prints or sends (control replies, stats, hearthctl's output,
    replies to peers' calls over the mesh).

    Compact, and reals with HEARTH_JSON_REAL_DIGITS significant digits, so
    a coordinate typed as 52.52 prints as 52.52 (jansson's default of 17
    digits prints 52.520000000000003). Any decimal of up to 15 digits
    round-trips exactly through a double (DBL_DIG = 15).

    Not for signed documents: a canonical form (node_invite_canonical)
    states its own flags beside its signature rules.
*/
#ifndef HEARTH_JSON_H
#define HEARTH_JSON_H

#include <jansson.h>

#define HEARTH_JSON_REAL_DIGITS  15
#define HEARTH_JSON_FLAGS        (JSON_COMPACT | JSON_REAL_PRECISION (HEARTH_JSON_REAL_DIGITS))

#endif
