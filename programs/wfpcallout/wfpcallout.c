/*
 * wfpcallout.sys: a sample WFP connect-redirect callout driver
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
 * What an inspection product's driver does, written as Microsoft's
 * "Using Bind or Connect Redirection" page and WFPSampler's proxy callouts
 * do it: a callout at ALE_CONNECT_REDIRECT_V4/V6 and one filter per rule,
 * with the rule's destination as conditions; the classifyFn
 *
 *  - leaves alone what it has no right to change, its own proxy's
 *    connections (FwpsQueryConnectionRedirectState0 says REDIRECTED_BY_SELF
 *    or PREVIOUSLY_REDIRECTED_BY_SELF, or the connecting process is the
 *    proxy), and a connection another callout sent to a local proxy in
 *    this classification;
 *  - otherwise sends the connection to the rule's proxy, with
 *    localRedirectTargetPID, its redirect handle and a context of two
 *    SOCKADDR_STORAGE, the original destination and source.
 *
 * Configured through its device (see wfpcallout.h and wfpcalloutctl.c).
 */

#include <stdarg.h>
#include "ntstatus.h"
#define WIN32_NO_STATUS
#include "windef.h"
#include "winternl.h"
#include "winioctl.h"
#include "ddk/ntddk.h"
#include "initguid.h"
#include "ddk/fwpmk.h"

#include "wfpcallout.h"

#define TAG 0x6f6c6677  /* "wflo" */

/* {NNNN0000-7766-4f5e-9d2c-77666670726f}, with a byte that tells the keys apart */
static GUID make_key( unsigned int instance, unsigned char which )
{
    GUID guid = { 0, 0x7766, 0x4f5e, { 0x9d, 0x2c, 0x77, 0x66, 0x66, 0x70, 0x72, 0x6f } };

    guid.Data1 = (instance & 0xffff) | ((ULONG)which << 16);
    return guid;
}

static DEVICE_OBJECT *device;
static UNICODE_STRING link_name;
static HANDLE engine, redirect_handle;
static GUID provider_key, sublayer_key, callout_keys[2];
static UINT32 callout_ids[2];
static unsigned int instance = 1, sublayer_weight = 0x1000, leak_on_unload;
static KSPIN_LOCK lock;
static struct wfpcallout_rule rules[WFPCALLOUT_MAX_RULES];
static UINT64 filter_ids[WFPCALLOUT_MAX_RULES];
static unsigned int rule_count;
static LONG classified, redirected, left_alone;

static void read_parameters( const UNICODE_STRING *registry_path )
{
    static const WCHAR parametersW[] = L"\\Parameters";
    OBJECT_ATTRIBUTES attr;
    UNICODE_STRING path, name;
    WCHAR buffer[512];
    struct { KEY_VALUE_PARTIAL_INFORMATION info; DWORD pad[4]; } value;
    ULONG size;
    HANDLE key;

    if (registry_path->Length + sizeof(parametersW) > sizeof(buffer)) return;
    memcpy( buffer, registry_path->Buffer, registry_path->Length );
    memcpy( buffer + registry_path->Length / sizeof(WCHAR), parametersW, sizeof(parametersW) );
    RtlInitUnicodeString( &path, buffer );
    InitializeObjectAttributes( &attr, &path, OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL );
    if (ZwOpenKey( &key, KEY_READ, &attr )) return;
    RtlInitUnicodeString( &name, L"Instance" );
    if (!ZwQueryValueKey( key, &name, KeyValuePartialInformation, &value, sizeof(value), &size ) &&
        value.info.Type == REG_DWORD)
        instance = *(DWORD *)value.info.Data;
    RtlInitUnicodeString( &name, L"SublayerWeight" );
    if (!ZwQueryValueKey( key, &name, KeyValuePartialInformation, &value, sizeof(value), &size ) &&
        value.info.Type == REG_DWORD)
        sublayer_weight = *(DWORD *)value.info.Data & 0xffff;
    RtlInitUnicodeString( &name, L"LeakOnUnload" );
    if (!ZwQueryValueKey( key, &name, KeyValuePartialInformation, &value, sizeof(value), &size ) &&
        value.info.Type == REG_DWORD)
        leak_on_unload = *(DWORD *)value.info.Data;
    ZwClose( key );
}

static void set_sockaddr( SOCKADDR_STORAGE *storage, int family, const unsigned char *addr, unsigned short port )
{
    memset( storage, 0, sizeof(*storage) );
    if (family == 6)
    {
        SOCKADDR_IN6 *in6 = (SOCKADDR_IN6 *)storage;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = RtlUshortByteSwap( port );
        memcpy( &in6->sin6_addr, addr, 16 );
    }
    else
    {
        SOCKADDR_IN *in = (SOCKADDR_IN *)storage;
        in->sin_family = AF_INET;
        in->sin_port = RtlUshortByteSwap( port );
        memcpy( &in->sin_addr, addr, 4 );
    }
}

static void NTAPI classify_fn( const FWPS_INCOMING_VALUES0 *values, const FWPS_INCOMING_METADATA_VALUES0 *meta,
                               void *layer_data, const void *classify_context, const FWPS_FILTER3 *filter,
                               UINT64 flow_context, FWPS_CLASSIFY_OUT0 *out )
{
    struct wfpcallout_rule rule;
    FWPS_CONNECT_REQUEST0 *request;
    SOCKADDR_STORAGE *context;
    UINT64 handle;
    KIRQL irql;
    BOOL found = FALSE;
    int family = values->layerId == FWPS_LAYER_ALE_CONNECT_REDIRECT_V6 ? 6 : 4;

    InterlockedIncrement( &classified );
    if (!(out->rights & FWPS_RIGHT_ACTION_WRITE)) return;

    KeAcquireSpinLock( &lock, &irql );
    if (filter->context < rule_count)
    {
        rule = rules[filter->context];
        found = TRUE;
    }
    KeReleaseSpinLock( &lock, irql );
    if (!found) return;
    if (rule.hostile == WFPCALLOUT_HOSTILE_ROTATE)
        rule.hostile = WFPCALLOUT_HOSTILE_FAMILY + classified % 4;

    if (FWPS_IS_METADATA_FIELD_PRESENT( meta, FWPS_METADATA_FIELD_REDIRECT_RECORD_HANDLE ))
    {
        FWPS_CONNECTION_REDIRECT_STATE state = FwpsQueryConnectionRedirectState0( meta->redirectRecords,
                                                                                  redirect_handle, NULL );
        if (state == FWPS_CONNECTION_REDIRECTED_BY_SELF || state == FWPS_CONNECTION_PREVIOUSLY_REDIRECTED_BY_SELF)
        {
            InterlockedIncrement( &left_alone );
            out->actionType = FWP_ACTION_PERMIT;
            return;
        }
    }
    if (rule.proxy_pid && FWPS_IS_METADATA_FIELD_PRESENT( meta, FWPS_METADATA_FIELD_PROCESS_ID ) &&
        meta->processId == rule.proxy_pid)
    {
        InterlockedIncrement( &left_alone );
        out->actionType = FWP_ACTION_PERMIT;
        return;
    }

    if (rule.hostile == WFPCALLOUT_HOSTILE_CRASH) *(volatile int *)NULL = 0;
    if (FwpsAcquireClassifyHandle0( (void *)classify_context, 0, &handle )) return;
    if (rule.hostile == WFPCALLOUT_HOSTILE_PEND)
    {
        /* and the handle is never released either */
        FwpsPendClassify0( handle, filter->filterId, 0, out );
        out->actionType = FWP_ACTION_BLOCK;
        out->rights &= ~FWPS_RIGHT_ACTION_WRITE;
        return;
    }
    if (FwpsAcquireWritableLayerDataPointer0( handle, filter->filterId, 0, (void **)&request, out ))
    {
        FwpsReleaseClassifyHandle0( handle );
        return;
    }
    /* another callout sent it to its local proxy: that one goes first */
    if (request->previousVersion && request->previousVersion->modifierFilterId != filter->filterId &&
        request->previousVersion->localRedirectHandle)
    {
        FwpsApplyModifiedLayerData0( handle, request, FWPS_CLASSIFY_FLAG_REAUTHORIZE_IF_MODIFIED_BY_OTHERS );
        FwpsReleaseClassifyHandle0( handle );
        out->actionType = FWP_ACTION_PERMIT;
        return;
    }

    if ((context = ExAllocatePoolWithTag( NonPagedPool, 2 * sizeof(SOCKADDR_STORAGE), TAG )))
    {
        context[0] = request->remoteAddressAndPort;
        context[1] = request->localAddressAndPort;
        /* whose context it is, in padding that no address uses */
        memcpy( (char *)&context[1] + 120, "wfpc", 4 );
        memcpy( (char *)&context[1] + 124, &instance, 4 );
        request->localRedirectContext = context;   /* WFP owns it from here */
        request->localRedirectContextSize = 2 * sizeof(SOCKADDR_STORAGE);
    }
    set_sockaddr( &request->remoteAddressAndPort, family, rule.proxy_addr, rule.proxy_port );
    switch (rule.hostile)
    {
    case WFPCALLOUT_HOSTILE_FAMILY:
        request->remoteAddressAndPort.ss_family = 99;
        break;
    case WFPCALLOUT_HOSTILE_CONTEXT:
        request->localRedirectContextSize = 16 << 20;
        break;
    case WFPCALLOUT_HOSTILE_POINTER:
        if (context) ExFreePoolWithTag( context, TAG );
        request->localRedirectContext = (void *)(ULONG_PTR)0x10;
        break;
    }
    request->localRedirectTargetPID = rule.proxy_pid ? rule.proxy_pid : rule.target_pid;
    request->localRedirectHandle = redirect_handle;
    FwpsApplyModifiedLayerData0( handle, request, 0 );
    FwpsReleaseClassifyHandle0( handle );
    InterlockedIncrement( &redirected );
    out->actionType = FWP_ACTION_PERMIT;
}

static NTSTATUS NTAPI notify_fn( FWPS_CALLOUT_NOTIFY_TYPE type, const GUID *filter_key, FWPS_FILTER3 *filter )
{
    return STATUS_SUCCESS;
}

static NTSTATUS add_rule_filter( const struct wfpcallout_rule *rule, unsigned int index, UINT64 *id )
{
    FWPM_FILTER_CONDITION0 conditions[3];
    FWP_V4_ADDR_AND_MASK v4;
    FWP_V6_ADDR_AND_MASK v6;
    FWPM_FILTER0 filter;
    unsigned int count = 0;

    memset( &filter, 0, sizeof(filter) );
    memset( conditions, 0, sizeof(conditions) );
    filter.layerKey = rule->family == 6 ? FWPM_LAYER_ALE_CONNECT_REDIRECT_V6 : FWPM_LAYER_ALE_CONNECT_REDIRECT_V4;
    filter.subLayerKey = sublayer_key;
    filter.weight.type = FWP_EMPTY;
    filter.action.type = FWP_ACTION_CALLOUT_TERMINATING;
    filter.action.calloutKey = callout_keys[rule->family == 6];
    filter.rawContext = index;
    filter.displayData.name = (WCHAR *)L"wine-wfp sample redirect";

    conditions[count].fieldKey = FWPM_CONDITION_IP_PROTOCOL;
    conditions[count].matchType = FWP_MATCH_EQUAL;
    conditions[count].conditionValue.type = FWP_UINT8;
    conditions[count++].conditionValue.uint8 = 6;
    if (rule->port)
    {
        conditions[count].fieldKey = FWPM_CONDITION_IP_REMOTE_PORT;
        conditions[count].matchType = FWP_MATCH_EQUAL;
        conditions[count].conditionValue.type = FWP_UINT16;
        conditions[count++].conditionValue.uint16 = rule->port;
    }
    if (rule->addr_len == 4)
    {
        v4.addr = (rule->addr[0] << 24) | (rule->addr[1] << 16) | (rule->addr[2] << 8) | rule->addr[3];
        v4.mask = 0xffffffff;
        conditions[count].fieldKey = FWPM_CONDITION_IP_REMOTE_ADDRESS;
        conditions[count].matchType = FWP_MATCH_EQUAL;
        conditions[count].conditionValue.type = FWP_V4_ADDR_MASK;
        conditions[count++].conditionValue.v4AddrMask = &v4;
    }
    else if (rule->addr_len == 16)
    {
        memcpy( v6.addr, rule->addr, 16 );
        v6.prefixLength = 128;
        conditions[count].fieldKey = FWPM_CONDITION_IP_REMOTE_ADDRESS;
        conditions[count].matchType = FWP_MATCH_EQUAL;
        conditions[count].conditionValue.type = FWP_V6_ADDR_MASK;
        conditions[count++].conditionValue.v6AddrMask = &v6;
    }
    filter.numFilterConditions = count;
    filter.filterCondition = conditions;
    return FwpmFilterAdd0( engine, &filter, NULL, id );
}

static void clear_rules(void)
{
    unsigned int i;

    for (i = 0; i < rule_count; i++) FwpmFilterDeleteById0( engine, filter_ids[i] );
    rule_count = 0;
}

static NTSTATUS WINAPI dispatch_ioctl( DEVICE_OBJECT *dev, IRP *irp )
{
    IO_STACK_LOCATION *stack = IoGetCurrentIrpStackLocation( irp );
    ULONG code = stack->Parameters.DeviceIoControl.IoControlCode;
    ULONG in_size = stack->Parameters.DeviceIoControl.InputBufferLength;
    ULONG out_size = stack->Parameters.DeviceIoControl.OutputBufferLength;
    void *buffer = irp->AssociatedIrp.SystemBuffer;
    NTSTATUS status = STATUS_SUCCESS;
    ULONG_PTR info = 0;

    switch (code)
    {
    case IOCTL_WFPCALLOUT_ADD_RULE:
    {
        struct wfpcallout_rule rule;
        UINT64 id;
        KIRQL irql;

        if (in_size != sizeof(rule)) { status = STATUS_INVALID_PARAMETER; break; }
        rule = *(struct wfpcallout_rule *)buffer;
        if ((rule.family != 4 && rule.family != 6) || !rule.proxy_port ||
            rule.hostile > WFPCALLOUT_HOSTILE_MAX ||
            (rule.addr_len && rule.addr_len != (rule.family == 6 ? 16 : 4)))
        {
            status = STATUS_INVALID_PARAMETER;
            break;
        }
        if (rule_count >= WFPCALLOUT_MAX_RULES) { status = STATUS_INSUFFICIENT_RESOURCES; break; }
        KeAcquireSpinLock( &lock, &irql );
        rules[rule_count] = rule;
        KeReleaseSpinLock( &lock, irql );
        if ((status = add_rule_filter( &rule, rule_count, &id ))) break;
        filter_ids[rule_count++] = id;
        break;
    }
    case IOCTL_WFPCALLOUT_CLEAR:
        clear_rules();
        break;
    case IOCTL_WFPCALLOUT_INFO:
    {
        struct wfpcallout_info *out = buffer;

        if (out_size < sizeof(*out)) { status = STATUS_BUFFER_TOO_SMALL; break; }
        out->instance = instance;
        out->rules = rule_count;
        out->classified = classified;
        out->redirected = redirected;
        out->left_alone = left_alone;
        info = sizeof(*out);
        break;
    }
    default:
        status = STATUS_INVALID_DEVICE_REQUEST;
        break;
    }
    irp->IoStatus.Status = status;
    irp->IoStatus.Information = info;
    IoCompleteRequest( irp, IO_NO_INCREMENT );
    return status;
}

static NTSTATUS WINAPI dispatch_create_close( DEVICE_OBJECT *dev, IRP *irp )
{
    irp->IoStatus.Status = STATUS_SUCCESS;
    irp->IoStatus.Information = 0;
    IoCompleteRequest( irp, IO_NO_INCREMENT );
    return STATUS_SUCCESS;
}

static void unregister(void)
{
    unsigned int i;

    if (engine)
    {
        clear_rules();
        for (i = 0; i < 2; i++) FwpmCalloutDeleteByKey0( engine, &callout_keys[i] );
        FwpmSubLayerDeleteByKey0( engine, &sublayer_key );
        FwpmEngineClose0( engine );
        engine = NULL;
    }
    for (i = 0; i < 2; i++) if (callout_ids[i]) FwpsCalloutUnregisterById0( callout_ids[i] );
    if (redirect_handle) FwpsRedirectHandleDestroy0( redirect_handle );
    redirect_handle = NULL;
}

static void WINAPI driver_unload( DRIVER_OBJECT *driver )
{
    /* a broken driver, for the tests: its callouts and filters stay */
    if (!leak_on_unload) unregister();
    IoDeleteSymbolicLink( &link_name );
    IoDeleteDevice( device );
}

static NTSTATUS register_callouts(void)
{
    static const GUID *layers[2] = { &FWPM_LAYER_ALE_CONNECT_REDIRECT_V4, &FWPM_LAYER_ALE_CONNECT_REDIRECT_V6 };
    FWPM_SESSION0 session;
    FWPM_SUBLAYER0 sublayer;
    FWPM_PROVIDER0 provider;
    NTSTATUS status;
    unsigned int i;

    if ((status = FwpsRedirectHandleCreate0( &provider_key, 0, &redirect_handle ))) return status;
    for (i = 0; i < 2; i++)
    {
        FWPS_CALLOUT3 callout;

        memset( &callout, 0, sizeof(callout) );
        callout.calloutKey = callout_keys[i];
        callout.classifyFn = classify_fn;
        callout.notifyFn = notify_fn;
        if ((status = FwpsCalloutRegister3( device, &callout, &callout_ids[i] ))) return status;
    }

    memset( &session, 0, sizeof(session) );
    session.flags = FWPM_SESSION_FLAG_DYNAMIC;
    if ((status = FwpmEngineOpen0( NULL, RPC_C_AUTHN_WINNT, NULL, &session, &engine ))) return status;
    if ((status = FwpmTransactionBegin0( engine, 0 ))) return status;

    memset( &provider, 0, sizeof(provider) );
    provider.providerKey = provider_key;
    provider.displayData.name = (WCHAR *)L"wine-wfp sample provider";
    if ((status = FwpmProviderAdd0( engine, &provider, NULL ))) goto abort;

    memset( &sublayer, 0, sizeof(sublayer) );
    sublayer.subLayerKey = sublayer_key;
    sublayer.displayData.name = (WCHAR *)L"wine-wfp sample sublayer";
    sublayer.providerKey = &provider_key;
    sublayer.weight = sublayer_weight;
    if ((status = FwpmSubLayerAdd0( engine, &sublayer, NULL ))) goto abort;

    for (i = 0; i < 2; i++)
    {
        FWPM_CALLOUT0 callout;

        memset( &callout, 0, sizeof(callout) );
        callout.calloutKey = callout_keys[i];
        callout.displayData.name = (WCHAR *)L"wine-wfp sample connect redirect";
        callout.providerKey = &provider_key;
        callout.applicableLayer = *layers[i];
        if ((status = FwpmCalloutAdd0( engine, &callout, NULL, NULL ))) goto abort;
    }
    if (leak_on_unload > 1)
    {
        /* the broken driver also blocks a port with a filter of its own,
         * which it leaves behind too */
        FWPM_FILTER_CONDITION0 condition;
        FWPM_FILTER0 filter;

        memset( &filter, 0, sizeof(filter) );
        memset( &condition, 0, sizeof(condition) );
        filter.layerKey = FWPM_LAYER_ALE_CONNECT_REDIRECT_V4;
        filter.subLayerKey = sublayer_key;
        filter.weight.type = FWP_EMPTY;
        filter.action.type = FWP_ACTION_BLOCK;
        filter.displayData.name = (WCHAR *)L"wine-wfp sample block";
        condition.fieldKey = FWPM_CONDITION_IP_REMOTE_PORT;
        condition.matchType = FWP_MATCH_EQUAL;
        condition.conditionValue.type = FWP_UINT16;
        condition.conditionValue.uint16 = leak_on_unload;
        filter.numFilterConditions = 1;
        filter.filterCondition = &condition;
        if ((status = FwpmFilterAdd0( engine, &filter, NULL, NULL ))) goto abort;
    }
    return FwpmTransactionCommit0( engine );

abort:
    FwpmTransactionAbort0( engine );
    return status;
}

NTSTATUS WINAPI DriverEntry( DRIVER_OBJECT *driver, UNICODE_STRING *registry_path )
{
    static WCHAR device_buffer[128], link_buffer[128];
    UNICODE_STRING device_name;
    const WCHAR *service;
    NTSTATUS status;
    unsigned int len;

    KeInitializeSpinLock( &lock );
    read_parameters( registry_path );
    provider_key = make_key( instance, 0 );
    sublayer_key = make_key( instance, 1 );
    callout_keys[0] = make_key( instance, 2 );
    callout_keys[1] = make_key( instance, 3 );

    /* \Device\NAME and \DosDevices\NAME, NAME the service's */
    len = registry_path->Length / sizeof(WCHAR);
    service = registry_path->Buffer + len;
    while (service > registry_path->Buffer && service[-1] != '\\') service--;
    len -= service - registry_path->Buffer;
    if (len > 100) return STATUS_NAME_TOO_LONG;
    memcpy( device_buffer, L"\\Device\\", 8 * sizeof(WCHAR) );
    memcpy( device_buffer + 8, service, len * sizeof(WCHAR) );
    device_buffer[8 + len] = 0;
    memcpy( link_buffer, L"\\DosDevices\\", 12 * sizeof(WCHAR) );
    memcpy( link_buffer + 12, service, len * sizeof(WCHAR) );
    link_buffer[12 + len] = 0;
    RtlInitUnicodeString( &device_name, device_buffer );
    RtlInitUnicodeString( &link_name, link_buffer );

    if ((status = IoCreateDevice( driver, 0, &device_name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device ))) return status;
    if ((status = IoCreateSymbolicLink( &link_name, &device_name )))
    {
        IoDeleteDevice( device );
        return status;
    }
    driver->MajorFunction[IRP_MJ_CREATE] = dispatch_create_close;
    driver->MajorFunction[IRP_MJ_CLOSE] = dispatch_create_close;
    driver->MajorFunction[IRP_MJ_DEVICE_CONTROL] = dispatch_ioctl;
    driver->DriverUnload = driver_unload;

    if ((status = register_callouts()))
    {
        unregister();
        IoDeleteSymbolicLink( &link_name );
        IoDeleteDevice( device );
    }
    return status;
}
