/*
 * A connect-redirect callout driver, written only to check that
 * include/ddk/fwpsk.h and fwpmk.h serve a realistic consumer
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

/* Sends outgoing IPv4 TCP connections to port 80 to a local proxy, the way
 * transparent proxies' drivers do; compiled with -fsyntax-only only. */

#include <stdarg.h>

#include "ntstatus.h"
#define WIN32_NO_STATUS
#include "windef.h"
#include "winbase.h"
#include "winternl.h"
#include "winioctl.h"
#include "ddk/wdm.h"
#include "initguid.h"
#include "ddk/fwpsk.h"
#include "ddk/fwpmk.h"

DEFINE_GUID(sample_provider, 0x6f1c3a52, 0x0d4e, 0x4b8f, 0x9a, 0x21, 0x5c, 0x7e, 0x33, 0x18, 0xa4, 0x90);
DEFINE_GUID(sample_callout, 0x6f1c3a52, 0x0d4e, 0x4b8f, 0x9a, 0x21, 0x5c, 0x7e, 0x33, 0x18, 0xa4, 0x91);
DEFINE_GUID(sample_sublayer, 0x6f1c3a52, 0x0d4e, 0x4b8f, 0x9a, 0x21, 0x5c, 0x7e, 0x33, 0x18, 0xa4, 0x92);

struct proxy_context { SOCKADDR_STORAGE original_destination; UINT64 process_id; };

static HANDLE redirect_handle, engine;
static DEVICE_OBJECT *device;
static UINT32 callout_id;
static UINT64 filter_id;
static ULONG proxy_pid = 4242;
static USHORT proxy_port = 0x401f;   /* 8000, in network order */

static void NTAPI redirect_classify(const FWPS_INCOMING_VALUES0 *values, const FWPS_INCOMING_METADATA_VALUES0 *meta,
        void *layer_data, const void *classify_context, const FWPS_FILTER3 *filter, UINT64 flow_context,
        FWPS_CLASSIFY_OUT0 *out)
{
    FWPS_CONNECT_REQUEST0 *request;
    struct proxy_context *context;
    UINT64 classify_handle;
    UINT32 flags = values->incomingValue[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_FLAGS].value.uint32;

    if (!(out->rights & FWPS_RIGHT_ACTION_WRITE)) return;
    out->actionType = FWP_ACTION_PERMIT;

    /* leave our own redirections, and the proxy's own connections, alone */
    if (FWPS_IS_METADATA_FIELD_PRESENT(meta, FWPS_METADATA_FIELD_REDIRECT_RECORD_HANDLE))
    {
        FWPS_CONNECTION_REDIRECT_STATE state = FwpsQueryConnectionRedirectState0(meta->redirectRecords,
                redirect_handle, NULL);
        if (state == FWPS_CONNECTION_REDIRECTED_BY_SELF || state == FWPS_CONNECTION_PREVIOUSLY_REDIRECTED_BY_SELF)
            return;
    }
    if (FWPS_IS_METADATA_FIELD_PRESENT(meta, FWPS_METADATA_FIELD_PROCESS_ID) && meta->processId == proxy_pid)
        return;
    if (flags & FWP_CONDITION_FLAG_IS_LOOPBACK) return;
    if (values->incomingValue[FWPS_FIELD_ALE_CONNECT_REDIRECT_V4_IP_PROTOCOL].value.uint8 != 6) return;

    if (FwpsAcquireClassifyHandle0((void *)classify_context, 0, &classify_handle)) return;
    if (FwpsAcquireWritableLayerDataPointer0(classify_handle, filter->filterId, 0, (void **)&request, out))
    {
        FwpsReleaseClassifyHandle0(classify_handle);
        return;
    }
    if ((context = ExAllocatePoolWithTag(NonPagedPool, sizeof(*context), 0x78707257)))
    {
        SOCKADDR_IN *sin = (SOCKADDR_IN *)&request->remoteAddressAndPort;

        context->original_destination = request->remoteAddressAndPort;
        context->process_id = meta->processId;
        sin->sin_addr.s_addr = 0x0100007f;  /* 127.0.0.1 */
        sin->sin_port = proxy_port;
        request->localRedirectTargetPID = proxy_pid;
        request->localRedirectHandle = redirect_handle;
        request->localRedirectContext = context;
        request->localRedirectContextSize = sizeof(*context);
    }
    FwpsApplyModifiedLayerData0(classify_handle, request, FWPS_CLASSIFY_FLAG_REAUTHORIZE_IF_MODIFIED_BY_OTHERS);
    FwpsReleaseClassifyHandle0(classify_handle);
}

static NTSTATUS NTAPI redirect_notify(FWPS_CALLOUT_NOTIFY_TYPE type, const GUID *key, FWPS_FILTER3 *filter)
{
    return STATUS_SUCCESS;
}

static void NTAPI redirect_flow_delete(UINT16 layer, UINT32 callout, UINT64 flow_context)
{
}

static void WINAPI driver_unload(DRIVER_OBJECT *driver)
{
    if (filter_id) FwpmFilterDeleteById0(engine, filter_id);
    FwpmCalloutDeleteByKey0(engine, &sample_callout);
    FwpmSubLayerDeleteByKey0(engine, &sample_sublayer);
    FwpmEngineClose0(engine);
    FwpsCalloutUnregisterById0(callout_id);
    FwpsRedirectHandleDestroy0(redirect_handle);
    IoDeleteDevice(device);
}

static NTSTATUS add_filter(void)
{
    FWPM_SESSION0 session = {{0}};
    FWPM_SUBLAYER0 sublayer = {{0}};
    FWPM_CALLOUT0 callout = {{0}};
    FWPM_FILTER0 filter = {{0}};
    FWPM_FILTER_CONDITION0 condition = {{0}};
    NTSTATUS status;

    session.flags = FWPM_SESSION_FLAG_DYNAMIC;
    if ((status = FwpmEngineOpen0(NULL, RPC_C_AUTHN_WINNT, NULL, &session, &engine))) return status;
    if ((status = FwpmTransactionBegin0(engine, 0))) return status;

    sublayer.subLayerKey = sample_sublayer;
    sublayer.displayData.name = (WCHAR *)L"wine-wfp sample";
    sublayer.weight = 0x8000;
    callout.calloutKey = sample_callout;
    callout.displayData.name = (WCHAR *)L"wine-wfp sample redirect";
    callout.applicableLayer = FWPM_LAYER_ALE_CONNECT_REDIRECT_V4;
    condition.fieldKey = FWPM_CONDITION_IP_REMOTE_PORT;
    condition.matchType = FWP_MATCH_EQUAL;
    condition.conditionValue.type = FWP_UINT16;
    condition.conditionValue.uint16 = 80;
    filter.layerKey = FWPM_LAYER_ALE_CONNECT_REDIRECT_V4;
    filter.subLayerKey = sample_sublayer;
    filter.displayData.name = (WCHAR *)L"wine-wfp sample filter";
    filter.weight.type = FWP_EMPTY;
    filter.numFilterConditions = 1;
    filter.filterCondition = &condition;
    filter.action.type = FWP_ACTION_CALLOUT_TERMINATING;
    filter.action.calloutKey = sample_callout;

    if ((status = FwpmSubLayerAdd0(engine, &sublayer, NULL)) ||
        (status = FwpmCalloutAdd0(engine, &callout, NULL, NULL)) ||
        (status = FwpmFilterAdd0(engine, &filter, NULL, &filter_id)))
    {
        FwpmTransactionAbort0(engine);
        return status;
    }
    return FwpmTransactionCommit0(engine);
}

NTSTATUS WINAPI DriverEntry(DRIVER_OBJECT *driver, UNICODE_STRING *registry)
{
    FWPS_CALLOUT3 callout = { {0} };
    NTSTATUS status;

    if ((status = IoCreateDevice(driver, 0, NULL, FILE_DEVICE_NETWORK, 0, FALSE, &device))) return status;
    if ((status = FwpsRedirectHandleCreate0(&sample_provider, 0, &redirect_handle))) return status;

    callout.calloutKey = sample_callout;
    callout.classifyFn = redirect_classify;
    callout.notifyFn = redirect_notify;
    callout.flowDeleteFn = redirect_flow_delete;
    if ((status = FwpsCalloutRegister3(device, &callout, &callout_id))) return status;

    driver->DriverUnload = driver_unload;
    return add_filter();
}
