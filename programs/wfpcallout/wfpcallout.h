/*
 * wfpcallout: the control interface of the sample connect-redirect driver
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
 * Each instance of the driver (one service each: sc create NAME type= kernel
 * binPath= ...wfpcallout.sys) has the device \\.\NAME.  Its provider GUID
 * is {NNNN0000-7766-4f5e-9d2c-77666670726f}, NNNN the service's Instance
 * value (HKLM\System\CurrentControlSet\Services\NAME\Parameters, default
 * 1), so the hops it leaves in redirect records read callout:NNNN.  Its
 * sublayer weighs SublayerWeight (same key, default 0x1000).  LeakOnUnload
 * (same key, for the tests) makes it a broken driver that is unloaded with
 * its callouts and filters in place; a value above 1 is also a port that
 * it blocks with a plain filter.
 */

#ifndef WFPCALLOUT_H
#define WFPCALLOUT_H

#define WFPCALLOUT_IOCTL(n) (((0x8000) << 16) | ((n) << 2))   /* FILE_DEVICE 0x8000, METHOD_BUFFERED, FILE_ANY_ACCESS */
#define IOCTL_WFPCALLOUT_ADD_RULE   WFPCALLOUT_IOCTL(0x801)
#define IOCTL_WFPCALLOUT_CLEAR      WFPCALLOUT_IOCTL(0x802)
#define IOCTL_WFPCALLOUT_INFO       WFPCALLOUT_IOCTL(0x803)

#define WFPCALLOUT_MAX_RULES 64

/* connections to destination (any address if addr_len is 0, any port if
 * port is 0) go to proxy */
struct wfpcallout_rule
{
    unsigned char  family;          /* 4 or 6 */
    unsigned char  addr_len;        /* 0, 4 or 16 */
    unsigned short port;            /* host order */
    unsigned char  addr[16];
    unsigned char  proxy_addr[16];
    unsigned short proxy_port;
    unsigned short hostile;         /* WFPCALLOUT_HOSTILE_*: what a broken driver does instead */
    unsigned int   proxy_pid;       /* localRedirectTargetPID; its own connects are left alone */
    unsigned int   target_pid;      /* localRedirectTargetPID only, when proxy_pid is 0 */
};

/* for the robustness tests: fwpkclnt.sys and the wineserver must let the
 * connection go on unredirected, and survive */
#define WFPCALLOUT_HOSTILE_NONE     0
#define WFPCALLOUT_HOSTILE_FAMILY   1   /* a destination of an unknown family */
#define WFPCALLOUT_HOSTILE_CONTEXT  2   /* a context of 16 MB */
#define WFPCALLOUT_HOSTILE_POINTER  3   /* a context at a wild address */
#define WFPCALLOUT_HOSTILE_CRASH    4   /* the classifyFn dereferences NULL */
#define WFPCALLOUT_HOSTILE_PEND     5   /* pends the classification and never completes it */
#define WFPCALLOUT_HOSTILE_ROTATE   6   /* family, context, pointer and crash in turn (wsfuzz) */
#define WFPCALLOUT_HOSTILE_MAX      6

struct wfpcallout_info
{
    unsigned int instance;          /* the service of its hops */
    unsigned int rules;
    unsigned int classified;        /* classifyFn calls */
    unsigned int redirected;
    unsigned int left_alone;        /* its own proxy's connections */
};

#endif /* WFPCALLOUT_H */
