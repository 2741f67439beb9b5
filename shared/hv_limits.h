/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every numeric cap hvipe enforces, in one place. Each is a hard limit checked
 * before allocation or arithmetic on untrusted input.
 */
#ifndef HVIPE_LIMITS_H
#define HVIPE_LIMITS_H

/* IPE (Linux 6.12): the kernel's ASN.1 decoder refuses larger signed blobs. */
#define HV_IPE_MAX_SIGNED_BLOB 65535u
/* A deployed policy name becomes a securityfs directory entry. */
#define HV_IPE_MAX_NAME 255u
/* Largest policy text we read from a file (well above what can be signed). */
#define HV_POLICY_MAX_FILE (16u * 1024 * 1024)

/* Wire protocol: the largest frame body either side accepts. */
#define HV_PROTO_MAX_FRAME (256u * 1024)
/*
 * Control socket (hvipectl <-> hvipe-hostd, control.proto): local and open
 * to operators only, so an answer (a listing of 10,000 VMs with long names)
 * may be far larger than a guest frame. Requests stay within
 * HV_PROTO_MAX_FRAME. Enforced by hostd's writer and hvipectl's reader.
 */
#define HV_CTL_MAX_FRAME (16u * 1024 * 1024)
/* Control connections at once, and how long one may sit without sending a
 * complete request (just connected, or partway through a request) or idle
 * between requests before hostd closes it. */
#define HV_CTL_MAX_CLIENTS        64u
#define HV_CTL_REQUEST_TIMEOUT_MS 5000u
#define HV_CTL_IDLE_TIMEOUT_MS    30000u

/* Nonce length in Challenge and Evidence. */
#define HV_PROTO_NONCE_LEN          32u
#define HV_PROTO_MAX_VERITY_DEVICES 64u
#define HV_PROTO_MAX_POLICIES       64u
#define HV_PROTO_MAX_AUDIT_BATCH    256u
#define HV_PROTO_MAX_AUDIT_RECORD   8192u

/* Default vsock port and heartbeat. */
#define HV_DEFAULT_PORT         4730u
#define HV_DEFAULT_HEARTBEAT_MS 1000u

/* Actuators (host/hostd/act_*.c). */
#define HV_QMP_MAX_LINE           (64u * 1024) /* one QMP JSON message */
#define HV_ACT_DEFAULT_TIMEOUT_MS 10000u       /* one hypervisor action, start to reply */
#define HV_LIBVIRT_MAX_XML        (4u * 1024 * 1024)

#endif
