/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvipe-testguest: a protocol test client that plays a guest against
 * hvipe-hostd over a Unix socket. It answers challenges from a simulated
 * IPE state, applies PolicyUpdates to that state (optionally verifying the
 * signature), and can misbehave on request: wrong nonce, rollback, garbage,
 * oversized or truncated frames, a stall mid-frame, an audit flood.
 *
 * Every event is printed on stdout as one line for the test scripts:
 *   hello session=N heartbeat_ms=M
 *   verdict trusted=0|1 findings=a,b policy_follows=0|1
 *   policy version=V bytes=N verified=0|1
 *   ack ref=N err=E
 *   closed by host
 */
#include "hv_limits.h"
#include "proto/frame.h"
#include "simguest.h"
#include "util/cleanup.h"
#include "util/hex.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *const finding_short[] = {
        "none",
        "nonce_mismatch",
        "ipe_absent",
        "ipe_not_enforcing",
        "verity_absent",
        "verity_unapproved",
        "verity_unsigned",
        "verity_bad_signature",
        "verity_wrong_hash",
        "policy_missing",
        "policy_mismatch",
        "policy_outdated",
        "guard_absent",
        "guard_not_armed",
        "guard_tampered",
        "heartbeat_missed",
        "malformed",
        "boot_changed",
};

struct opts {
	const char *connect;
	const char *cert;
	const char *state;
	const char *dump_policy;
	const char *fault;
	const char *audit;
	int heartbeats;
	bool wrong_nonce;
	bool daemon;
	int timeout_ms;
};

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static void load_state(const char *path, struct sim_guest *g)
{
	_cleanup_fclose_ FILE *f = path ? fopen(path, "r") : NULL;
	char ver[32], hex[80];

	if (f && fscanf(f, "%31s %79s", ver, hex) == 2 && strlen(ver) < sizeof(g->version) &&
	    hv_hex_decode(g->digest, 32, hex, strlen(hex)) == 32) {
		g->has_hvipe = true;
		strcpy(g->version, ver);
	}
}

static void save_state(const char *path, const struct sim_guest *g)
{
	_cleanup_fclose_ FILE *f = NULL;
	char hex[65];

	if (!path || !g->has_hvipe)
		return;
	f = fopen(path, "w");
	if (!f)
		return;
	hv_hex_encode(hex, g->digest, 32);
	fprintf(f, "%s %s\n", g->version, hex);
}

static uint64_t seq;

static int send_env(int fd, hv_envelope *env)
{
	env->seq = ++seq;
	return hv_frame_send(fd, env);
}

static int send_raw(int fd, const void *p, size_t n)
{
	return send(fd, p, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -errno;
}

/* Wait until the host closes the connection; prints "closed by host". */
static int expect_close(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint8_t buf[4096];

	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		ssize_t n;

		if (r <= 0) {
			printf("still open after %d ms\n", timeout_ms);
			return 1;
		}
		n = read(fd, buf, sizeof(buf));
		if (n <= 0) {
			printf("closed by host\n");
			return 0;
		}
	}
}

static int send_hello(int fd, const struct sim_guest *g, bool daemon)
{
	hv_envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__Hello h = HVIPE__HELLO__INIT;

	h.protocol_version = 1;
	h.capabilities = HVIPE__CAPABILITY__CAP_AUDIT | HVIPE__CAPABILITY__CAP_POLICY_UPDATE;
	h.agent_version = (char *)"hvipe-testguest";
	h.boot_id.data = (uint8_t *)g->boot_id;
	h.boot_id.len = 16;
	h.kernel_release = (char *)"6.12.0-sim";
	h.mode = daemon ? HVIPE__AGENT_MODE__AGENT_MODE_DAEMON : HVIPE__AGENT_MODE__AGENT_MODE_ONCE;
	env.body_case = HVIPE__ENVELOPE__BODY_HELLO;
	env.hello = &h;
	return send_env(fd, &env);
}

static int fault(int fd, const struct opts *o, const struct sim_guest *g)
{
	const char *f = o->fault;
	uint8_t buf[64];

	if (!strcmp(f, "garbage")) {
		/* A plausible length followed by bytes that are not an Envelope. */
		memcpy(buf,
		       "\x00\x00\x00\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"
		       "\xff\xff",
		       20);
		send_raw(fd, buf, 20);
	} else if (!strcmp(f, "oversized")) {
		uint32_t n = HV_PROTO_MAX_FRAME + 1;

		buf[0] = (uint8_t)(n >> 24);
		buf[1] = (uint8_t)(n >> 16);
		buf[2] = (uint8_t)(n >> 8);
		buf[3] = (uint8_t)n;
		send_raw(fd, buf, 4);
	} else if (!strcmp(f, "zero")) {
		send_raw(fd, "\0\0\0\0", 4);
	} else if (!strcmp(f, "truncated")) {
		/* Announce 100 bytes, send 10, then hang up. */
		send_raw(fd, "\x00\x00\x00\x64hello....", 14);
		shutdown(fd, SHUT_WR);
	} else if (!strcmp(f, "stall")) {
		/* Announce a frame and never finish it. */
		send_raw(fd, "\x00\x00\x00\x64\x08\x01", 6);
	} else if (!strcmp(f, "unexpected")) {
		/* Evidence before Hello: not admitted in the first state. */
		struct sim_evidence s;
		hv_envelope env = HVIPE__ENVELOPE__INIT;
		uint8_t nonce[32] = {0};

		sim_evidence_build(g, nonce, &s);
		env.body_case = HVIPE__ENVELOPE__BODY_EVIDENCE;
		env.evidence = &s.ev;
		send_env(fd, &env);
	} else if (!strcmp(f, "silent")) {
		/* Say Hello, then never answer the challenge. */
		send_hello(fd, g, o->daemon);
	} else if (!strcmp(f, "flood")) {
		/* Hello, then many frames the state does not admit, as fast as possible. */
		hv_envelope env = HVIPE__ENVELOPE__INIT;
		Hvipe__Ack ack = HVIPE__ACK__INIT;

		send_hello(fd, g, o->daemon);
		env.body_case = HVIPE__ENVELOPE__BODY_ACK;
		env.ack = &ack;
		for (int i = 0; i < 10000; i++)
			if (send_env(fd, &env) < 0)
				break;
	} else {
		fprintf(stderr, "unknown fault %s\n", f);
		return 2;
	}
	return expect_close(fd, o->timeout_ms);
}

static void print_verdict(const Hvipe__Verdict *v)
{
	printf("verdict trusted=%d findings=", v->trusted);
	for (size_t i = 0; i < v->n_findings; i++)
		printf("%s%s", i ? "," : "",
		       v->findings[i]->code < sizeof(finding_short) / sizeof(finding_short[0])
		               ? finding_short[v->findings[i]->code]
		               : "?");
	printf("%s policy_follows=%d\n", v->n_findings ? "" : "-", v->policy_follows);
}

static int handle_update(int fd, struct sim_guest *g, const hv_envelope *in, const struct opts *o,
                         X509 *cert)
{
	const Hvipe__PolicyUpdate *u = in->policy_update;
	hv_envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__PolicyResult pr = HVIPE__POLICY_RESULT__INIT;
	int verified = 0, err;

	if (cert) {
		uint8_t *text = NULL;
		size_t tl;

		verified = hv_policy_verify(u->blob.data, u->blob.len, cert, &text, &tl) == 0;
		if (verified && o->dump_policy) {
			FILE *f = fopen(o->dump_policy, "w");

			if (f) {
				fwrite(text, 1, tl, f);
				fclose(f);
			}
		}
		free(text);
	}
	err = sim_apply_policy(g, u);
	printf("policy version=%s bytes=%zu verified=%d\n", u->version, u->blob.len, verified);
	pr.update_seq = in->seq;
	pr.err = err;
	pr.step = (char *)(g->has_hvipe ? "update" : "load");
	pr.reason = (char *)(err ? "refused" : "");
	pr.active_digest.data = g->digest;
	pr.active_digest.len = g->has_hvipe ? 32 : 0;
	pr.active_name = (char *)"hvipe";
	pr.active_version = g->version;
	env.body_case = HVIPE__ENVELOPE__BODY_POLICY_RESULT;
	env.policy_result = &pr;
	save_state(o->state, g);
	return send_env(fd, &env);
}

static int send_audit(int fd, const char *text)
{
	hv_envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__AuditBatch b = HVIPE__AUDIT_BATCH__INIT;
	Hvipe__AuditRecord r = HVIPE__AUDIT_RECORD__INIT, *rp = &r;

	r.type = 1420;
	r.serial = 1;
	r.text = (char *)text;
	b.records = &rp;
	b.n_records = 1;
	env.body_case = HVIPE__ENVELOPE__BODY_AUDIT_BATCH;
	env.audit_batch = &b;
	return send_env(fd, &env);
}

static int run(int fd, struct sim_guest *g, const struct opts *o, X509 *cert)
{
	struct hv_buf rx;
	int answered = 0, pending_acks = 0, r;
	bool audit_sent = false, update_due = false;

	hv_buf_init(&rx, HV_PROTO_MAX_FRAME + 4);
	r = send_hello(fd, g, o->daemon);
	while (r == 0) {
		hv_envelope *in = NULL;

		r = hv_frame_recv(fd, &rx, o->timeout_ms, &in);
		if (r == -ECONNRESET) {
			printf("closed by host\n");
			r = 3;
			break;
		}
		if (r < 0) {
			printf("receive failed: %s\n", strerror(-r));
			r = 4;
			break;
		}
		switch (in->body_case) {
		case HVIPE__ENVELOPE__BODY_HELLO:
			printf("hello session=%llu heartbeat_ms=%u\n",
			       (unsigned long long)in->hello->session_id, in->hello->heartbeat_ms);
			break;
		case HVIPE__ENVELOPE__BODY_CHALLENGE: {
			struct sim_evidence s;
			hv_envelope env = HVIPE__ENVELOPE__INIT;
			uint8_t nonce[32];

			memcpy(nonce, in->challenge->nonce.data, 32);
			if (o->wrong_nonce)
				nonce[0] ^= 0xff;
			sim_evidence_build(g, nonce, &s);
			env.body_case = HVIPE__ENVELOPE__BODY_EVIDENCE;
			env.evidence = &s.ev;
			r = send_env(fd, &env);
			break;
		}
		case HVIPE__ENVELOPE__BODY_VERDICT:
			print_verdict(in->verdict);
			answered++;
			update_due = in->verdict->policy_follows;
			if (o->audit && !audit_sent && !in->verdict->policy_follows) {
				r = send_audit(fd, o->audit);
				audit_sent = true;
				pending_acks++;
			}
			break;
		case HVIPE__ENVELOPE__BODY_POLICY_UPDATE:
			r = handle_update(fd, g, in, o, cert);
			pending_acks++;
			update_due = false;
			break;
		case HVIPE__ENVELOPE__BODY_ACK:
			printf("ack ref=%llu err=%d\n", (unsigned long long)in->ack->ref_seq,
			       in->ack->err);
			pending_acks--;
			break;
		default:
			printf("unexpected %s\n", hv_envelope_kind(in));
			break;
		}
		fflush(stdout);
		hv_envelope_free(in);
		if (r == 0 && answered >= o->heartbeats && pending_acks <= 0 && !update_due &&
		    (!o->audit || audit_sent))
			break;
	}
	hv_buf_free(&rx);
	return r;
}

/*
 * Write seed inputs for the fuzzers: one frame per message a guest sends
 * (fuzz_frame), and the same prefixed with the session state byte
 * (fuzz_hostd_handlers: 0 hello, 1 evidence, 2 result, 3 idle).
 */
static int emit(const char *frame_dir, const char *handler_dir, struct sim_guest *g)
{
	static const uint8_t nonce[32];
	hv_envelope env = HVIPE__ENVELOPE__INIT;
	Hvipe__Hello h = HVIPE__HELLO__INIT;
	Hvipe__PolicyResult pr = HVIPE__POLICY_RESULT__INIT;
	Hvipe__AuditBatch b = HVIPE__AUDIT_BATCH__INIT;
	Hvipe__AuditRecord rec = HVIPE__AUDIT_RECORD__INIT, *rp = &rec;
	struct sim_evidence s;
	struct {
		const char *name;
		uint8_t state;
	} out[4] = {{"hello", 0}, {"evidence", 1}, {"policy_result", 2}, {"audit", 3}};

	h.protocol_version = 1;
	h.capabilities = 3;
	h.agent_version = (char *)"seed";
	h.kernel_release = (char *)"6.12";
	h.mode = HVIPE__AGENT_MODE__AGENT_MODE_DAEMON;
	sim_evidence_build(g, nonce, &s);
	pr.update_seq = 1;
	pr.step = (char *)"load";
	pr.reason = (char *)"";
	pr.active_name = (char *)"hvipe";
	pr.active_version = (char *)"1.0.1";
	rec.type = 1420;
	rec.text = (char *)"ipe_op=EXECUTE action=DENY";
	b.records = &rp;
	b.n_records = 1;
	for (int i = 0; i < 4; i++) {
		struct hv_buf buf;
		char path[1200];
		FILE *f;

		env.seq = 1;
		switch (i) {
		case 0:
			env.body_case = HVIPE__ENVELOPE__BODY_HELLO;
			env.hello = &h;
			break;
		case 1:
			env.body_case = HVIPE__ENVELOPE__BODY_EVIDENCE;
			env.evidence = &s.ev;
			break;
		case 2:
			env.body_case = HVIPE__ENVELOPE__BODY_POLICY_RESULT;
			env.policy_result = &pr;
			break;
		default:
			env.body_case = HVIPE__ENVELOPE__BODY_AUDIT_BATCH;
			env.audit_batch = &b;
			break;
		}
		hv_buf_init(&buf, HV_PROTO_MAX_FRAME + 8);
		if (hv_frame_encode(&env, &buf) < 0)
			return 1;
		snprintf(path, sizeof(path), "%s/%s", frame_dir, out[i].name);
		f = fopen(path, "w");
		if (!f)
			return 1;
		fwrite(buf.data, 1, buf.len, f);
		fclose(f);
		snprintf(path, sizeof(path), "%s/%s", handler_dir, out[i].name);
		f = fopen(path, "w");
		if (!f)
			return 1;
		fputc(out[i].state, f);
		fwrite(buf.data, 1, buf.len, f);
		fclose(f);
		hv_buf_free(&buf);
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hvipe-testguest --connect PATH --root-hash HEX [options]\n"
	           "  --alg A  --signed  --no-enforce  --no-ipe  --wrong-nonce  --daemon\n"
	           "  --cert FILE         verify each PolicyUpdate's signature with FILE\n"
	           "  --dump-policy FILE  write the verified policy text there\n"
	           "  --state FILE        keep the simulated active policy across runs\n"
	           "  --report-version V --report-digest HEX  claim this active hvipe policy\n"
	           "  --heartbeats N      verdicts to receive before exiting (default 1)\n"
	           "  --audit TEXT        send one audit record and wait for its Ack\n"
	           "  --boot-id HEX       16-byte boot id\n"
	           "  --fault garbage|oversized|zero|truncated|stall|unexpected|silent|flood\n"
	           "  --timeout-ms N      how long to wait for the host (default 20000)\n"
	           "  --emit-seeds DIR    write fuzzer seeds to DIR/fuzz_frame, "
	           "DIR/fuzz_hostd_handlers\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	        {"connect", required_argument, NULL, 'c'},
	        {"root-hash", required_argument, NULL, 'r'},
	        {"alg", required_argument, NULL, 'a'},
	        {"signed", no_argument, NULL, 's'},
	        {"no-enforce", no_argument, NULL, 'E'},
	        {"no-ipe", no_argument, NULL, 'I'},
	        {"wrong-nonce", no_argument, NULL, 'n'},
	        {"daemon", no_argument, NULL, 'd'},
	        {"cert", required_argument, NULL, 'C'},
	        {"dump-policy", required_argument, NULL, 'D'},
	        {"state", required_argument, NULL, 'S'},
	        {"report-version", required_argument, NULL, 'V'},
	        {"report-digest", required_argument, NULL, 'G'},
	        {"heartbeats", required_argument, NULL, 'H'},
	        {"audit", required_argument, NULL, 'A'},
	        {"boot-id", required_argument, NULL, 'B'},
	        {"fault", required_argument, NULL, 'F'},
	        {"timeout-ms", required_argument, NULL, 'T'},
	        {"help", no_argument, NULL, 'h'},
	        {"emit-seeds", required_argument, NULL, 'Z'},
	        {NULL, 0, NULL, 0},
	};
	struct opts o = {.heartbeats = 1, .timeout_ms = 20000};
	struct sim_guest g;
	const char *root = NULL, *rep_ver = NULL, *rep_dig = NULL, *emit_dir = NULL;
	X509 *cert = NULL;
	int c, fd, r, n;

	sim_guest_init(&g);
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.connect = optarg;
			break;
		case 'r':
			root = optarg;
			break;
		case 'a':
			snprintf(g.alg, sizeof(g.alg), "%s", optarg);
			break;
		case 's':
			g.signature_verified = true;
			break;
		case 'E':
			g.enforce = false;
			break;
		case 'I':
			g.ipe_present = false;
			break;
		case 'n':
			o.wrong_nonce = true;
			break;
		case 'd':
			o.daemon = true;
			break;
		case 'C':
			o.cert = optarg;
			break;
		case 'D':
			o.dump_policy = optarg;
			break;
		case 'S':
			o.state = optarg;
			break;
		case 'V':
			rep_ver = optarg;
			break;
		case 'G':
			rep_dig = optarg;
			break;
		case 'H':
			o.heartbeats = atoi(optarg);
			break;
		case 'A':
			o.audit = optarg;
			break;
		case 'B':
			if (hv_hex_decode(g.boot_id, 16, optarg, strlen(optarg)) != 16)
				return 2;
			break;
		case 'F':
			o.fault = optarg;
			break;
		case 'T':
			o.timeout_ms = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'Z':
			emit_dir = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (emit_dir) {
		char fd_[560], hd[560];

		snprintf(fd_, sizeof(fd_), "%s/fuzz_frame", emit_dir);
		snprintf(hd, sizeof(hd), "%s/fuzz_hostd_handlers", emit_dir);
		memset(g.root_hash, 0x51, 32);
		return emit(fd_, hd, &g);
	}
	if (!o.connect || !root) {
		usage(stderr);
		return 2;
	}
	n = hv_hex_decode(g.root_hash, sizeof(g.root_hash), root, strlen(root));
	if (n <= 0)
		return 2;
	g.root_len = (size_t)n;
	load_state(o.state, &g);
	if (rep_ver && rep_dig) {
		if (strlen(rep_ver) >= sizeof(g.version) ||
		    hv_hex_decode(g.digest, 32, rep_dig, strlen(rep_dig)) != 32)
			return 2;
		strcpy(g.version, rep_ver);
		g.has_hvipe = true;
	}
	if (o.cert && hv_cert_load(o.cert, &cert) < 0) {
		fprintf(stderr, "cannot load %s\n", o.cert);
		return 2;
	}
	fd = connect_unix(o.connect);
	if (fd < 0) {
		printf("connect failed: %s\n", strerror(-fd));
		X509_free(cert);
		return 5;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	r = o.fault ? fault(fd, &o, &g) : run(fd, &g, &o, cert);
	close(fd);
	X509_free(cert);
	return r;
}
