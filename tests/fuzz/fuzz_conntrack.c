/*
 * libFuzzer target for the reading of ctnetlink answers
 * (server/wfp_conntrack.c), which the wineserver trusts no more than any input
 *
 * Copyright 2026 The wine-wfp authors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Lesser General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * This library is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Lesser General Public License for more details.
 *
 * You should have received a copy of the GNU Lesser General Public
 * License along with this library; if not, write to the Free Software
 * Foundation, Inc., 51 Franklin St, Fifth Floor, Boston, MA 02110-1301, USA
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wfp_conntrack.h"

int LLVMFuzzerTestOneInput( const uint8_t *data, size_t size )
{
    struct wfp_endpoint src, dst;
    uint32_t seq = 0;
    void *copy;
    int ret;

    /* the first bytes choose the sequence number; the rest is what recv()
     * gave, in an exact-size heap copy so that ASan sees any read past it */
    if (size >= sizeof(seq))
    {
        memcpy( &seq, data, sizeof(seq) );
        data += sizeof(seq);
        size -= sizeof(seq);
    }
    if (!(copy = malloc( size ? size : 1 ))) return 0;
    memcpy( copy, data, size );
    ret = wfp_conntrack_parse( copy, size, seq, &src, &dst );
    if (ret > 1) abort();
    if (ret == 1 && ((src.family != 4 && src.family != 6) || src.family != dst.family)) abort();
    free( copy );
    return 0;
}
