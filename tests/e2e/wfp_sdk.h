/*
 * The documented Windows SDK values that mingw-w64's headers lack.
 *
 * mstcpip.h of the Windows SDK defines these (10.0.26100, "WFP Proxy
 * Connection Tracking API type definitions"); mingw-w64 10 does not.
 * The test programs use nothing else beyond the Winsock API.
 */
#ifndef WFP_SDK_H
#define WFP_SDK_H

#include <winsock2.h>
#include <ws2tcpip.h>
#include <mstcpip.h>

#ifndef SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS
#define SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS _WSAIOW(IOC_VENDOR, 220)
#endif
#ifndef SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT
#define SIO_QUERY_WFP_CONNECTION_REDIRECT_CONTEXT _WSAIOW(IOC_VENDOR, 221)
#endif
#ifndef SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS
#define SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS _WSAIOW(IOC_VENDOR, 222)
#endif
#ifndef SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE
#define SIO_QUERY_WFP_ALE_ENDPOINT_HANDLE _WSAIOR(IOC_VENDOR, 205)
#endif
#ifndef SOL_IP
#define SOL_IP (SOL_SOCKET - 4)
#endif
#ifndef SOL_IPV6
#define SOL_IPV6 (SOL_SOCKET - 5)
#endif
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 0x300F
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST SO_ORIGINAL_DST
#endif
#ifndef FWP_E_NOT_FOUND
#define FWP_E_NOT_FOUND ((int)0x80320008)
#endif

#endif /* WFP_SDK_H */
