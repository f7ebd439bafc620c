/*
 * WFP connection redirection: the filter engine of callout drivers
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

/*
 * Plain C, shared by the wineserver and the native tests.
 *
 * The sublayers and filters that drivers add with FwpmSubLayerAdd0 and
 * FwpmFilterAdd0 (through fwpkclnt.sys), kept where every connect() is
 * seen, and the order in which a classification visits them.  What the
 * engine does is Microsoft's "Filter Arbitration" page:
 *
 *  - sublayers are visited from the highest weight to the lowest, all of
 *    them, even after one blocked;
 *  - inside a sublayer, the matching filters are visited from the highest
 *    weight to the lowest until one returns permit or block; the rest of
 *    the sublayer is skipped;
 *  - between sublayers, a later sublayer may override the action while
 *    FWPS_RIGHT_ACTION_WRITE is set; once it is cleared, a permit can only
 *    be overridden by a callout's block (a veto) and a block is final.
 *
 * Conditions are FWPM_FILTER0's: all must hold, except that consecutive
 * conditions on the same field are ORed (the FWPM_FILTER0 page, "Windows 7
 * and later").  Equal weights are ordered by the sublayer's key and the
 * filter's id, so that the order never depends on when a filter came.
 *
 * A classification is a cursor, not a call: a callout filter is handed
 * back to the caller, which asks the driver and reports its action with
 * wfp_classify_set_result.  The cursor keeps only the position of the last
 * filter visited, so filters may come and go while a driver thinks.
 */

#ifndef __WINE_SERVER_WFP_FILTER_H
#define __WINE_SERVER_WFP_FILTER_H

#include <stddef.h>
#include <stdint.h>

/* caps, so that a driver cannot take all of the wineserver's memory */
#define WFP_ENGINE_MAX_FILTERS      4096
#define WFP_ENGINE_MAX_SUBLAYERS    256
#define WFP_FILTER_MAX_CONDITIONS   32
#define WFP_FILTER_MAX_BLOB         1024    /* an application id: an NT path in UTF-16 */

/* FWP_ACTION_TYPE */
#define WFP_ACTION_BLOCK                0x1001
#define WFP_ACTION_PERMIT               0x1002
#define WFP_ACTION_CALLOUT_TERMINATING  0x5003
#define WFP_ACTION_CALLOUT_INSPECTION   0x6004
#define WFP_ACTION_CALLOUT_UNKNOWN      0x4005
#define WFP_ACTION_CONTINUE             0x2006
#define WFP_ACTION_NONE                 0x0007

/* FWPS_RIGHT_ACTION_WRITE */
#define WFP_RIGHT_ACTION_WRITE          0x1

/* FWPM_FILTER_FLAG_* that the engine acts on */
#define WFP_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED  0x4
#define WFP_FILTER_FLAG_CLEAR_ACTION_RIGHT              0x8

/* the layers that are classified; filters at any other are kept, never
 * visited */
enum wfp_layer
{
    WFP_LAYER_CONNECT_REDIRECT_V4,
    WFP_LAYER_CONNECT_REDIRECT_V6,
    WFP_LAYER_OTHER,
    WFP_LAYER_COUNT
};

/* the fields of the connect-redirect layers that conditions may test */
enum wfp_field
{
    WFP_FIELD_APP_ID,
    WFP_FIELD_LOCAL_ADDRESS,
    WFP_FIELD_LOCAL_PORT,
    WFP_FIELD_REMOTE_ADDRESS,
    WFP_FIELD_REMOTE_PORT,
    WFP_FIELD_PROTOCOL,
    WFP_FIELD_FLAGS,
    WFP_FIELD_UNKNOWN,      /* kept; a condition on it never holds */
};

/* FWP_MATCH_TYPE */
enum wfp_match
{
    WFP_MATCH_EQUAL,
    WFP_MATCH_GREATER,
    WFP_MATCH_LESS,
    WFP_MATCH_GREATER_OR_EQUAL,
    WFP_MATCH_LESS_OR_EQUAL,
    WFP_MATCH_RANGE,
    WFP_MATCH_FLAGS_ALL_SET,
    WFP_MATCH_FLAGS_ANY_SET,
    WFP_MATCH_FLAGS_NONE_SET,
    WFP_MATCH_EQUAL_CASE_INSENSITIVE,
    WFP_MATCH_NOT_EQUAL,
    WFP_MATCH_PREFIX,
    WFP_MATCH_NOT_PREFIX,
    WFP_MATCH_COUNT
};

enum wfp_value_kind
{
    WFP_VALUE_UINT,     /* ports, protocol, flags */
    WFP_VALUE_ADDR,     /* 4 or 16 bytes in network order, with a mask */
    WFP_VALUE_BLOB,     /* an application id */
};

struct wfp_value
{
    uint8_t  kind;
    uint8_t  addr_len;          /* 4 or 16 */
    uint16_t blob_size;
    uint64_t num;
    uint8_t  addr[16];
    uint8_t  mask[16];          /* all ones for an address without a mask */
    uint8_t *blob;
};

struct wfp_condition
{
    uint8_t field;              /* enum wfp_field */
    uint8_t match;              /* enum wfp_match */
    struct wfp_value value;
    struct wfp_value high;      /* WFP_MATCH_RANGE */
};

struct wfp_filter
{
    uint64_t id;
    uint64_t weight;            /* the effective weight, see wfp_filter_weight */
    uint8_t  key[16];
    uint8_t  sublayer_key[16];
    uint8_t  callout_key[16];
    uint8_t  layer;             /* enum wfp_layer */
    uint32_t action;            /* WFP_ACTION_* */
    uint32_t flags;             /* WFP_FILTER_FLAG_* */
    uint64_t context;           /* rawContext, given to the callout */
    uintptr_t owner;            /* who added it (nonzero); its filters go with it */
    unsigned int condition_count;
    struct wfp_condition *conditions;
    /* the sublayer's weight, copied when the filter is added */
    uint16_t sublayer_weight;
};

struct wfp_sublayer
{
    uint8_t   key[16];
    uint16_t  weight;
    uintptr_t owner;            /* nonzero; 0 once its owner went but filters still use it */
};

enum wfp_engine_result
{
    WFP_ENGINE_OK,
    WFP_ENGINE_NOT_FOUND,       /* STATUS_FWP_FILTER_NOT_FOUND, _SUBLAYER_NOT_FOUND */
    WFP_ENGINE_ALREADY_EXISTS,  /* STATUS_FWP_ALREADY_EXISTS */
    WFP_ENGINE_IN_USE,          /* STATUS_FWP_IN_USE */
    WFP_ENGINE_TOO_MANY,        /* a cap */
    WFP_ENGINE_INVALID,         /* STATUS_FWP_INVALID_PARAMETER and the like */
    WFP_ENGINE_NO_MEMORY,
};

struct wfp_engine
{
    struct wfp_sublayer sublayers[WFP_ENGINE_MAX_SUBLAYERS];
    unsigned int sublayer_count;
    /* per layer, in the order a classification visits them */
    struct wfp_filter **filters[WFP_LAYER_COUNT];
    unsigned int count[WFP_LAYER_COUNT], capacity[WFP_LAYER_COUNT];
    unsigned int total;
    uint64_t next_id;
};

/* what a connect() looks like at ALE_CONNECT_REDIRECT */
struct wfp_classify_values
{
    uint8_t  addr_len;          /* 4 or 16 */
    uint8_t  protocol;
    uint16_t local_port, remote_port;
    uint8_t  local_addr[16], remote_addr[16];
    uint32_t flags;             /* FWP_CONDITION_FLAG_* */
    const uint8_t *app_id;      /* the NT path in UTF-16LE, lower case, with its terminator */
    uint16_t app_id_size;
};

struct wfp_classify
{
    const struct wfp_engine *engine;
    const struct wfp_classify_values *values;
    uint8_t  layer;
    /* the last filter visited: where to go on from */
    int      started;
    uint16_t last_sublayer_weight;
    uint8_t  last_sublayer_key[16];
    uint64_t last_weight, last_id;
    /* the sublayer being visited */
    int      in_sublayer, sublayer_decided;
    uint32_t sublayer_action, sublayer_rights;
    int      sublayer_veto;
    /* the layer's result so far */
    uint32_t action;            /* WFP_ACTION_NONE, _PERMIT or _BLOCK */
    uint32_t rights;
    int      done;
};

extern void wfp_engine_init( struct wfp_engine *engine );
extern void wfp_engine_free( struct wfp_engine *engine );
extern enum wfp_engine_result wfp_engine_add_sublayer( struct wfp_engine *engine, const uint8_t key[16],
                                                       uint16_t weight, uintptr_t owner );
extern enum wfp_engine_result wfp_engine_delete_sublayer( struct wfp_engine *engine, const uint8_t key[16] );
/* Copies the filter, its conditions and their blobs; gives it its id. */
extern enum wfp_engine_result wfp_engine_add_filter( struct wfp_engine *engine, const struct wfp_filter *filter,
                                                     uint64_t *id );
extern enum wfp_engine_result wfp_engine_delete_filter( struct wfp_engine *engine, uint64_t id );
extern enum wfp_engine_result wfp_engine_delete_filter_by_key( struct wfp_engine *engine, const uint8_t key[16] );
extern const struct wfp_filter *wfp_engine_find_filter( const struct wfp_engine *engine, uint64_t id );
/* everything an owner added: what an unloaded driver leaves behind */
extern unsigned int wfp_engine_remove_owner( struct wfp_engine *engine, uintptr_t owner );
extern unsigned int wfp_engine_layer_count( const struct wfp_engine *engine, enum wfp_layer layer );

/* FWPM_FILTER0.weight: FWP_EMPTY (have_weight 0), FWP_UINT8 (a range, 0-15)
 * or FWP_UINT64 (as is) */
extern int wfp_filter_weight( int type, uint64_t value, unsigned int condition_count, uint64_t *weight );
extern int wfp_condition_matches( const struct wfp_condition *cond, const struct wfp_classify_values *values );
extern int wfp_filter_matches( const struct wfp_filter *filter, const struct wfp_classify_values *values );

extern void wfp_classify_start( struct wfp_classify *classify, const struct wfp_engine *engine,
                                enum wfp_layer layer, const struct wfp_classify_values *values );
/* The next callout filter to ask, with the rights it is given; NULL when
 * the classification is over.  Static filters are applied on the way. */
extern const struct wfp_filter *wfp_classify_next( struct wfp_classify *classify, uint32_t *rights );
/* What the callout answered (classifyOut's actionType and rights); for a
 * callout that is not registered, use wfp_classify_unregistered. */
extern void wfp_classify_set_result( struct wfp_classify *classify, const struct wfp_filter *filter,
                                     uint32_t action, uint32_t rights );
extern void wfp_classify_unregistered( struct wfp_classify *classify, const struct wfp_filter *filter );
/* WFP_ACTION_PERMIT or WFP_ACTION_BLOCK, once wfp_classify_next gave NULL */
extern uint32_t wfp_classify_action( const struct wfp_classify *classify );

#endif /* __WINE_SERVER_WFP_FILTER_H */
