/*
 * fwpkclnt.sys: the WFP kernel client library of callout drivers
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
 * The filter engine is the wineserver's (server/wfp_callout.c): it sees
 * every connect().  This library, loaded into the winedevice process of a
 * driver that imports it, keeps the driver's objects there through one
 * AFD socket per process, the engine socket, and runs the driver's
 * classifyFn for each classification the wineserver hands it, on a thread
 * of its own.  Only ALE_CONNECT_REDIRECT_V4/V6 is classified; filters at
 * other layers are accepted and kept, and never fire.
 */

#include <stdarg.h>

#include "ntstatus.h"
#define WIN32_NO_STATUS
#include "windef.h"
#include "winbase.h"
#include "winternl.h"
#include "winioctl.h"
#include "ddk/ntddk.h"
#include "initguid.h"
#include "ddk/fwpmk.h"
#include "winsock2.h"
#include "wine/afd.h"
#include "wine/debug.h"
#include "wine/exception.h"
#include "wine/list.h"

WINE_DEFAULT_DEBUG_CHANNEL(fwpkclnt);

#ifndef STATUS_FWP_CALLOUT_NOT_FOUND
#define STATUS_FWP_CALLOUT_NOT_FOUND    ((NTSTATUS)0xC0220001)
#define STATUS_FWP_ALREADY_EXISTS       ((NTSTATUS)0xC0220009)
#endif

#define MAX_CALLOUTS        256     /* per process */
#define MAX_CONTEXT_SIZE    4096    /* localRedirectContextSize; the wineserver's cap */
#define CLASSIFY_BUFFER     8192

/* the wineserver's field numbers (server/wfp_filter.h) */
enum field { FIELD_APP_ID, FIELD_LOCAL_ADDRESS, FIELD_LOCAL_PORT, FIELD_REMOTE_ADDRESS, FIELD_REMOTE_PORT,
             FIELD_PROTOCOL, FIELD_FLAGS, FIELD_UNKNOWN };
enum kind { KIND_NUMBER, KIND_ADDR, KIND_BLOB };

#define ENGINE_MAGIC    0x656e6777  /* "wgne" */
#define REDIRECT_MAGIC  0x72646877
#define RECORDS_MAGIC   0x63657277

struct engine
{
    DWORD magic;
    BOOL  dynamic;
};

struct redirect_handle
{
    DWORD  magic;
    USHORT service;
};

struct records_handle
{
    DWORD        magic;
    unsigned int hop_count;
    const ULONG *hops;
    const BYTE  *records;
    ULONG        records_size;
};

struct callout
{
    GUID   key;
    UINT32 id;              /* FwpmCalloutAdd0's and FwpsCalloutRegister's */
    int    version;         /* of FWPS_CALLOUTn; -1 while only added */
    void  *classify;        /* FWPS_CALLOUT_CLASSIFY_FNn */
    void  *notify;
    UINT32 flags;
};

/* a classification: what the driver's classifyFn, and a pended one's
 * later calls, work on */
struct classify
{
    LONG                   refs;
    struct afd_wfp_classify_request *request;   /* in data */
    FWPS_CONNECT_REQUEST0  writable;
    FWPS_CONNECT_REQUEST0  initial;     /* what writable was when it was handed out */
    FWPS_CONNECT_REQUEST0  previous;
    BOOL                   acquired, applied, pended, completed;
    struct records_handle  records;
    BYTE                   data[CLASSIFY_BUFFER];
};

/* a filter, and the module that added it: when a driver is unloaded with
 * its objects in place, its filters go, and so do its callouts and the
 * filters that call them */
struct driver_filter
{
    struct list entry;
    UINT64      id;
    GUID        key;
    GUID        callout_key;
    BOOL        calls_callout;
    void       *module;
};

static CRITICAL_SECTION cs;
static CRITICAL_SECTION_DEBUG cs_debug =
{
    0, 0, &cs,
    { &cs_debug.ProcessLocksList, &cs_debug.ProcessLocksList },
      0, 0, { (DWORD_PTR)(__FILE__ ": cs") }
};
static CRITICAL_SECTION cs = { &cs_debug, -1, 0, 0, 0, 0 };

static const GUID null_guid;
static HANDLE engine_socket;
static BOOL worker_started;
static struct callout callouts[MAX_CALLOUTS];
static unsigned int callout_count;
static UINT32 next_callout_id = 1;
static struct list driver_filters = LIST_INIT( driver_filters );

static NTSTATUS open_engine_socket(void)
{
    static const WCHAR afdW[] = L"\\Device\\Afd";
    struct afd_create_params params = { 2 /* AF_INET */, 1 /* SOCK_STREAM */, 6 /* IPPROTO_TCP */, 0 };
    UNICODE_STRING name;
    OBJECT_ATTRIBUTES attr;
    IO_STATUS_BLOCK io;
    NTSTATUS status;
    HANDLE handle;

    if (engine_socket) return STATUS_SUCCESS;
    RtlInitUnicodeString( &name, afdW );
    InitializeObjectAttributes( &attr, &name, OBJ_KERNEL_HANDLE, NULL, NULL );
    if ((status = ZwOpenFile( &handle, GENERIC_READ | GENERIC_WRITE | SYNCHRONIZE, &attr, &io, 0, 0 )))
    {
        ERR( "cannot open the AFD device: %#lx\n", status );
        return status;
    }
    if ((status = NtDeviceIoControlFile( handle, NULL, NULL, NULL, &io, IOCTL_AFD_WINE_CREATE,
                                         &params, sizeof(params), NULL, 0 )))
    {
        ERR( "cannot create the engine socket: %#lx\n", status );
        ZwClose( handle );
        return status;
    }
    engine_socket = handle;
    return STATUS_SUCCESS;
}

/* a request to the wineserver on the engine socket, waited for */
static NTSTATUS engine_ioctl( ULONG code, const void *in, ULONG in_size, void *out, ULONG out_size,
                              ULONG_PTR *info )
{
    IO_STATUS_BLOCK io;
    NTSTATUS status;
    HANDLE event;

    if ((status = open_engine_socket())) return status;
    if ((status = ZwCreateEvent( &event, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE ))) return status;
    status = NtDeviceIoControlFile( engine_socket, event, NULL, NULL, &io, code, (void *)in, in_size,
                                    out, out_size );
    if (status == STATUS_PENDING)
    {
        ZwWaitForSingleObject( event, FALSE, NULL );
        status = io.Status;
    }
    if (info) *info = io.Information;
    ZwClose( event );
    return status;
}

static struct engine *get_engine( HANDLE handle )
{
    struct engine *engine = handle;
    BOOL ok = FALSE;

    __TRY
    {
        ok = engine && engine->magic == ENGINE_MAGIC;
    }
    __EXCEPT_PAGE_FAULT
    {
        ok = FALSE;
    }
    __ENDTRY
    return ok ? engine : NULL;
}

/***********************************************************************
 *           FwpmEngineOpen0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpmEngineOpen0( const WCHAR *server, UINT32 authn, struct _SEC_WINNT_AUTH_IDENTITY_W *identity,
                                 const FWPM_SESSION0 *session, HANDLE *handle )
{
    struct engine *engine;
    NTSTATUS status;

    TRACE( "%s, %u, %p, %p, %p\n", debugstr_w(server), authn, identity, session, handle );

    if (!handle) return STATUS_INVALID_PARAMETER;
    if (server) return STATUS_NOT_SUPPORTED;   /* the kernel engine is local only */
    EnterCriticalSection( &cs );
    status = open_engine_socket();
    LeaveCriticalSection( &cs );
    if (status) return status;
    if (!(engine = ExAllocatePool( NonPagedPool, sizeof(*engine) ))) return STATUS_NO_MEMORY;
    engine->magic = ENGINE_MAGIC;
    engine->dynamic = session && (session->flags & FWPM_SESSION_FLAG_DYNAMIC);
    if (engine->dynamic) FIXME( "dynamic sessions keep their objects until the driver's process ends\n" );
    *handle = engine;
    return STATUS_SUCCESS;
}

/***********************************************************************
 *           FwpmEngineClose0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpmEngineClose0( HANDLE handle )
{
    struct engine *engine = get_engine( handle );

    TRACE( "%p\n", handle );

    if (!engine) return STATUS_INVALID_PARAMETER;
    engine->magic = 0;
    ExFreePool( engine );
    return STATUS_SUCCESS;
}

/* Transactions: the wineserver applies each change at once, so a
 * transaction is only a bracket; an abort does not undo. */

/***********************************************************************
 *           FwpmTransactionBegin0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpmTransactionBegin0( HANDLE handle, UINT32 flags )
{
    TRACE( "%p, %#x\n", handle, flags );
    return get_engine( handle ) ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

/***********************************************************************
 *           FwpmTransactionCommit0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpmTransactionCommit0( HANDLE handle )
{
    TRACE( "%p\n", handle );
    return get_engine( handle ) ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

/***********************************************************************
 *           FwpmTransactionAbort0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpmTransactionAbort0( HANDLE handle )
{
    TRACE( "%p\n", handle );
    if (!get_engine( handle )) return STATUS_INVALID_PARAMETER;
    FIXME( "the changes of the transaction stay\n" );
    return STATUS_SUCCESS;
}

/***********************************************************************
 *           FwpmProviderAdd0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpmProviderAdd0( HANDLE handle, const FWPM_PROVIDER0 *provider, PSECURITY_DESCRIPTOR sd )
{
    TRACE( "%p, %p, %p\n", handle, provider, sd );

    if (!get_engine( handle ) || !provider) return STATUS_INVALID_PARAMETER;
    /* providers only label objects; nothing classifies by them */
    return STATUS_SUCCESS;
}

/***********************************************************************
 *           FwpmSubLayerAdd0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpmSubLayerAdd0( HANDLE handle, const FWPM_SUBLAYER0 *sublayer, PSECURITY_DESCRIPTOR sd )
{
    struct afd_wfp_sublayer_params params;

    TRACE( "%p, %p, %p\n", handle, sublayer, sd );

    if (!get_engine( handle ) || !sublayer) return STATUS_INVALID_PARAMETER;
    params.key = sublayer->subLayerKey;
    params.weight = sublayer->weight;
    if (IsEqualGUID( &params.key, &null_guid )) ExUuidCreate( &params.key );
    return engine_ioctl( IOCTL_AFD_WINE_WFP_ENGINE_ADD_SUBLAYER, &params, sizeof(params), NULL, 0, NULL );
}

/***********************************************************************
 *           FwpmSubLayerDeleteByKey0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpmSubLayerDeleteByKey0( HANDLE handle, const GUID *key )
{
    TRACE( "%p, %s\n", handle, debugstr_guid(key) );

    if (!get_engine( handle ) || !key) return STATUS_INVALID_PARAMETER;
    return engine_ioctl( IOCTL_AFD_WINE_WFP_ENGINE_DELETE_SUBLAYER, key, sizeof(*key), NULL, 0, NULL );
}

static struct callout *find_callout_by_key( const GUID *key )
{
    unsigned int i;

    for (i = 0; i < callout_count; i++) if (IsEqualGUID( &callouts[i].key, key )) return &callouts[i];
    return NULL;
}

static struct callout *find_callout_by_id( UINT32 id )
{
    unsigned int i;

    for (i = 0; i < callout_count; i++) if (callouts[i].id == id) return &callouts[i];
    return NULL;
}

static struct callout *add_callout( const GUID *key )
{
    struct callout *callout;

    if ((callout = find_callout_by_key( key ))) return callout;
    if (callout_count >= MAX_CALLOUTS) return NULL;
    callout = &callouts[callout_count++];
    memset( callout, 0, sizeof(*callout) );
    callout->key = *key;
    callout->id = next_callout_id++;
    callout->version = -1;
    return callout;
}

static void remove_callout( struct callout *callout )
{
    *callout = callouts[--callout_count];
}

/***********************************************************************
 *           FwpmCalloutAdd0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpmCalloutAdd0( HANDLE handle, const FWPM_CALLOUT0 *callout, PSECURITY_DESCRIPTOR sd, UINT32 *id )
{
    struct callout *entry;
    NTSTATUS status = STATUS_SUCCESS;

    TRACE( "%p, %p, %p, %p\n", handle, callout, sd, id );

    if (!get_engine( handle ) || !callout) return STATUS_INVALID_PARAMETER;
    EnterCriticalSection( &cs );
    if (!(entry = add_callout( &callout->calloutKey ))) status = STATUS_INSUFFICIENT_RESOURCES;
    else if (id) *id = entry->id;
    LeaveCriticalSection( &cs );
    return status;
}

static NTSTATUS tell_callout( const GUID *key, BOOL registered )
{
    struct afd_wfp_callout_params params;

    params.key = *key;
    params.registered = registered;
    return engine_ioctl( IOCTL_AFD_WINE_WFP_ENGINE_CALLOUT, &params, sizeof(params), NULL, 0, NULL );
}

static NTSTATUS delete_callout( struct callout *callout )
{
    if (!callout) return STATUS_FWP_CALLOUT_NOT_FOUND;
    if (callout->version >= 0) tell_callout( &callout->key, FALSE );
    remove_callout( callout );
    return STATUS_SUCCESS;
}

/***********************************************************************
 *           FwpmCalloutDeleteById0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpmCalloutDeleteById0( HANDLE handle, UINT32 id )
{
    NTSTATUS status;

    TRACE( "%p, %u\n", handle, id );

    if (!get_engine( handle )) return STATUS_INVALID_PARAMETER;
    EnterCriticalSection( &cs );
    status = delete_callout( find_callout_by_id( id ) );
    LeaveCriticalSection( &cs );
    return status;
}

/***********************************************************************
 *           FwpmCalloutDeleteByKey0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpmCalloutDeleteByKey0( HANDLE handle, const GUID *key )
{
    NTSTATUS status;

    TRACE( "%p, %s\n", handle, debugstr_guid(key) );

    if (!get_engine( handle ) || !key) return STATUS_INVALID_PARAMETER;
    EnterCriticalSection( &cs );
    status = delete_callout( find_callout_by_key( key ) );
    LeaveCriticalSection( &cs );
    return status;
}

static ULONG layer_of( const GUID *key )
{
    if (IsEqualGUID( key, &FWPM_LAYER_ALE_CONNECT_REDIRECT_V4 )) return 0;
    if (IsEqualGUID( key, &FWPM_LAYER_ALE_CONNECT_REDIRECT_V6 )) return 1;
    return 2;
}

static BYTE field_of( const GUID *key )
{
    if (IsEqualGUID( key, &FWPM_CONDITION_ALE_APP_ID )) return FIELD_APP_ID;
    if (IsEqualGUID( key, &FWPM_CONDITION_IP_LOCAL_ADDRESS )) return FIELD_LOCAL_ADDRESS;
    if (IsEqualGUID( key, &FWPM_CONDITION_IP_LOCAL_PORT )) return FIELD_LOCAL_PORT;
    if (IsEqualGUID( key, &FWPM_CONDITION_IP_REMOTE_ADDRESS )) return FIELD_REMOTE_ADDRESS;
    if (IsEqualGUID( key, &FWPM_CONDITION_IP_REMOTE_PORT )) return FIELD_REMOTE_PORT;
    if (IsEqualGUID( key, &FWPM_CONDITION_IP_PROTOCOL )) return FIELD_PROTOCOL;
    if (IsEqualGUID( key, &FWPM_CONDITION_FLAGS )) return FIELD_FLAGS;
    FIXME( "condition %s is never met\n", debugstr_guid(key) );
    return FIELD_UNKNOWN;
}

static void put_be32( BYTE *p, UINT32 v )
{
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

/* one FWP_VALUE0 or FWP_CONDITION_VALUE0 of a single type */
static BOOL flatten_single( FWP_DATA_TYPE type, const void *value_union, struct afd_wfp_condition *cond,
                            ULONGLONG *num, BYTE addr[16], BYTE *blobs, ULONG *blobs_size )
{
    const FWP_CONDITION_VALUE0 *v = CONTAINING_RECORD( value_union, FWP_CONDITION_VALUE0, uint8 );

    switch (type)
    {
    case FWP_UINT8:  cond->kind = KIND_NUMBER; *num = v->uint8; return TRUE;
    case FWP_UINT16: cond->kind = KIND_NUMBER; *num = v->uint16; return TRUE;
    case FWP_UINT32:
        if (cond->field == FIELD_LOCAL_ADDRESS || cond->field == FIELD_REMOTE_ADDRESS)
        {
            cond->kind = KIND_ADDR;
            cond->addr_len = 4;
            put_be32( addr, v->uint32 );
            memset( cond->mask, 0xff, 4 );
            return TRUE;
        }
        cond->kind = KIND_NUMBER;
        *num = v->uint32;
        return TRUE;
    case FWP_UINT64:
        if (!v->uint64) return FALSE;
        cond->kind = KIND_NUMBER;
        *num = *v->uint64;
        return TRUE;
    case FWP_BYTE_ARRAY16_TYPE:
        if (!v->byteArray16) return FALSE;
        cond->kind = KIND_ADDR;
        cond->addr_len = 16;
        memcpy( addr, v->byteArray16->byteArray16, 16 );
        memset( cond->mask, 0xff, 16 );
        return TRUE;
    case FWP_BYTE_BLOB_TYPE:
        if (!v->byteBlob || v->byteBlob->size > 1024 || (v->byteBlob->size && !v->byteBlob->data)) return FALSE;
        if (*blobs_size + v->byteBlob->size > 32 * 1024) return FALSE;
        cond->kind = KIND_BLOB;
        cond->blob_offset = *blobs_size;
        cond->blob_size = v->byteBlob->size;
        memcpy( blobs + *blobs_size, v->byteBlob->data, v->byteBlob->size );
        *blobs_size += v->byteBlob->size;
        return TRUE;
    default:
        return FALSE;
    }
}

static BOOL flatten_condition( const FWPM_FILTER_CONDITION0 *in, struct afd_wfp_condition *cond, BYTE *blobs,
                               ULONG *blobs_size )
{
    const FWP_CONDITION_VALUE0 *value = &in->conditionValue;
    unsigned int i;

    memset( cond, 0, sizeof(*cond) );
    cond->field = field_of( &in->fieldKey );
    cond->match = in->matchType;
    switch (value->type)
    {
    case FWP_V4_ADDR_MASK:
        if (!value->v4AddrMask) return FALSE;
        cond->kind = KIND_ADDR;
        cond->addr_len = 4;
        put_be32( cond->addr, value->v4AddrMask->addr );
        put_be32( cond->mask, value->v4AddrMask->mask );
        return TRUE;
    case FWP_V6_ADDR_MASK:
        if (!value->v6AddrMask || value->v6AddrMask->prefixLength > 128) return FALSE;
        cond->kind = KIND_ADDR;
        cond->addr_len = 16;
        memcpy( cond->addr, value->v6AddrMask->addr, 16 );
        for (i = 0; i < value->v6AddrMask->prefixLength; i++) cond->mask[i / 8] |= 0x80 >> (i % 8);
        return TRUE;
    case FWP_RANGE_TYPE:
    {
        struct afd_wfp_condition high = *cond;

        if (!value->rangeValue || value->rangeValue->valueLow.type != value->rangeValue->valueHigh.type)
            return FALSE;
        if (!flatten_single( value->rangeValue->valueLow.type, &value->rangeValue->valueLow.uint8, cond,
                             &cond->num, cond->addr, blobs, blobs_size ) ||
            !flatten_single( value->rangeValue->valueHigh.type, &value->rangeValue->valueHigh.uint8, &high,
                             &cond->high, cond->addr_high, blobs, blobs_size ))
            return FALSE;
        return TRUE;
    }
    default:
        return flatten_single( value->type, &value->uint8, cond, &cond->num, cond->addr, blobs, blobs_size );
    }
}

static void notify_callout( const GUID *callout_key, FWPS_CALLOUT_NOTIFY_TYPE type, const GUID *filter_key,
                            UINT64 filter_id, UINT64 context )
{
    struct callout *callout;
    FWPS_FILTER3 filter;
    void *notify = NULL;
    int version = -1;

    EnterCriticalSection( &cs );
    if ((callout = find_callout_by_key( callout_key )))
    {
        notify = callout->notify;
        version = callout->version;
    }
    LeaveCriticalSection( &cs );
    if (!notify || version < 0) return;

    memset( &filter, 0, sizeof(filter) );
    filter.filterId = filter_id;
    filter.context = context;
    filter.action.type = FWP_ACTION_CALLOUT_TERMINATING;
    filter.action.calloutId = callout->id;
    __TRY
    {
        /* the four notify types take filters of one layout */
        ((FWPS_CALLOUT_NOTIFY_FN3)notify)( type, filter_key, &filter );
    }
    __EXCEPT_ALL
    {
        WARN( "the callout's notifyFn crashed\n" );
    }
    __ENDTRY
}

static void remember_filter( UINT64 id, const GUID *key, const GUID *callout_key, void *caller )
{
    struct driver_filter *filter;

    /* the wineserver caps the filters, and so this list */
    if (!(filter = ExAllocatePool( PagedPool, sizeof(*filter) ))) return;
    filter->id = id;
    filter->key = *key;
    filter->calls_callout = callout_key != NULL;
    if (callout_key) filter->callout_key = *callout_key;
    if (!RtlPcToFileHeader( caller, &filter->module )) filter->module = NULL;
    EnterCriticalSection( &cs );
    list_add_tail( &driver_filters, &filter->entry );
    LeaveCriticalSection( &cs );
}

static void forget_filter( UINT64 id, const GUID *key )
{
    struct driver_filter *filter;

    EnterCriticalSection( &cs );
    LIST_FOR_EACH_ENTRY( filter, &driver_filters, struct driver_filter, entry )
    {
        if (key ? !IsEqualGUID( &filter->key, key ) : filter->id != id) continue;
        list_remove( &filter->entry );
        ExFreePool( filter );
        break;
    }
    LeaveCriticalSection( &cs );
}

/***********************************************************************
 *           FwpmFilterAdd0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpmFilterAdd0( HANDLE handle, const FWPM_FILTER0 *filter, PSECURITY_DESCRIPTOR sd, UINT64 *id )
{
    struct afd_wfp_filter_params *params;
    struct afd_wfp_condition *conds;
    ULONG blobs_size = 0, size;
    ULONGLONG filter_id = 0;
    ULONG_PTR info = 0;
    NTSTATUS status;
    unsigned int i;
    BYTE *blobs;

    TRACE( "%p, %p, %p, %p\n", handle, filter, sd, id );

    if (!get_engine( handle ) || !filter) return STATUS_INVALID_PARAMETER;
    if (filter->numFilterConditions > 32 || (filter->numFilterConditions && !filter->filterCondition))
        return STATUS_INVALID_PARAMETER;
    size = sizeof(*params) + filter->numFilterConditions * sizeof(*conds) + 32 * 1024;
    if (!(params = ExAllocatePool( PagedPool, size ))) return STATUS_NO_MEMORY;
    memset( params, 0, sizeof(*params) );
    conds = (struct afd_wfp_condition *)(params + 1);
    blobs = (BYTE *)(conds + filter->numFilterConditions);

    params->key = filter->filterKey;
    params->sublayer_key = filter->subLayerKey;
    params->layer = layer_of( &filter->layerKey );
    params->action = filter->action.type;
    if (filter->action.type & FWP_ACTION_FLAG_CALLOUT) params->callout_key = filter->action.calloutKey;
    params->flags = filter->flags;
    if (!(filter->flags & FWPM_FILTER_FLAG_HAS_PROVIDER_CONTEXT)) params->context = filter->rawContext;
    params->weight_type = filter->weight.type;
    if (filter->weight.type == FWP_UINT8) params->weight = filter->weight.uint8;
    else if (filter->weight.type == FWP_UINT64 && filter->weight.uint64) params->weight = *filter->weight.uint64;
    params->condition_count = filter->numFilterConditions;
    status = STATUS_SUCCESS;
    for (i = 0; i < filter->numFilterConditions && !status; i++)
        if (!flatten_condition( &filter->filterCondition[i], &conds[i], blobs, &blobs_size ))
            status = STATUS_INVALID_PARAMETER;
    if (!status && IsEqualGUID( &params->key, &null_guid )) ExUuidCreate( &params->key );
    if (!status)
        status = engine_ioctl( IOCTL_AFD_WINE_WFP_ENGINE_ADD_FILTER, params,
                               sizeof(*params) + filter->numFilterConditions * sizeof(*conds) + blobs_size,
                               &filter_id, sizeof(filter_id), &info );
    if (!status)
    {
        TRACE( "filter %s is %s\n", debugstr_guid(&params->key), wine_dbgstr_longlong(filter_id) );
        if (id) *id = filter_id;
        remember_filter( filter_id, &params->key,
                         (params->action & FWP_ACTION_FLAG_CALLOUT) ? &params->callout_key : NULL,
                         __builtin_return_address( 0 ) );
        if (params->action & FWP_ACTION_FLAG_CALLOUT)
            notify_callout( &params->callout_key, FWPS_CALLOUT_NOTIFY_ADD_FILTER, &params->key, filter_id,
                            params->context );
    }
    ExFreePool( params );
    return status;
}

/***********************************************************************
 *           FwpmFilterDeleteById0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpmFilterDeleteById0( HANDLE handle, UINT64 id )
{
    struct afd_wfp_delete_filter_params params;
    NTSTATUS status;

    TRACE( "%p, %s\n", handle, wine_dbgstr_longlong(id) );

    if (!get_engine( handle ) || !id) return STATUS_INVALID_PARAMETER;
    memset( &params, 0, sizeof(params) );
    params.id = id;
    if ((status = engine_ioctl( IOCTL_AFD_WINE_WFP_ENGINE_DELETE_FILTER, &params, sizeof(params), NULL, 0, NULL )))
        return status;
    forget_filter( id, NULL );
    return STATUS_SUCCESS;
}

/***********************************************************************
 *           FwpmFilterDeleteByKey0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpmFilterDeleteByKey0( HANDLE handle, const GUID *key )
{
    struct afd_wfp_delete_filter_params params;
    NTSTATUS status;

    TRACE( "%p, %s\n", handle, debugstr_guid(key) );

    if (!get_engine( handle ) || !key) return STATUS_INVALID_PARAMETER;
    memset( &params, 0, sizeof(params) );
    params.key = *key;
    if ((status = engine_ioctl( IOCTL_AFD_WINE_WFP_ENGINE_DELETE_FILTER, &params, sizeof(params), NULL, 0, NULL )))
        return status;
    forget_filter( 0, key );
    return STATUS_SUCCESS;
}

/*
 * Classifications.
 */

static void release_classify( struct classify *classify )
{
    if (!InterlockedDecrement( &classify->refs )) ExFreePool( classify );
}

static NTSTATUS copy_sockaddr( SOCKADDR_STORAGE *out, const BYTE *in )
{
    memset( out, 0, sizeof(*out) );
    memcpy( out, in, 28 );
    return STATUS_SUCCESS;
}

/* what the callout decided: sent to the wineserver */
static void complete( struct classify *classify, const FWPS_CLASSIFY_OUT0 *out )
{
    struct
    {
        struct afd_wfp_classify_result result;
        BYTE context[MAX_CONTEXT_SIZE];
    } *msg;
    ULONG size = sizeof(msg->result);

    if (classify->completed) return;
    classify->completed = TRUE;
    if (!(msg = ExAllocatePool( PagedPool, sizeof(*msg) ))) return;
    memset( &msg->result, 0, sizeof(msg->result) );
    msg->result.id = classify->request->id;
    msg->result.action = out ? out->actionType : FWP_ACTION_PERMIT;
    msg->result.rights = out ? out->rights : FWPS_RIGHT_ACTION_WRITE;
    /* applying the data unchanged (as a callout that lets another's
     * redirection stand does) changes nothing */
    if (classify->applied && !memcmp( &classify->writable.remoteAddressAndPort,
                                      &classify->initial.remoteAddressAndPort, sizeof(SOCKADDR_STORAGE) ) &&
        classify->writable.localRedirectHandle == classify->initial.localRedirectHandle &&
        classify->writable.localRedirectContext == classify->initial.localRedirectContext &&
        classify->writable.localRedirectTargetPID == classify->initial.localRedirectTargetPID)
        classify->applied = FALSE;
    if (classify->applied)
    {
        const FWPS_CONNECT_REQUEST0 *req = &classify->writable;
        BOOL ok = TRUE;

        __TRY
        {
            struct redirect_handle *redirect = req->localRedirectHandle;

            memcpy( msg->result.remote, &req->remoteAddressAndPort, sizeof(msg->result.remote) );
            msg->result.target_pid = req->localRedirectTargetPID;
            if (redirect && redirect->magic == REDIRECT_MAGIC) msg->result.redirect_service = redirect->service;
            else if (redirect) ok = FALSE;
            if (req->localRedirectContextSize > MAX_CONTEXT_SIZE || (req->localRedirectContextSize &&
                                                                     !req->localRedirectContext))
                ok = FALSE;
            else if (req->localRedirectContextSize)
            {
                memcpy( msg->context, req->localRedirectContext, req->localRedirectContextSize );
                msg->result.context_size = req->localRedirectContextSize;
            }
        }
        __EXCEPT_PAGE_FAULT
        {
            ok = FALSE;
        }
        __ENDTRY
        if (ok) msg->result.flags = WINE_AFD_WFP_CLASSIFY_MODIFIED;
        else
        {
            WARN( "the callout's modification is invalid; the connection goes on unmodified\n" );
            msg->result.context_size = 0;
        }
        /* WFP owns the context from now on */
        if (req->localRedirectContext)
        {
            __TRY
            {
                ExFreePool( req->localRedirectContext );
            }
            __EXCEPT_ALL
            {
            }
            __ENDTRY
        }
        size += msg->result.context_size;
    }
    engine_ioctl( IOCTL_AFD_WINE_WFP_ENGINE_COMPLETE_CLASSIFY, msg, size, NULL, 0, NULL );
    ExFreePool( msg );
}

static void set_value_uint8( FWPS_INCOMING_VALUE0 *value, UINT8 v )
{
    value->value.type = FWP_UINT8;
    value->value.uint8 = v;
}

static void set_addr( FWPS_INCOMING_VALUE0 *value, const BYTE *sockaddr, FWP_BYTE_ARRAY16 *storage )
{
    if (sockaddr[0] == 23 /* AF_INET6 */)
    {
        memcpy( storage->byteArray16, sockaddr + 8, 16 );
        value->value.type = FWP_BYTE_ARRAY16_TYPE;
        value->value.byteArray16 = storage;
    }
    else
    {
        value->value.type = FWP_UINT32;
        value->value.uint32 = (sockaddr[4] << 24) | (sockaddr[5] << 16) | (sockaddr[6] << 8) | sockaddr[7];
    }
}

static UINT16 sockaddr_port( const BYTE *sockaddr )
{
    return (sockaddr[2] << 8) | sockaddr[3];
}

static void call_classify( struct classify *classify, const struct callout *callout )
{
    struct afd_wfp_classify_request *request = classify->request;
    FWPS_INCOMING_VALUE0 values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_MAX];
    FWP_BYTE_ARRAY16 local_addr, remote_addr;
    FWPS_INCOMING_METADATA_VALUES0 meta;
    FWPS_INCOMING_VALUES0 fixed;
    FWPS_CLASSIFY_OUT0 out;
    FWP_BYTE_BLOB app_id;
    FWPS_FILTER3 filter;
    UINT64 weight = 0;
    const BYTE *data = (const BYTE *)((const ULONG *)(request + 1) + request->hop_count);
    BOOL crashed = FALSE;

    memset( values, 0, sizeof(values) );
    app_id.size = request->app_id_size;
    app_id.data = (UINT8 *)data;
    if (app_id.size)
    {
        values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_ALE_APP_ID].value.type = FWP_BYTE_BLOB_TYPE;
        values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_ALE_APP_ID].value.byteBlob = &app_id;
        values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_ALE_ORIGINAL_APP_ID] =
            values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_ALE_APP_ID];
    }
    set_addr( &values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_IP_LOCAL_ADDRESS], request->local, &local_addr );
    set_value_uint8( &values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_IP_LOCAL_ADDRESS_TYPE], 0 /* NlatUnspecified */ );
    values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_IP_LOCAL_PORT].value.type = FWP_UINT16;
    values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_IP_LOCAL_PORT].value.uint16 = sockaddr_port( request->local );
    set_value_uint8( &values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_IP_PROTOCOL], request->protocol );
    set_addr( &values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_IP_REMOTE_ADDRESS], request->remote, &remote_addr );
    set_value_uint8( &values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_IP_DESTINATION_ADDRESS_TYPE], 1 /* NlatUnicast */ );
    values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_IP_REMOTE_PORT].value.type = FWP_UINT16;
    values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_IP_REMOTE_PORT].value.uint16 = sockaddr_port( request->remote );
    values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_FLAGS].value.type = FWP_UINT32;
    values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_FLAGS].value.uint32 = request->flags;
    values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_COMPARTMENT_ID].value.type = FWP_UINT32;
    values[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_COMPARTMENT_ID].value.uint32 = 1;

    fixed.layerId = request->layer ? FWPS_LAYER_ALE_CONNECT_REDIRECT_V6 : FWPS_LAYER_ALE_CONNECT_REDIRECT_V4;
    fixed.valueCount = FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_MAX;
    fixed.incomingValue = values;

    memset( &meta, 0, sizeof(meta) );
    meta.currentMetadataValues = FWPS_METADATA_FIELD_PROCESS_ID | FWPS_METADATA_FIELD_COMPARTMENT_ID;
    meta.processId = request->process_id;
    meta.compartmentId = 1;
    if (app_id.size)
    {
        meta.currentMetadataValues |= FWPS_METADATA_FIELD_PROCESS_PATH;
        meta.processPath = &app_id;
    }
    if (request->hop_count || request->records_size)
    {
        classify->records.magic = RECORDS_MAGIC;
        classify->records.hop_count = request->hop_count;
        classify->records.hops = (const ULONG *)(request + 1);
        classify->records.records = data + request->app_id_size;
        classify->records.records_size = request->records_size;
        meta.currentMetadataValues |= FWPS_METADATA_FIELD_REDIRECT_RECORD_HANDLE;
        meta.redirectRecords = &classify->records;
    }

    memset( &filter, 0, sizeof(filter) );
    filter.filterId = request->filter_id;
    filter.weight.type = FWP_UINT64;
    filter.weight.uint64 = &weight;
    filter.action.type = FWP_ACTION_CALLOUT_TERMINATING;
    filter.action.calloutId = callout->id;
    filter.context = request->filter_context;

    memset( &out, 0, sizeof(out) );
    out.actionType = FWP_ACTION_CONTINUE;
    out.filterId = request->filter_id;
    out.rights = request->rights;

    __TRY
    {
        switch (callout->version)
        {
        case 0:
            ((FWPS_CALLOUT_CLASSIFY_FN0)callout->classify)( &fixed, &meta, NULL, (const FWPS_FILTER0 *)&filter,
                                                            0, &out );
            break;
        default:
            /* 1 to 3 differ only in the provider context, which is NULL */
            ((FWPS_CALLOUT_CLASSIFY_FN3)callout->classify)( &fixed, &meta, NULL, classify, &filter, 0, &out );
            break;
        }
    }
    __EXCEPT_ALL
    {
        crashed = TRUE;
    }
    __ENDTRY

    if (crashed)
    {
        ERR( "the classifyFn of callout %s crashed; the connection goes on unmodified\n",
             debugstr_guid(&callout->key) );
        classify->applied = FALSE;
        out.actionType = FWP_ACTION_CONTINUE;
    }
    if (!classify->pended || crashed) complete( classify, &out );
}

static void handle_request( struct classify *classify )
{
    struct afd_wfp_classify_request *request = classify->request;
    struct callout copy, *callout;
    FWPS_CLASSIFY_OUT0 out;

    EnterCriticalSection( &cs );
    callout = find_callout_by_key( &request->callout_key );
    if (callout) copy = *callout;
    LeaveCriticalSection( &cs );

    if (!callout || copy.version < 0)
    {
        /* unregistered between the request and now */
        memset( &out, 0, sizeof(out) );
        out.actionType = FWP_ACTION_CONTINUE;
        out.rights = request->rights;
        complete( classify, &out );
        return;
    }
    TRACE( "classifying a connection of process %04lx to port %u for filter %s\n", request->process_id,
           sockaddr_port( request->remote ), wine_dbgstr_longlong(request->filter_id) );
    call_classify( classify, &copy );
}

static void WINAPI classify_thread( void *arg )
{
    for (;;)
    {
        struct classify *classify;
        ULONG_PTR size = 0;
        NTSTATUS status;

        if (!(classify = ExAllocatePool( NonPagedPool, sizeof(*classify) )))
        {
            LARGE_INTEGER delay = { .QuadPart = -10000000 };
            KeDelayExecutionThread( KernelMode, FALSE, &delay );
            continue;
        }
        memset( classify, 0, offsetof( struct classify, data ) );
        classify->refs = 1;
        status = engine_ioctl( IOCTL_AFD_WINE_WFP_ENGINE_GET_CLASSIFY, NULL, 0, classify->data,
                               sizeof(classify->data), &size );
        if (status || size < sizeof(*classify->request))
        {
            ERR( "cannot get classifications: %#lx\n", status );
            ExFreePool( classify );
            if (status == STATUS_HANDLES_CLOSED || status == STATUS_INVALID_HANDLE) break;
            continue;
        }
        classify->request = (struct afd_wfp_classify_request *)classify->data;
        handle_request( classify );
        release_classify( classify );
    }
}

/*
 * A driver must unregister its callouts and delete its filters before it
 * is unloaded; one that does not would leave filters that block, or that
 * call code that is gone.  When its module goes, its filters are deleted,
 * with those that call its callouts, and its callouts unregistered.
 */
static BOOL in_module( const void *ptr, const char *base, SIZE_T size )
{
    return (const char *)ptr >= base && (const char *)ptr < base + size;
}

static void drop_objects_of( const char *base, SIZE_T size )
{
    struct driver_filter *filter, *next;
    unsigned int i = 0, filters = 0, dropped = 0;

    EnterCriticalSection( &cs );
    LIST_FOR_EACH_ENTRY_SAFE( filter, next, &driver_filters, struct driver_filter, entry )
    {
        struct afd_wfp_delete_filter_params params;
        struct callout *callout = filter->calls_callout ? find_callout_by_key( &filter->callout_key ) : NULL;

        if ((const char *)filter->module != base &&
            !(callout && callout->version >= 0 && in_module( callout->classify, base, size )))
            continue;
        memset( &params, 0, sizeof(params) );
        params.key = filter->key;
        engine_ioctl( IOCTL_AFD_WINE_WFP_ENGINE_DELETE_FILTER, &params, sizeof(params), NULL, 0, NULL );
        list_remove( &filter->entry );
        ExFreePool( filter );
        filters++;
    }
    while (i < callout_count)
    {
        if (callouts[i].version < 0 || !in_module( callouts[i].classify, base, size ))
        {
            i++;
            continue;
        }
        delete_callout( &callouts[i] );   /* the last one takes its place */
        dropped++;
    }
    LeaveCriticalSection( &cs );
    if (filters || dropped)
        ERR( "a driver was unloaded with %u filter(s) and %u registered callout(s) in place; deleting them\n",
             filters, dropped );
}

static void CALLBACK dll_notification( ULONG reason, LDR_DLL_NOTIFICATION_DATA *data, void *context )
{
    if (reason == LDR_DLL_NOTIFICATION_REASON_UNLOADED)
        drop_objects_of( data->Unloaded.DllBase, data->Unloaded.SizeOfImage );
}

static NTSTATUS start_worker(void)
{
    HANDLE thread;
    NTSTATUS status;
    void *module, *cookie;

    if (worker_started) return STATUS_SUCCESS;
    if ((status = open_engine_socket())) return status;
    /* the worker runs here until the process ends, even after the driver
     * that imported this library is unloaded */
    if (RtlPcToFileHeader( (void *)start_worker, &module )) LdrAddRefDll( LDR_ADDREF_DLL_PIN, module );
    LdrRegisterDllNotification( 0, dll_notification, NULL, &cookie );
    if ((status = PsCreateSystemThread( &thread, THREAD_ALL_ACCESS, NULL, NULL, NULL, classify_thread, NULL )))
        return status;
    ZwClose( thread );
    worker_started = TRUE;
    return STATUS_SUCCESS;
}

static NTSTATUS register_callout( const GUID *key, int version, void *classify, void *notify, UINT32 flags,
                                  UINT32 *id )
{
    struct callout *callout;
    NTSTATUS status;

    EnterCriticalSection( &cs );
    if ((callout = find_callout_by_key( key )) && callout->version >= 0)
        status = STATUS_FWP_ALREADY_EXISTS;
    else if (!classify || !(callout = add_callout( key )))
        status = classify ? STATUS_INSUFFICIENT_RESOURCES : STATUS_INVALID_PARAMETER;
    else if (!(status = start_worker()) && !(status = tell_callout( key, TRUE )))
    {
        callout->version = version;
        callout->classify = classify;
        callout->notify = notify;
        callout->flags = flags;
        if (id) *id = callout->id;
    }
    LeaveCriticalSection( &cs );
    TRACE( "callout %s: %#lx\n", debugstr_guid(key), status );
    return status;
}

/***********************************************************************
 *           FwpsCalloutRegister0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpsCalloutRegister0( void *device, const FWPS_CALLOUT0 *callout, UINT32 *id )
{
    TRACE( "%p, %p, %p\n", device, callout, id );
    if (!callout) return STATUS_INVALID_PARAMETER;
    return register_callout( &callout->calloutKey, 0, callout->classifyFn, callout->notifyFn, callout->flags, id );
}

/***********************************************************************
 *           FwpsCalloutRegister1   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpsCalloutRegister1( void *device, const FWPS_CALLOUT1 *callout, UINT32 *id )
{
    TRACE( "%p, %p, %p\n", device, callout, id );
    if (!callout) return STATUS_INVALID_PARAMETER;
    return register_callout( &callout->calloutKey, 1, callout->classifyFn, callout->notifyFn, callout->flags, id );
}

/***********************************************************************
 *           FwpsCalloutRegister2   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpsCalloutRegister2( void *device, const FWPS_CALLOUT2 *callout, UINT32 *id )
{
    TRACE( "%p, %p, %p\n", device, callout, id );
    if (!callout) return STATUS_INVALID_PARAMETER;
    return register_callout( &callout->calloutKey, 2, callout->classifyFn, callout->notifyFn, callout->flags, id );
}

/***********************************************************************
 *           FwpsCalloutRegister3   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpsCalloutRegister3( void *device, const FWPS_CALLOUT3 *callout, UINT32 *id )
{
    TRACE( "%p, %p, %p\n", device, callout, id );
    if (!callout) return STATUS_INVALID_PARAMETER;
    return register_callout( &callout->calloutKey, 3, callout->classifyFn, callout->notifyFn, callout->flags, id );
}

static NTSTATUS unregister_callout( struct callout *callout )
{
    if (!callout || callout->version < 0) return STATUS_FWP_CALLOUT_NOT_FOUND;
    tell_callout( &callout->key, FALSE );
    callout->version = -1;
    callout->classify = callout->notify = NULL;
    return STATUS_SUCCESS;
}

/***********************************************************************
 *           FwpsCalloutUnregisterById0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpsCalloutUnregisterById0( UINT32 id )
{
    NTSTATUS status;

    TRACE( "%u\n", id );
    EnterCriticalSection( &cs );
    status = unregister_callout( find_callout_by_id( id ) );
    LeaveCriticalSection( &cs );
    return status;
}

/***********************************************************************
 *           FwpsCalloutUnregisterByKey0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpsCalloutUnregisterByKey0( const GUID *key )
{
    NTSTATUS status;

    TRACE( "%s\n", debugstr_guid(key) );
    if (!key) return STATUS_INVALID_PARAMETER;
    EnterCriticalSection( &cs );
    status = unregister_callout( find_callout_by_key( key ) );
    LeaveCriticalSection( &cs );
    return status;
}

/* A redirect handle names its provider in the records' hops by the low
 * 16 bits of the provider GUID's first field, so that a driver that is
 * loaded again still recognises the connections it redirected before, and
 * a proxy can tell whose hop it is. */
static USHORT provider_service( const GUID *guid )
{
    USHORT service = guid->Data1 & 0xffff;

    /* 0 is no redirect handle, 0xffff a redirection without one */
    return service == 0 || service == 0xffff ? 1 : service;
}

/***********************************************************************
 *           FwpsRedirectHandleCreate0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpsRedirectHandleCreate0( const GUID *provider, UINT32 flags, HANDLE *handle )
{
    struct redirect_handle *redirect;

    TRACE( "%s, %#x, %p\n", debugstr_guid(provider), flags, handle );

    if (!provider || !handle || flags) return STATUS_INVALID_PARAMETER;
    if (!(redirect = ExAllocatePool( NonPagedPool, sizeof(*redirect) ))) return STATUS_NO_MEMORY;
    redirect->magic = REDIRECT_MAGIC;
    redirect->service = provider_service( provider );
    *handle = redirect;
    return STATUS_SUCCESS;
}

/***********************************************************************
 *           FwpsRedirectHandleDestroy0   (FWPKCLNT.SYS.@)
 */
void WINAPI FwpsRedirectHandleDestroy0( HANDLE handle )
{
    struct redirect_handle *redirect = handle;

    TRACE( "%p\n", handle );

    if (!redirect || redirect->magic != REDIRECT_MAGIC) return;
    redirect->magic = 0;
    ExFreePool( redirect );
}

#define WFP_SERVICE_CALLOUT 3   /* the hop kind of a callout's redirection (server/wfp_records.h) */

/***********************************************************************
 *           FwpsQueryConnectionRedirectState0   (FWPKCLNT.SYS.@)
 *
 * From the hops of the records the connection carries, oldest first: the
 * last one this handle's provider made says REDIRECTED_BY_SELF, an earlier
 * one PREVIOUSLY_REDIRECTED_BY_SELF; any other hop REDIRECTED_BY_OTHER.
 */
FWPS_CONNECTION_REDIRECT_STATE WINAPI FwpsQueryConnectionRedirectState0( HANDLE records_handle, HANDLE handle,
                                                                         void **context )
{
    const struct records_handle *records = records_handle;
    const struct redirect_handle *redirect = handle;
    FWPS_CONNECTION_REDIRECT_STATE state = FWPS_CONNECTION_NOT_REDIRECTED;
    unsigned int i;

    TRACE( "%p, %p, %p\n", records_handle, handle, context );

    if (context) *context = NULL;
    if (!records || records->magic != RECORDS_MAGIC || !records->hop_count) return FWPS_CONNECTION_NOT_REDIRECTED;
    if (!redirect || redirect->magic != REDIRECT_MAGIC) return FWPS_CONNECTION_REDIRECTED_BY_OTHER;
    for (i = 0; i < records->hop_count; i++)
    {
        BOOL self = (records->hops[i] >> 16) == WFP_SERVICE_CALLOUT &&
                    (records->hops[i] & 0xffff) == redirect->service;
        if (i == records->hop_count - 1)
        {
            if (self) return FWPS_CONNECTION_REDIRECTED_BY_SELF;
            if (state == FWPS_CONNECTION_PREVIOUSLY_REDIRECTED_BY_SELF) return state;
            return FWPS_CONNECTION_REDIRECTED_BY_OTHER;
        }
        if (self) state = FWPS_CONNECTION_PREVIOUSLY_REDIRECTED_BY_SELF;
    }
    return state;
}

/***********************************************************************
 *           FwpsQueryConnectionSioFormatRedirectRecords0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpsQueryConnectionSioFormatRedirectRecords0( HANDLE records_handle, void *buffer, SIZE_T size,
                                                              SIZE_T *written )
{
    const struct records_handle *records = records_handle;

    TRACE( "%p, %p, %Iu, %p\n", records_handle, buffer, size, written );

    if (!written) return STATUS_INVALID_PARAMETER;
    if (!records || records->magic != RECORDS_MAGIC || !records->records_size) return STATUS_NOT_FOUND;
    *written = records->records_size;
    if (size < records->records_size) return STATUS_BUFFER_TOO_SMALL;
    memcpy( buffer, records->records, records->records_size );
    return STATUS_SUCCESS;
}

static struct classify *classify_from_handle( UINT64 handle )
{
    return (struct classify *)(ULONG_PTR)handle;
}

/***********************************************************************
 *           FwpsAcquireClassifyHandle0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpsAcquireClassifyHandle0( void *context, UINT32 reserved, UINT64 *handle )
{
    struct classify *classify = context;

    TRACE( "%p, %#x, %p\n", context, reserved, handle );

    if (!classify || !handle || reserved) return STATUS_INVALID_PARAMETER;
    InterlockedIncrement( &classify->refs );
    classify->acquired = TRUE;
    *handle = (ULONG_PTR)classify;
    return STATUS_SUCCESS;
}

/***********************************************************************
 *           FwpsReleaseClassifyHandle0   (FWPKCLNT.SYS.@)
 */
void WINAPI FwpsReleaseClassifyHandle0( UINT64 handle )
{
    struct classify *classify = classify_from_handle( handle );

    TRACE( "%s\n", wine_dbgstr_longlong(handle) );

    if (!classify) return;
    /* a pended classification that was never completed goes on as it was */
    if (classify->pended && !classify->completed)
    {
        classify->applied = FALSE;
        complete( classify, NULL );
    }
    release_classify( classify );
}

/***********************************************************************
 *           FwpsAcquireWritableLayerDataPointer0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpsAcquireWritableLayerDataPointer0( UINT64 handle, UINT64 filter_id, UINT32 flags, void **data,
                                                      FWPS_CLASSIFY_OUT0 *out )
{
    struct classify *classify = classify_from_handle( handle );
    struct afd_wfp_classify_request *request;

    TRACE( "%s, %s, %#x, %p, %p\n", wine_dbgstr_longlong(handle), wine_dbgstr_longlong(filter_id), flags, data,
           out );

    if (!classify || !data) return STATUS_INVALID_PARAMETER;
    request = classify->request;
    /* without FWPS_RIGHT_ACTION_WRITE the wineserver ignores a modification */
    memset( &classify->writable, 0, sizeof(classify->writable) );
    copy_sockaddr( &classify->writable.localAddressAndPort, request->local );
    copy_sockaddr( &classify->writable.remoteAddressAndPort, request->remote );
    if (request->previous_filter_id)
    {
        memset( &classify->previous, 0, sizeof(classify->previous) );
        classify->previous.remoteAddressAndPort = classify->writable.remoteAddressAndPort;
        classify->previous.modifierFilterId = request->previous_filter_id;
        /* only whether there was one: the handle itself is another driver's */
        classify->previous.localRedirectHandle = request->previous_redirected ? (HANDLE)1 : NULL;
        classify->writable.previousVersion = &classify->previous;
        classify->writable.modifierFilterId = request->previous_filter_id;
    }
    classify->initial = classify->writable;
    *data = &classify->writable;
    return STATUS_SUCCESS;
}

/***********************************************************************
 *           FwpsApplyModifiedLayerData0   (FWPKCLNT.SYS.@)
 */
void WINAPI FwpsApplyModifiedLayerData0( UINT64 handle, void *data, UINT32 flags )
{
    struct classify *classify = classify_from_handle( handle );

    TRACE( "%s, %p, %#x\n", wine_dbgstr_longlong(handle), data, flags );

    if (!classify || data != &classify->writable) return;
    classify->applied = TRUE;
}

/***********************************************************************
 *           FwpsPendClassify0   (FWPKCLNT.SYS.@)
 */
NTSTATUS WINAPI FwpsPendClassify0( UINT64 handle, UINT64 filter_id, UINT32 flags, FWPS_CLASSIFY_OUT0 *out )
{
    struct classify *classify = classify_from_handle( handle );

    TRACE( "%s, %s, %#x, %p\n", wine_dbgstr_longlong(handle), wine_dbgstr_longlong(filter_id), flags, out );

    if (!classify || !classify->acquired || classify->completed) return STATUS_INVALID_PARAMETER;
    classify->pended = TRUE;
    return STATUS_SUCCESS;
}

/***********************************************************************
 *           FwpsCompleteClassify0   (FWPKCLNT.SYS.@)
 */
void WINAPI FwpsCompleteClassify0( UINT64 handle, UINT32 flags, const FWPS_CLASSIFY_OUT0 *out )
{
    struct classify *classify = classify_from_handle( handle );

    TRACE( "%s, %#x, %p\n", wine_dbgstr_longlong(handle), flags, out );

    if (!classify || !classify->pended) return;
    complete( classify, out );
}

NTSTATUS WINAPI DriverEntry( DRIVER_OBJECT *driver, UNICODE_STRING *path )
{
    return STATUS_SUCCESS;
}
