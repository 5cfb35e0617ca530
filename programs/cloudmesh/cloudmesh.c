/* CloudMesh job program (seed 004) in C for SBPF v0, compiled by Debian's clang and linked by
 * programs/sbf_link.py.
 *
 * The same instructions, accounts, Borsh layouts, discriminators and error codes as the Anchor
 * program `cloudmesh` (MercyShark/CloudMesh, anchor/programs/counter/src/lib.rs), so clients of
 * the original work unchanged. Two changes, both compatible:
 *   - the Job account has room for its three strings at their 100-byte limit (8 + 32 + 3 * 104 +
 *     28 + 33 = 413 bytes; the original's 308 could not hold long CIDs);
 *   - initialize_job takes an optional trailing `authority: Option<Pubkey>` (absent in the
 *     original's data = None). A job that names one can be completed only by that signer
 *     (6008 Unauthorized); the original lets any signer complete any job.
 * Not reproduced: Anchor's event logs (sol_log_data) and instruction-name log lines.
 *
 * SBPF v0 rules kept here: no global or static data (no .data, .bss or .rodata: constants are
 * immediates, byte strings are built on the stack), no libc (own byte loops), one entrypoint.
 */

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long i64;

/* Anchor's error codes: its framework's (account checks) and the program's (6000 + n). */
#define ERR_INSTRUCTION_MISSING 100
#define ERR_FALLBACK_NOT_FOUND 101
#define ERR_DID_NOT_DESERIALIZE 102
#define ERR_CONSTRAINT_MUT 2000
#define ERR_CONSTRAINT_SEEDS 2006
#define ERR_DISCRIMINATOR_NOT_FOUND 3001
#define ERR_DISCRIMINATOR_MISMATCH 3002
#define ERR_ACCOUNT_DID_NOT_DESERIALIZE 3003
#define ERR_NOT_ENOUGH_KEYS 3005
#define ERR_WRONG_OWNER 3007
#define ERR_INVALID_PROGRAM_ID 3008
#define ERR_NOT_SIGNER 3010
#define ERR_INVALID_TITLE 6000
#define ERR_INVALID_CID 6001
#define ERR_INVALID_COST 6002
#define ERR_ALREADY_COMPLETED 6003
#define ERR_JOB_CANCELLED 6004
#define ERR_ALREADY_CANCELLED 6005
#define ERR_ALREADY_PAID 6007
#define ERR_UNAUTHORIZED 6008

/* sha256("global:<name>")[:8] and sha256("account:Job")[:8], read as little-endian u64 */
#define IX_INITIALIZE_JOB 0x3272d04c298a1689ULL /* 137,22,138,41,76,208,114,50 */
#define IX_COMPLETE_JOB 0x0b03fa6548e1d8ddULL   /* 221,216,225,72,101,250,3,11 */
#define IX_MARK_PAYMENT 0xf3e92c50b9c35ea4ULL   /* 164,94,195,185,80,44,233,243 */
#define IX_CANCEL_JOB 0x7653ec32f19bf17eULL     /* 126,241,155,241,50,236,83,118 */
#define JOB_DISCRIMINATOR 0x50cab4a1cb507c4bULL /* 75,124,80,203,161,180,202,80 */

#define MAX_STRING 100
#define MAX_SEED 32
#define JOB_SPACE 413
#define TAIL 61 /* start_time, end_time, status, job_type, cost, cost_paid, bump, authority option */
#define STATUS_PENDING 0
#define STATUS_COMPLETED 1
#define STATUS_CANCELLED 2
#define MAX_ACCOUNTS 4 /* kept; more may be passed (skipped) */
#define REALLOC_PADDING 10240

/* --- the runtime's C ABI (solana_sdk.h shapes) ------------------------------------------ */

typedef struct { u8 x[32]; } Pubkey;
typedef struct { const u8 *addr; u64 len; } SignerSeed;
typedef struct { const SignerSeed *addr; u64 len; } SignerSeeds;
typedef struct { Pubkey *pubkey; u8 is_writable; u8 is_signer; } AccountMeta;
typedef struct { Pubkey *program_id; AccountMeta *accounts; u64 account_len; u8 *data; u64 data_len; } Instruction;
typedef struct {
    Pubkey *key;
    u64 *lamports;
    u64 data_len;
    u8 *data;
    Pubkey *owner;
    u64 rent_epoch;
    u8 is_signer;
    u8 is_writable;
    u8 executable;
} AccountInfo;
typedef struct { u64 slot; i64 epoch_start_timestamp; u64 epoch; u64 leader_schedule_epoch; i64 unix_timestamp; } Clock;
typedef struct { u64 lamports_per_byte_year; u64 exemption_threshold_bits; u8 burn_percent; } Rent;

extern u64 sol_get_clock_sysvar(Clock *clock);
extern u64 sol_get_rent_sysvar(Rent *rent);
extern u64 sol_try_find_program_address(const SignerSeed *seeds, u64 seeds_len, const Pubkey *program_id,
                                        Pubkey *address, u8 *bump);
extern u64 sol_create_program_address(const SignerSeed *seeds, u64 seeds_len, const Pubkey *program_id,
                                      Pubkey *address);
extern u64 sol_invoke_signed_c(const Instruction *ix, const AccountInfo *infos, u64 infos_len,
                               const SignerSeeds *seeds, u64 seeds_len);

/* --- small helpers ------------------------------------------------------------------------- */

static u64 rd64(const u8 *p) {
    u64 v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static u32 rd32(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }

static void wr64(u8 *p, u64 v) {
    for (int i = 0; i < 8; i++) { p[i] = (u8)v; v >>= 8; }
}

static void wr32(u8 *p, u32 v) {
    for (int i = 0; i < 4; i++) { p[i] = (u8)v; v >>= 8; }
}

static void copy(u8 *dst, const u8 *src, u64 n) {
    for (u64 i = 0; i < n; i++) dst[i] = src[i];
}

static void copy_back(u8 *dst, const u8 *src, u64 n) { /* overlapping, dst after src */
    for (u64 i = n; i > 0; i--) dst[i - 1] = src[i - 1];
}

static int same_key(const u8 *a, const u8 *b) {
    u8 diff = 0;
    for (int i = 0; i < 32; i++) diff |= a[i] ^ b[i];
    return diff == 0;
}

static int is_zero_key(const u8 *a) {
    u8 any = 0;
    for (int i = 0; i < 32; i++) any |= a[i];
    return any == 0;
}

/* --- the serialized input (SBPF v0 layout) ------------------------------------------------ */

typedef struct {
    AccountInfo info;
    u64 *data_len; /* in the input buffer: the runtime writes a CPI's new length here */
} Account;

typedef struct {
    Account accounts[MAX_ACCOUNTS];
    u64 count;
    const u8 *data;
    u64 data_len;
    Pubkey *program_id;
} Input;

__attribute__((noinline)) static u64 parse(u8 *in, Input *out) {
    u64 n = rd64(in);
    u8 *p = in + 8;
    Account skipped;
    out->count = n < MAX_ACCOUNTS ? n : MAX_ACCOUNTS;
    for (u64 i = 0; i < n; i++) {
        Account *a = i < MAX_ACCOUNTS ? &out->accounts[i] : &skipped;
        if (p[0] != 0xff) { /* a duplicate of an earlier account */
            u64 dup = p[0];
            if (dup >= i) return ERR_ACCOUNT_DID_NOT_DESERIALIZE;
            if (dup < MAX_ACCOUNTS) *a = out->accounts[dup];
            p += 8;
            continue;
        }
        a->info.is_signer = p[1];
        a->info.is_writable = p[2];
        a->info.executable = p[3];
        a->info.key = (Pubkey *)(p + 8);
        a->info.owner = (Pubkey *)(p + 40);
        a->info.lamports = (u64 *)(p + 72);
        a->data_len = (u64 *)(p + 80);
        a->info.data_len = *a->data_len;
        a->info.data = p + 88;
        p += 88 + a->info.data_len + REALLOC_PADDING;
        p = (u8 *)(((u64)p + 7) & ~7ULL);
        a->info.rent_epoch = rd64(p);
        p += 8;
    }
    out->data_len = rd64(p);
    out->data = p + 8;
    out->program_id = (Pubkey *)(p + 8 + out->data_len);
    return 0;
}

/* A Borsh string at data[*at] (u32 length, bytes) within len; 0 or an error. */
static u64 take_string(const u8 *data, u64 len, u64 *at, const u8 **str, u64 *str_len) {
    if (*at + 4 > len) return ERR_DID_NOT_DESERIALIZE;
    u64 n = rd32(data + *at);
    if (*at + 4 + n > len) return ERR_DID_NOT_DESERIALIZE;
    *str = data + *at + 4;
    *str_len = n;
    *at += 4 + n;
    return 0;
}

/* --- the Job account ------------------------------------------------------------------------ */

typedef struct {
    const u8 *owner;
    const u8 *title;
    u64 title_len;
    u64 result_at; /* offset of result_cid's length */
    u64 tail_at;   /* offset of start_time */
} Job;

static u64 load_job(const Input *in, const Account *a, Job *job) {
    const u8 *d = a->info.data;
    u64 len = a->info.data_len;
    const u8 *s;
    u64 n;
    if (!same_key(a->info.owner->x, in->program_id->x)) return len == 0 ? 3012 : ERR_WRONG_OWNER;
    if (len < 8) return ERR_DISCRIMINATOR_NOT_FOUND;
    if (rd64(d) != JOB_DISCRIMINATOR) return ERR_DISCRIMINATOR_MISMATCH;
    if (len < 40) return ERR_ACCOUNT_DID_NOT_DESERIALIZE;
    job->owner = d + 8;
    u64 at = 40;
    if (take_string(d, len, &at, &job->title, &job->title_len)) return ERR_ACCOUNT_DID_NOT_DESERIALIZE;
    if (take_string(d, len, &at, &s, &n)) return ERR_ACCOUNT_DID_NOT_DESERIALIZE;
    job->result_at = at;
    if (take_string(d, len, &at, &s, &n)) return ERR_ACCOUNT_DID_NOT_DESERIALIZE;
    if (at + TAIL > len) return ERR_ACCOUNT_DID_NOT_DESERIALIZE;
    job->tail_at = at;
    return 0;
}

/* seeds = [b"job", owner, title, [bump]]: the job account's address must be the PDA they make */
static u64 check_pda(const Input *in, const Account *a, const Job *job) {
    u8 prefix[3];
    prefix[0] = 'j';
    prefix[1] = 'o';
    prefix[2] = 'b';
    u8 bump = a->info.data[job->tail_at + 27];
    SignerSeed seeds[4];
    seeds[0].addr = prefix;
    seeds[0].len = 3;
    seeds[1].addr = job->owner;
    seeds[1].len = 32;
    seeds[2].addr = job->title;
    seeds[2].len = job->title_len;
    seeds[3].addr = &bump;
    seeds[3].len = 1;
    Pubkey derived;
    if (sol_create_program_address(seeds, 4, in->program_id, &derived) != 0) return ERR_CONSTRAINT_SEEDS;
    return same_key(derived.x, a->info.key->x) ? 0 : ERR_CONSTRAINT_SEEDS;
}

/* The job account of complete/mark/cancel: writable, a Job of this program, at its PDA. */
static u64 job_account(const Input *in, Job *job) {
    if (in->count < 2) return ERR_NOT_ENOUGH_KEYS;
    const Account *a = &in->accounts[0];
    u64 err = load_job(in, a, job);
    if (err) return err;
    if (!a->info.is_writable) return ERR_CONSTRAINT_MUT;
    return check_pda(in, a, job);
}

static i64 now(void) {
    Clock clock;
    sol_get_clock_sysvar(&clock);
    return clock.unix_timestamp;
}

/* Rent-exempt minimum: (128 + space) * lamports_per_byte_year * threshold, the threshold an f64
 * read in integer arithmetic (SBPF v0 has no floating point). */
static u64 rent_exempt(u64 space) {
    Rent rent;
    sol_get_rent_sysvar(&rent);
    u64 bits = rent.exemption_threshold_bits;
    i64 exp = (i64)((bits >> 52) & 0x7ff) - 1023;
    u64 mantissa = (bits & ((1ULL << 52) - 1)) | (1ULL << 52); /* value = mantissa * 2^(exp - 52) */
    u64 base = (128 + space) * rent.lamports_per_byte_year;
    if (exp < 0 || exp > 20) return base * 2; /* not a sane threshold: the network's default, 2 */
    return (base * (mantissa >> 32)) >> (20 - exp);
}

/* --- instructions ------------------------------------------------------------------------------ */

/* system_program::create_account(owner → job, rent-exempt lamports, JOB_SPACE, this program),
 * signed for the job's PDA with its seeds. */
__attribute__((noinline)) static u64 create_job_account(Input *in, Account *job, Account *owner, Account *system,
                                                        const SignerSeed *seeds) {
    u8 data[52];
    wr32(data, 0);
    wr64(data + 4, rent_exempt(JOB_SPACE));
    wr64(data + 12, JOB_SPACE);
    copy(data + 20, in->program_id->x, 32);
    AccountMeta metas[2];
    metas[0].pubkey = owner->info.key;
    metas[0].is_writable = 1;
    metas[0].is_signer = 1;
    metas[1].pubkey = job->info.key;
    metas[1].is_writable = 1;
    metas[1].is_signer = 1;
    Instruction ix;
    ix.program_id = system->info.key;
    ix.accounts = metas;
    ix.account_len = 2;
    ix.data = data;
    ix.data_len = 52;
    AccountInfo infos[3];
    infos[0] = owner->info;
    infos[1] = job->info;
    infos[2] = system->info;
    SignerSeeds signer;
    signer.addr = seeds;
    signer.len = 4;
    return sol_invoke_signed_c(&ix, infos, 3, &signer, 1);
}

__attribute__((noinline)) static u64 initialize_job(Input *in) {
    u64 at = 8;
    const u8 *title, *cid;
    u64 title_len, cid_len;
    if (take_string(in->data, in->data_len, &at, &title, &title_len)) return ERR_DID_NOT_DESERIALIZE;
    if (take_string(in->data, in->data_len, &at, &cid, &cid_len)) return ERR_DID_NOT_DESERIALIZE;
    if (at + 1 > in->data_len || in->data[at] > 2) return ERR_DID_NOT_DESERIALIZE;
    u8 job_type = in->data[at++];
    const u8 *authority = 0;
    if (at < in->data_len) { /* the optional authority: Option<Pubkey> */
        if (in->data[at] == 1 && at + 33 <= in->data_len) authority = in->data + at + 1;
        else if (in->data[at] != 0) return ERR_DID_NOT_DESERIALIZE;
    }
    if (in->count < 3) return ERR_NOT_ENOUGH_KEYS;
    Account *job = &in->accounts[0], *owner = &in->accounts[1], *system = &in->accounts[2];
    if (!owner->info.is_signer) return ERR_NOT_SIGNER;
    if (!owner->info.is_writable || !job->info.is_writable) return ERR_CONSTRAINT_MUT;
    if (!is_zero_key(system->info.key->x)) return ERR_INVALID_PROGRAM_ID;
    if (title_len == 0 || title_len > MAX_STRING) return ERR_INVALID_TITLE;
    if (title_len > MAX_SEED) return ERR_INVALID_TITLE; /* a PDA seed is at most 32 bytes */
    if (cid_len == 0 || cid_len > MAX_STRING) return ERR_INVALID_CID;

    u8 prefix[3];
    prefix[0] = 'j';
    prefix[1] = 'o';
    prefix[2] = 'b';
    SignerSeed seeds[4];
    seeds[0].addr = prefix;
    seeds[0].len = 3;
    seeds[1].addr = owner->info.key->x;
    seeds[1].len = 32;
    seeds[2].addr = title;
    seeds[2].len = title_len;
    Pubkey pda;
    u8 bump;
    if (sol_try_find_program_address(seeds, 3, in->program_id, &pda, &bump) != 0) return ERR_CONSTRAINT_SEEDS;
    if (!same_key(pda.x, job->info.key->x)) return ERR_CONSTRAINT_SEEDS;
    seeds[3].addr = &bump;
    seeds[3].len = 1;

    u64 err = create_job_account(in, job, owner, system, seeds);
    if (err) return err;
    if (*job->data_len != JOB_SPACE) return ERR_ACCOUNT_DID_NOT_DESERIALIZE;

    u8 *d = job->info.data;
    wr64(d, JOB_DISCRIMINATOR);
    copy(d + 8, owner->info.key->x, 32);
    u64 o = 40;
    wr32(d + o, (u32)title_len);
    copy(d + o + 4, title, title_len);
    o += 4 + title_len;
    wr32(d + o, (u32)cid_len);
    copy(d + o + 4, cid, cid_len);
    o += 4 + cid_len;
    wr32(d + o, 0); /* result_cid = "" */
    o += 4;
    wr64(d + o, (u64)now()); /* start_time */
    wr64(d + o + 8, 0);      /* end_time */
    d[o + 16] = STATUS_PENDING;
    d[o + 17] = job_type;
    wr64(d + o + 18, 0); /* cost */
    d[o + 26] = 0;       /* cost_paid */
    d[o + 27] = bump;
    d[o + 28] = authority ? 1 : 0;
    if (authority) copy(d + o + 29, authority, 32);
    return 0;
}

__attribute__((noinline)) static u64 complete_job(Input *in) {
    u64 at = 8;
    const u8 *cid;
    u64 cid_len;
    if (take_string(in->data, in->data_len, &at, &cid, &cid_len)) return ERR_DID_NOT_DESERIALIZE;
    if (at + 8 > in->data_len) return ERR_DID_NOT_DESERIALIZE;
    u64 cost = rd64(in->data + at);
    Job job;
    u64 err = job_account(in, &job);
    if (err) return err;
    Account *a = &in->accounts[0], *worker = &in->accounts[1];
    if (!worker->info.is_signer) return ERR_NOT_SIGNER;
    if (cid_len == 0 || cid_len > MAX_STRING) return ERR_INVALID_CID;
    if (cost == 0) return ERR_INVALID_COST;
    u8 *d = a->info.data;
    u8 *tail = d + job.tail_at;
    if (tail[16] == STATUS_COMPLETED) return ERR_ALREADY_COMPLETED;
    if (tail[16] == STATUS_CANCELLED) return ERR_JOB_CANCELLED;
    if (tail[28] == 1 && !same_key(tail + 29, worker->info.key->x)) return ERR_UNAUTHORIZED;
    u64 old_len = rd32(d + job.result_at);
    if (job.result_at + 4 + cid_len + TAIL > a->info.data_len) return ERR_ACCOUNT_DID_NOT_DESERIALIZE;
    u8 *new_tail = d + job.result_at + 4 + cid_len;
    if (cid_len > old_len) copy_back(new_tail, tail, TAIL);
    else copy(new_tail, tail, TAIL);
    wr32(d + job.result_at, (u32)cid_len);
    copy(d + job.result_at + 4, cid, cid_len);
    wr64(new_tail + 8, (u64)now()); /* end_time */
    new_tail[16] = STATUS_COMPLETED;
    wr64(new_tail + 18, cost);
    return 0;
}

/* mark_payment and cancel_job: the job's owner signs (has_one = owner, else Unauthorized) */
static u64 owner_action(Input *in, Job *job, u8 **tail) {
    u64 err = job_account(in, job);
    if (err) return err;
    Account *owner = &in->accounts[1];
    if (!owner->info.is_signer) return ERR_NOT_SIGNER;
    if (!same_key(job->owner, owner->info.key->x)) return ERR_UNAUTHORIZED;
    *tail = in->accounts[0].info.data + job->tail_at;
    return 0;
}

__attribute__((noinline)) static u64 mark_payment(Input *in) {
    Job job;
    u8 *tail;
    u64 err = owner_action(in, &job, &tail);
    if (err) return err;
    if (tail[26]) return ERR_ALREADY_PAID;
    tail[26] = 1;
    return 0;
}

__attribute__((noinline)) static u64 cancel_job(Input *in) {
    Job job;
    u8 *tail;
    u64 err = owner_action(in, &job, &tail);
    if (err) return err;
    if (tail[16] == STATUS_COMPLETED) return ERR_ALREADY_COMPLETED;
    if (tail[16] == STATUS_CANCELLED) return ERR_ALREADY_CANCELLED;
    tail[16] = STATUS_CANCELLED;
    wr64(tail + 8, (u64)now());
    return 0;
}

u64 entrypoint(u8 *input) {
    Input in;
    u64 err = parse(input, &in);
    if (err) return err;
    if (in.data_len < 8) return ERR_INSTRUCTION_MISSING;
    u64 ix = rd64(in.data);
    if (ix == IX_INITIALIZE_JOB) return initialize_job(&in);
    if (ix == IX_COMPLETE_JOB) return complete_job(&in);
    if (ix == IX_MARK_PAYMENT) return mark_payment(&in);
    if (ix == IX_CANCEL_JOB) return cancel_job(&in);
    return ERR_FALLBACK_NOT_FOUND;
}
