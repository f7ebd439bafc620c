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

#include <stdlib.h>
#include <string.h>

#include "wfp_filter.h"

/* FWP_DATA_TYPE, for the weight */
#define FWP_EMPTY   0
#define FWP_UINT8   1
#define FWP_UINT64  4

static const uint8_t null_key[16];

void wfp_engine_init( struct wfp_engine *engine )
{
    memset( engine, 0, sizeof(*engine) );
    engine->next_id = 1;
}

static void free_filter( struct wfp_filter *filter )
{
    unsigned int i;

    for (i = 0; i < filter->condition_count; i++)
    {
        free( filter->conditions[i].value.blob );
        free( filter->conditions[i].high.blob );
    }
    free( filter->conditions );
    free( filter );
}

void wfp_engine_free( struct wfp_engine *engine )
{
    unsigned int layer, i;

    for (layer = 0; layer < WFP_LAYER_COUNT; layer++)
    {
        for (i = 0; i < engine->count[layer]; i++) free_filter( engine->filters[layer][i] );
        free( engine->filters[layer] );
    }
    wfp_engine_init( engine );
}

static struct wfp_sublayer *find_sublayer( struct wfp_engine *engine, const uint8_t key[16] )
{
    unsigned int i;

    for (i = 0; i < engine->sublayer_count; i++)
        if (!memcmp( engine->sublayers[i].key, key, 16 )) return &engine->sublayers[i];
    return NULL;
}

enum wfp_engine_result wfp_engine_add_sublayer( struct wfp_engine *engine, const uint8_t key[16],
                                                uint16_t weight, uintptr_t owner )
{
    struct wfp_sublayer *sublayer;

    if (!memcmp( key, null_key, 16 )) return WFP_ENGINE_INVALID;
    if (find_sublayer( engine, key )) return WFP_ENGINE_ALREADY_EXISTS;
    if (engine->sublayer_count >= WFP_ENGINE_MAX_SUBLAYERS) return WFP_ENGINE_TOO_MANY;
    sublayer = &engine->sublayers[engine->sublayer_count++];
    memcpy( sublayer->key, key, 16 );
    sublayer->weight = weight;
    sublayer->owner = owner;
    return WFP_ENGINE_OK;
}

static int sublayer_in_use( const struct wfp_engine *engine, const uint8_t key[16] )
{
    unsigned int layer, i;

    for (layer = 0; layer < WFP_LAYER_COUNT; layer++)
        for (i = 0; i < engine->count[layer]; i++)
            if (!memcmp( engine->filters[layer][i]->sublayer_key, key, 16 )) return 1;
    return 0;
}

enum wfp_engine_result wfp_engine_delete_sublayer( struct wfp_engine *engine, const uint8_t key[16] )
{
    struct wfp_sublayer *sublayer = find_sublayer( engine, key );

    if (!sublayer) return WFP_ENGINE_NOT_FOUND;
    if (sublayer_in_use( engine, key )) return WFP_ENGINE_IN_USE;
    *sublayer = engine->sublayers[--engine->sublayer_count];
    return WFP_ENGINE_OK;
}

/* the order of visits: sublayers by weight, then filters by weight,
 * highest first; ties by sublayer key and filter id */
static int compare_position( uint16_t sublayer_weight, const uint8_t *sublayer_key, uint64_t weight, uint64_t id,
                             const struct wfp_filter *filter )
{
    int ret;

    if (sublayer_weight != filter->sublayer_weight) return sublayer_weight > filter->sublayer_weight ? -1 : 1;
    if ((ret = memcmp( sublayer_key, filter->sublayer_key, 16 ))) return ret;
    if (weight != filter->weight) return weight > filter->weight ? -1 : 1;
    if (id != filter->id) return id < filter->id ? -1 : 1;
    return 0;
}

/* the index of the first filter of the layer that comes after the position */
static unsigned int find_after( struct wfp_filter * const *filters, unsigned int count, uint16_t sublayer_weight,
                                const uint8_t *sublayer_key, uint64_t weight, uint64_t id )
{
    unsigned int lo = 0, hi = count;

    while (lo < hi)
    {
        unsigned int mid = lo + (hi - lo) / 2;
        if (compare_position( sublayer_weight, sublayer_key, weight, id, filters[mid] ) >= 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static int valid_value( const struct wfp_value *value, uint8_t field, uint8_t layer )
{
    switch (field)
    {
    case WFP_FIELD_LOCAL_PORT:
    case WFP_FIELD_REMOTE_PORT:
        return value->kind == WFP_VALUE_UINT && value->num <= 0xffff;
    case WFP_FIELD_PROTOCOL:
        return value->kind == WFP_VALUE_UINT && value->num <= 0xff;
    case WFP_FIELD_FLAGS:
        return value->kind == WFP_VALUE_UINT && value->num <= 0xffffffff;
    case WFP_FIELD_LOCAL_ADDRESS:
    case WFP_FIELD_REMOTE_ADDRESS:
        if (value->kind != WFP_VALUE_ADDR) return 0;
        if (layer == WFP_LAYER_CONNECT_REDIRECT_V4) return value->addr_len == 4;
        if (layer == WFP_LAYER_CONNECT_REDIRECT_V6) return value->addr_len == 16;
        return value->addr_len == 4 || value->addr_len == 16;
    case WFP_FIELD_APP_ID:
        return value->kind == WFP_VALUE_BLOB && value->blob_size <= WFP_FILTER_MAX_BLOB &&
               (value->blob || !value->blob_size);
    case WFP_FIELD_UNKNOWN:
        return value->kind != WFP_VALUE_BLOB || value->blob_size <= WFP_FILTER_MAX_BLOB;
    }
    return 0;
}

static int valid_condition( const struct wfp_condition *cond, uint8_t layer )
{
    if (cond->match >= WFP_MATCH_COUNT || cond->field > WFP_FIELD_UNKNOWN) return 0;
    if (!valid_value( &cond->value, cond->field, layer )) return 0;
    switch (cond->match)
    {
    case WFP_MATCH_RANGE:
        return cond->value.kind != WFP_VALUE_BLOB && cond->high.kind == cond->value.kind &&
               valid_value( &cond->high, cond->field, layer ) && cond->high.addr_len == cond->value.addr_len;
    case WFP_MATCH_FLAGS_ALL_SET:
    case WFP_MATCH_FLAGS_ANY_SET:
    case WFP_MATCH_FLAGS_NONE_SET:
        return cond->value.kind == WFP_VALUE_UINT;
    case WFP_MATCH_EQUAL_CASE_INSENSITIVE:
    case WFP_MATCH_PREFIX:
    case WFP_MATCH_NOT_PREFIX:
        return cond->value.kind == WFP_VALUE_BLOB;
    }
    return 1;
}

static int valid_action( uint32_t action )
{
    switch (action)
    {
    case WFP_ACTION_BLOCK:
    case WFP_ACTION_PERMIT:
    case WFP_ACTION_CALLOUT_TERMINATING:
    case WFP_ACTION_CALLOUT_INSPECTION:
    case WFP_ACTION_CALLOUT_UNKNOWN:
        return 1;
    }
    return 0;
}

static int copy_blob( struct wfp_value *dst, const struct wfp_value *src )
{
    *dst = *src;
    dst->blob = NULL;
    if (src->kind != WFP_VALUE_BLOB || !src->blob_size) return 1;
    if (!(dst->blob = malloc( src->blob_size ))) return 0;
    memcpy( dst->blob, src->blob, src->blob_size );
    return 1;
}

static struct wfp_filter *copy_filter( const struct wfp_filter *src )
{
    struct wfp_filter *filter;
    unsigned int i;

    if (!(filter = malloc( sizeof(*filter) ))) return NULL;
    *filter = *src;
    filter->conditions = NULL;
    filter->condition_count = 0;
    if (!src->condition_count) return filter;
    if (!(filter->conditions = calloc( src->condition_count, sizeof(*filter->conditions) )))
    {
        free( filter );
        return NULL;
    }
    for (i = 0; i < src->condition_count; i++)
    {
        filter->condition_count++;
        filter->conditions[i] = src->conditions[i];
        filter->conditions[i].value.blob = filter->conditions[i].high.blob = NULL;
        if (!copy_blob( &filter->conditions[i].value, &src->conditions[i].value ) ||
            !copy_blob( &filter->conditions[i].high, &src->conditions[i].high ))
        {
            free_filter( filter );
            return NULL;
        }
    }
    return filter;
}

static struct wfp_filter **find_filter_slot( const struct wfp_engine *engine, uint64_t id, unsigned int *layer,
                                             unsigned int *index )
{
    unsigned int l, i;

    for (l = 0; l < WFP_LAYER_COUNT; l++)
        for (i = 0; i < engine->count[l]; i++)
            if (engine->filters[l][i]->id == id)
            {
                *layer = l;
                *index = i;
                return &engine->filters[l][i];
            }
    return NULL;
}

enum wfp_engine_result wfp_engine_add_filter( struct wfp_engine *engine, const struct wfp_filter *template,
                                              uint64_t *id )
{
    const struct wfp_sublayer *sublayer = NULL;
    struct wfp_filter *filter;
    unsigned int layer = template->layer, i, pos;

    if (layer >= WFP_LAYER_COUNT || !valid_action( template->action )) return WFP_ENGINE_INVALID;
    if (template->condition_count > WFP_FILTER_MAX_CONDITIONS) return WFP_ENGINE_TOO_MANY;
    if (template->condition_count && !template->conditions) return WFP_ENGINE_INVALID;
    for (i = 0; i < template->condition_count; i++)
        if (!valid_condition( &template->conditions[i], layer )) return WFP_ENGINE_INVALID;
    /* the default sublayer (FWPM_SUBLAYER_UNIVERSAL) needs no adding */
    if (memcmp( template->sublayer_key, null_key, 16 ) &&
        !(sublayer = find_sublayer( engine, template->sublayer_key )))
        return WFP_ENGINE_NOT_FOUND;
    if (memcmp( template->key, null_key, 16 ))
    {
        unsigned int l, j;
        for (l = 0; l < WFP_LAYER_COUNT; l++)
            for (j = 0; j < engine->count[l]; j++)
                if (!memcmp( engine->filters[l][j]->key, template->key, 16 )) return WFP_ENGINE_ALREADY_EXISTS;
    }
    if (engine->total >= WFP_ENGINE_MAX_FILTERS) return WFP_ENGINE_TOO_MANY;

    if (engine->count[layer] == engine->capacity[layer])
    {
        unsigned int capacity = engine->capacity[layer] ? engine->capacity[layer] * 2 : 16;
        struct wfp_filter **filters = realloc( engine->filters[layer], capacity * sizeof(*filters) );
        if (!filters) return WFP_ENGINE_NO_MEMORY;
        engine->filters[layer] = filters;
        engine->capacity[layer] = capacity;
    }
    if (!(filter = copy_filter( template ))) return WFP_ENGINE_NO_MEMORY;
    filter->id = engine->next_id++;
    filter->sublayer_weight = sublayer ? sublayer->weight : 0;

    pos = find_after( engine->filters[layer], engine->count[layer], filter->sublayer_weight, filter->sublayer_key,
                      filter->weight, filter->id );
    memmove( &engine->filters[layer][pos + 1], &engine->filters[layer][pos],
             (engine->count[layer] - pos) * sizeof(*engine->filters[layer]) );
    engine->filters[layer][pos] = filter;
    engine->count[layer]++;
    engine->total++;
    if (id) *id = filter->id;
    return WFP_ENGINE_OK;
}

static void remove_at( struct wfp_engine *engine, unsigned int layer, unsigned int index )
{
    free_filter( engine->filters[layer][index] );
    memmove( &engine->filters[layer][index], &engine->filters[layer][index + 1],
             (engine->count[layer] - index - 1) * sizeof(*engine->filters[layer]) );
    engine->count[layer]--;
    engine->total--;
}

enum wfp_engine_result wfp_engine_delete_filter( struct wfp_engine *engine, uint64_t id )
{
    unsigned int layer, index;

    if (!find_filter_slot( engine, id, &layer, &index )) return WFP_ENGINE_NOT_FOUND;
    remove_at( engine, layer, index );
    return WFP_ENGINE_OK;
}

enum wfp_engine_result wfp_engine_delete_filter_by_key( struct wfp_engine *engine, const uint8_t key[16] )
{
    unsigned int layer, i;

    if (!memcmp( key, null_key, 16 )) return WFP_ENGINE_NOT_FOUND;
    for (layer = 0; layer < WFP_LAYER_COUNT; layer++)
        for (i = 0; i < engine->count[layer]; i++)
            if (!memcmp( engine->filters[layer][i]->key, key, 16 ))
            {
                remove_at( engine, layer, i );
                return WFP_ENGINE_OK;
            }
    return WFP_ENGINE_NOT_FOUND;
}

const struct wfp_filter *wfp_engine_find_filter( const struct wfp_engine *engine, uint64_t id )
{
    unsigned int layer, index;
    struct wfp_filter **slot = find_filter_slot( engine, id, &layer, &index );

    return slot ? *slot : NULL;
}

unsigned int wfp_engine_remove_owner( struct wfp_engine *engine, uintptr_t owner )
{
    unsigned int layer, i, removed = 0;

    for (layer = 0; layer < WFP_LAYER_COUNT; layer++)
        for (i = engine->count[layer]; i--;)
            if (engine->filters[layer][i]->owner == owner)
            {
                remove_at( engine, layer, i );
                removed++;
            }
    /* Another owner's filters may still be in one of its sublayers: that
     * one stays, with no owner, until they go too. */
    for (i = engine->sublayer_count; i--;)
    {
        struct wfp_sublayer *sublayer = &engine->sublayers[i];

        if (sublayer->owner != owner && sublayer->owner) continue;
        if (sublayer_in_use( engine, sublayer->key ))
            sublayer->owner = 0;
        else
        {
            *sublayer = engine->sublayers[--engine->sublayer_count];
            removed++;
        }
    }
    return removed;
}

unsigned int wfp_engine_layer_count( const struct wfp_engine *engine, enum wfp_layer layer )
{
    return layer < WFP_LAYER_COUNT ? engine->count[layer] : 0;
}

/* Microsoft's "Filter Weight Assignment": BFE makes the low 60 bits itself
 * from the conditions, by a rule it does not document.  Here a filter with
 * more conditions, being more specific, weighs more. */
int wfp_filter_weight( int type, uint64_t value, unsigned int condition_count, uint64_t *weight )
{
    uint64_t automatic = (uint64_t)condition_count << 52;

    switch (type)
    {
    case FWP_EMPTY:
        *weight = automatic;
        return 1;
    case FWP_UINT8:
        if (value > 15) return 0;
        *weight = (value << 60) | automatic;
        return 1;
    case FWP_UINT64:
        *weight = value;
        return 1;
    }
    return 0;
}

static int compare_addr( const uint8_t *a, const uint8_t *b, unsigned int len )
{
    return memcmp( a, b, len );
}

static int addr_equal_masked( const uint8_t *addr, const struct wfp_value *value )
{
    unsigned int i;

    for (i = 0; i < value->addr_len; i++)
        if ((addr[i] & value->mask[i]) != (value->addr[i] & value->mask[i])) return 0;
    return 1;
}

static uint16_t fold( uint16_t c )
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* UTF-16LE; the terminator of the condition's blob does not take part in
 * a prefix */
static int blob_compare( const struct wfp_value *value, const uint8_t *data, uint16_t size, int prefix,
                         int fold_case )
{
    uint16_t len = value->blob_size;
    unsigned int i;

    if (prefix && len >= 2 && !value->blob[len - 1] && !value->blob[len - 2]) len -= 2;
    if (prefix ? size < len : size != len) return 0;
    if (!fold_case) return !memcmp( value->blob, data, len );
    for (i = 0; i + 1 < len; i += 2)
    {
        uint16_t a = value->blob[i] | (value->blob[i + 1] << 8), b = data[i] | (data[i + 1] << 8);
        if (fold( a ) != fold( b )) return 0;
    }
    return len % 2 ? value->blob[len - 1] == data[len - 1] : 1;
}

static int match_uint( const struct wfp_condition *cond, uint64_t v )
{
    uint64_t c = cond->value.num;

    switch (cond->match)
    {
    case WFP_MATCH_EQUAL:                 return v == c;
    case WFP_MATCH_NOT_EQUAL:             return v != c;
    case WFP_MATCH_GREATER:               return v > c;
    case WFP_MATCH_LESS:                  return v < c;
    case WFP_MATCH_GREATER_OR_EQUAL:      return v >= c;
    case WFP_MATCH_LESS_OR_EQUAL:         return v <= c;
    case WFP_MATCH_RANGE:                 return v >= c && v <= cond->high.num;
    case WFP_MATCH_FLAGS_ALL_SET:         return (v & c) == c;
    case WFP_MATCH_FLAGS_ANY_SET:         return (v & c) != 0;
    case WFP_MATCH_FLAGS_NONE_SET:        return !(v & c);
    }
    return 0;
}

static int match_addr( const struct wfp_condition *cond, const uint8_t *addr, unsigned int len )
{
    unsigned int n = cond->value.addr_len;

    if (n != len) return 0;
    switch (cond->match)
    {
    case WFP_MATCH_EQUAL:                 return addr_equal_masked( addr, &cond->value );
    case WFP_MATCH_NOT_EQUAL:             return !addr_equal_masked( addr, &cond->value );
    case WFP_MATCH_GREATER:               return compare_addr( addr, cond->value.addr, n ) > 0;
    case WFP_MATCH_LESS:                  return compare_addr( addr, cond->value.addr, n ) < 0;
    case WFP_MATCH_GREATER_OR_EQUAL:      return compare_addr( addr, cond->value.addr, n ) >= 0;
    case WFP_MATCH_LESS_OR_EQUAL:         return compare_addr( addr, cond->value.addr, n ) <= 0;
    case WFP_MATCH_RANGE:
        return compare_addr( addr, cond->value.addr, n ) >= 0 && compare_addr( addr, cond->high.addr, n ) <= 0;
    }
    return 0;
}

static int match_blob( const struct wfp_condition *cond, const uint8_t *data, uint16_t size )
{
    if (!data) return 0;
    switch (cond->match)
    {
    case WFP_MATCH_EQUAL:                  return blob_compare( &cond->value, data, size, 0, 0 );
    case WFP_MATCH_NOT_EQUAL:              return !blob_compare( &cond->value, data, size, 0, 0 );
    case WFP_MATCH_EQUAL_CASE_INSENSITIVE: return blob_compare( &cond->value, data, size, 0, 1 );
    case WFP_MATCH_PREFIX:                 return blob_compare( &cond->value, data, size, 1, 0 );
    case WFP_MATCH_NOT_PREFIX:             return !blob_compare( &cond->value, data, size, 1, 0 );
    }
    return 0;
}

int wfp_condition_matches( const struct wfp_condition *cond, const struct wfp_classify_values *values )
{
    switch (cond->field)
    {
    case WFP_FIELD_LOCAL_PORT:      return match_uint( cond, values->local_port );
    case WFP_FIELD_REMOTE_PORT:     return match_uint( cond, values->remote_port );
    case WFP_FIELD_PROTOCOL:        return match_uint( cond, values->protocol );
    case WFP_FIELD_FLAGS:           return match_uint( cond, values->flags );
    case WFP_FIELD_LOCAL_ADDRESS:   return match_addr( cond, values->local_addr, values->addr_len );
    case WFP_FIELD_REMOTE_ADDRESS:  return match_addr( cond, values->remote_addr, values->addr_len );
    case WFP_FIELD_APP_ID:          return match_blob( cond, values->app_id, values->app_id_size );
    }
    return 0;
}

/* consecutive conditions on one field are ORed, the runs ANDed */
int wfp_filter_matches( const struct wfp_filter *filter, const struct wfp_classify_values *values )
{
    unsigned int i = 0;

    while (i < filter->condition_count)
    {
        uint8_t field = filter->conditions[i].field;
        int any = 0;

        for (; i < filter->condition_count && filter->conditions[i].field == field; i++)
            if (!any) any = wfp_condition_matches( &filter->conditions[i], values );
        if (!any) return 0;
    }
    return 1;
}

void wfp_classify_start( struct wfp_classify *classify, const struct wfp_engine *engine, enum wfp_layer layer,
                         const struct wfp_classify_values *values )
{
    memset( classify, 0, sizeof(*classify) );
    classify->engine = engine;
    classify->values = values;
    classify->layer = layer;
    classify->action = WFP_ACTION_NONE;
    classify->rights = WFP_RIGHT_ACTION_WRITE;
    classify->done = layer >= WFP_LAYER_OTHER;
}

/* a sublayer's decision, merged into the layer's */
static void close_sublayer( struct wfp_classify *classify )
{
    if (!classify->in_sublayer) return;
    classify->in_sublayer = 0;
    if (!classify->sublayer_decided) return;
    if (classify->action == WFP_ACTION_NONE || (classify->rights & WFP_RIGHT_ACTION_WRITE))
    {
        classify->action = classify->sublayer_action;
        classify->rights = classify->sublayer_rights;
    }
    else if (classify->action == WFP_ACTION_PERMIT && classify->sublayer_action == WFP_ACTION_BLOCK &&
             classify->sublayer_veto)
    {
        classify->action = WFP_ACTION_BLOCK;
        classify->rights = 0;
    }
}

static void decide( struct wfp_classify *classify, uint32_t action, uint32_t rights, int veto )
{
    classify->sublayer_decided = 1;
    classify->sublayer_action = action;
    classify->sublayer_rights = rights & WFP_RIGHT_ACTION_WRITE;
    classify->sublayer_veto = veto;
}

const struct wfp_filter *wfp_classify_next( struct wfp_classify *classify, uint32_t *rights )
{
    const struct wfp_engine *engine = classify->engine;
    unsigned int layer = classify->layer;

    while (!classify->done)
    {
        const struct wfp_filter *filter;
        unsigned int index = 0;

        if (classify->started)
            index = find_after( engine->filters[layer], engine->count[layer], classify->last_sublayer_weight,
                                classify->last_sublayer_key, classify->last_weight, classify->last_id );
        if (index >= engine->count[layer])
        {
            close_sublayer( classify );
            classify->done = 1;
            break;
        }
        filter = engine->filters[layer][index];

        if (classify->in_sublayer && (filter->sublayer_weight != classify->last_sublayer_weight ||
                                      memcmp( filter->sublayer_key, classify->last_sublayer_key, 16 )))
            close_sublayer( classify );
        if (!classify->in_sublayer)
        {
            classify->in_sublayer = 1;
            classify->sublayer_decided = 0;
        }
        classify->started = 1;
        classify->last_sublayer_weight = filter->sublayer_weight;
        memcpy( classify->last_sublayer_key, filter->sublayer_key, 16 );
        classify->last_weight = filter->weight;
        classify->last_id = filter->id;

        if (classify->sublayer_decided || !wfp_filter_matches( filter, classify->values )) continue;

        switch (filter->action)
        {
        case WFP_ACTION_BLOCK:
        case WFP_ACTION_PERMIT:
            decide( classify, filter->action,
                    (filter->flags & WFP_FILTER_FLAG_CLEAR_ACTION_RIGHT) ? 0 : WFP_RIGHT_ACTION_WRITE, 0 );
            break;
        default:
            if (rights) *rights = classify->rights;
            return filter;
        }
    }
    return NULL;
}

void wfp_classify_set_result( struct wfp_classify *classify, const struct wfp_filter *filter, uint32_t action,
                              uint32_t rights )
{
    /* an inspection callout only looks */
    if (filter->action == WFP_ACTION_CALLOUT_INSPECTION) return;
    if (action != WFP_ACTION_BLOCK && action != WFP_ACTION_PERMIT) return;
    /* a block from a callout that was not given the right is a veto */
    decide( classify, action, rights, action == WFP_ACTION_BLOCK && !(classify->rights & WFP_RIGHT_ACTION_WRITE) );
}

/* FWPM_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED: otherwise a terminating
 * filter whose callout is missing blocks */
void wfp_classify_unregistered( struct wfp_classify *classify, const struct wfp_filter *filter )
{
    if (filter->action == WFP_ACTION_CALLOUT_INSPECTION) return;
    decide( classify, (filter->flags & WFP_FILTER_FLAG_PERMIT_IF_CALLOUT_UNREGISTERED) ? WFP_ACTION_PERMIT
                                                                                     : WFP_ACTION_BLOCK,
            WFP_RIGHT_ACTION_WRITE, 0 );
}

uint32_t wfp_classify_action( const struct wfp_classify *classify )
{
    return classify->action == WFP_ACTION_BLOCK ? WFP_ACTION_BLOCK : WFP_ACTION_PERMIT;
}
