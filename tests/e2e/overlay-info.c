/*
 * overlay-info: print which ws2_32.dll this process runs and whether it
 * answers the WFP redirect ioctls, and whether it is a 32-bit or a 64-bit
 * process, so that the test harness can prove the wine-wfp overlay is in
 * use.
 */
#include <stdio.h>
#include "wfp_sdk.h"
#include <psapi.h>

int main(void)
{
    HMODULE ws2_32 = GetModuleHandleA( "ws2_32.dll" );
    IMAGE_DOS_HEADER *dos = (IMAGE_DOS_HEADER *)ws2_32;
    IMAGE_NT_HEADERS *nt;
    WCHAR path[MAX_PATH];
    UINT64 endpoint = 0;
    DWORD size = 0;
    WSADATA data;
    SOCKET s;
    int ret;

    if (!ws2_32) { printf( "ws2_32.dll is not loaded\n" ); return 1; }
    nt = (IMAGE_NT_HEADERS *)((char *)ws2_32 + dos->e_lfanew);
    if (!GetMappedFileNameW( GetCurrentProcess(), ws2_32, path, MAX_PATH )) path[0] = 0;
    printf( "process: %u-bit\n", (unsigned int)sizeof(void *) * 8 );
    printf( "ws2_32.dll mapped from: %ls\n", path );
    printf( "ws2_32.dll link timestamp: 0x%08lx\n", (unsigned long)nt->FileHeader.TimeDateStamp );

    WSAStartup( MAKEWORD(2, 2), &data );
    s = socket( AF_INET, SOCK_STREAM, IPPROTO_TCP );
    ret = WSAIoctl( s, SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE, NULL, 0, &endpoint, sizeof(endpoint),
                    &size, NULL, NULL );
    if (ret) printf( "SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE: error %d\n", WSAGetLastError() );
    else printf( "SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE: supported (%lu bytes)\n", size );
    closesocket( s );
    WSACleanup();
    return 0;
}
