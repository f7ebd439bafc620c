/*
 * WFP connection redirection: waiting for the callout drivers
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

#if 0
#pragma makedep unix
#endif

#include "config.h"
#include <stdarg.h>

#include "ntstatus.h"
#define WIN32_NO_STATUS
#include "windef.h"
#include "winioctl.h"
#define USE_WS_PREFIX
#include "winsock2.h"
#include "wine/afd.h"

#include "unix_private.h"
#include "wine/debug.h"

WINE_DEFAULT_DEBUG_CHANNEL(winsock);

/*
 * Callout drivers.  A connect() that a driver's connect-redirect filter
 * matches is failed by the wineserver with STATUS_MORE_PROCESSING_REQUIRED
 * while fwpkclnt.sys asks the driver's callout; ntdll waits for that here
 * and connects again, and the second connect() goes where the callouts
 * sent it.  The wait is bounded by the wineserver (5 s); this bound only
 * guards against a wineserver that never answers.
 */
#define CALLOUT_WAIT_MS     10000
#define CALLOUT_MAX_TRIES   4

static NTSTATUS wait_for_callouts( HANDLE handle )
{
    LARGE_INTEGER timeout;
    IO_STATUS_BLOCK io;
    NTSTATUS status;
    HANDLE event;

    if ((status = NtCreateEvent( &event, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE ))) return status;
    /* no APC context: a completion port gets no packet for it */
    status = NtDeviceIoControlFile( handle, event, NULL, NULL, &io, IOCTL_AFD_WINE_WFP_CLASSIFY_WAIT,
                                    NULL, 0, NULL, 0 );
    if (status == STATUS_PENDING)
    {
        timeout.QuadPart = -(LONGLONG)CALLOUT_WAIT_MS * 10000;
        if (NtWaitForSingleObject( event, FALSE, &timeout ) == STATUS_TIMEOUT)
        {
            IO_STATUS_BLOCK cancel_io;
            NtCancelIoFileEx( handle, &io, &cancel_io );
            NtWaitForSingleObject( event, FALSE, NULL );
        }
        status = io.Status;
    }
    NtClose( event );
    return status;
}

/* NtDeviceIoControlFile's server request gave status: 0 to send it again,
 * once the callouts have settled, or the status to return */
NTSTATUS wfp_wait_for_callouts( HANDLE handle, ULONG code, NTSTATUS status, unsigned int *tries )
{
    if (code != IOCTL_AFD_WINE_CONNECT) return status;
    if (++*tries > CALLOUT_MAX_TRIES)
    {
        WARN( "socket %p: the WFP callouts did not settle; failing the connect\n", handle );
        return STATUS_CONNECTION_REFUSED;
    }
    TRACE( "socket %p: waiting for WFP callouts\n", handle );
    if ((status = wait_for_callouts( handle )) == STATUS_CANCELLED) status = STATUS_SUCCESS;
    return status;
}
