/*
 * wfpstat: what the wineserver's WFP redirect state holds, through the
 * private ioctl that wine-wfp's tests use (IOCTL_AFD_WINE_GET_WFP_STATS).
 * A diagnostic for wine-wfp, not something a Windows program would do:
 * the wineserver answers it only when WINE_WFP_STATS=1 was in its
 * environment (tests/lib.sh sets it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <winsock2.h>
#include <windows.h>
#include <winternl.h>

/* The WFP codes follow the last of each Wine's own AFD codes: 298 in 8.0,
 * 304 in 10.0.  The core has thirteen (the last two for UDP flows); the
 * statistics, the redirector's, come next. */
static ULONG stats_code( void )
{
    const char * (CDECL *get_version)(void) = (void *)GetProcAddress( GetModuleHandleA( "ntdll" ), "wine_get_version" );
    const char *version = get_version ? get_version() : "";

    return CTL_CODE( 0x12, (atoi( version ) >= 10 ? 304 : 298) + 14, METHOD_BUFFERED, FILE_ANY_ACCESS );
}

struct afd_wfp_stats
{
    unsigned int sockets, pending, rules, services;
};

typedef NTSTATUS (WINAPI *NtDeviceIoControlFile_t)( HANDLE, HANDLE, void *, void *, IO_STATUS_BLOCK *, ULONG,
                                                     void *, ULONG, void *, ULONG );

int main( void )
{
    NtDeviceIoControlFile_t ioctl = (NtDeviceIoControlFile_t)(void *)GetProcAddress( GetModuleHandleA( "ntdll" ),
                                                                             "NtDeviceIoControlFile" );
    struct afd_wfp_stats stats;
    IO_STATUS_BLOCK io;
    NTSTATUS status;
    WSADATA data;
    SOCKET s;

    WSAStartup( MAKEWORD(2, 2), &data );
    s = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
    status = ioctl( (HANDLE)s, NULL, NULL, NULL, &io, stats_code(), NULL, 0, &stats, sizeof(stats) );
    if (status)
    {
        printf( "wfpstat: not a wine-wfp wineserver (status %#lx)\n", status );
        return 1;
    }
    printf( "sockets=%u pending=%u rules=%u services=%u\n", stats.sockets, stats.pending, stats.rules, stats.services );
    closesocket( s );
    return 0;
}
