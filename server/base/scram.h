/* server/base/scram.h — SCRAM (RFC 5802, RFC 7677) for SASL: stored credentials and the server
 * side of the exchange, including channel binding (-PLUS, RFC 5929 tls-server-end-point,
 * RFC 9266 tls-exporter). Pure computation: no I/O, no event loop. The password never
 * leaves scram_credentials_make(); only salted keys are stored. */
#ifndef MYNA_SCRAM_H
#define MYNA_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum scram_hash { SCRAM_SHA1 = 0, SCRAM_SHA256 = 1 };
#define SCRAM_MAX_HASH 32
/* Salts Myna makes are 16 random bytes; imported ones may be longer (Prosody uses a
 * 36-character UUID), up to SCRAM_SALT_MAX. */
#define SCRAM_SALT_LEN 16
#define SCRAM_SALT_MAX 64

/* What is stored per account and hash (RFC 5802 §3: StoredKey, ServerKey, salt, i). */
struct scram_credentials {
    enum scram_hash hash;
    unsigned iterations;
    unsigned char salt[SCRAM_SALT_MAX];
    size_t salt_len;
    unsigned char stored_key[SCRAM_MAX_HASH];
    unsigned char server_key[SCRAM_MAX_HASH];
};

size_t scram_hash_len(enum scram_hash h);
const char *scram_mech_name(enum scram_hash h, bool plus); /* "SCRAM-SHA-256-PLUS" */

/* Derives credentials from a password (already SASLprep'd by the caller or raw UTF-8;
 * this function applies SASLprep). salt NULL = SCRAM_SALT_LEN random bytes. Costs `iterations` PBKDF2
 * rounds: run on the job pool, not the loop. Returns 0 or -1 (bad password string). */
int scram_credentials_make(enum scram_hash h, const char *password, const unsigned char *salt,
                           size_t salt_len, unsigned iterations, struct scram_credentials *out);
/* Checks a plaintext password (SASL PLAIN) against stored credentials. Costs PBKDF2. */
bool scram_check_password(const struct scram_credentials *cred, const char *password);

/* Unknown users' salts (RFC 5802 §5.1 says nothing; an attacker must not tell them from
 * real ones): HMAC-SHA-256 over the username and the hash under a secret kept in the store,
 * so they differ per hash and survive restarts; `iterations` is what new accounts get.
 * Called once at startup, before any exchange (thread-safe afterwards: read-only). */
void scram_set_fake_secret(const unsigned char *secret, size_t len, unsigned iterations);
/* The salt an unknown `username` gets for hash h (SCRAM_SALT_LEN bytes). */
void scram_fake_salt(enum scram_hash h, const char *username, unsigned char *salt);

/* The server side of one SCRAM exchange. */
enum scram_step_result {
    SCRAM_CONTINUE = 0,   /* send `out` as a challenge and wait for the next response */
    SCRAM_SUCCESS,        /* send `out` as additional data of <success/> */
    SCRAM_FAIL_MALFORMED, /* <malformed-request/> or <incorrect-encoding/> */
    SCRAM_FAIL_AUTH,      /* <not-authorized/> (bad proof or unknown user) */
    SCRAM_FAIL_AUTHZID,   /* <invalid-authzid/> */
    SCRAM_FAIL_CHANNEL_BINDING, /* bad/missing channel binding: <not-authorized/> */
};

struct scram_server;

/* plus: the -PLUS mechanism was chosen. cb_type/cb_data: the channel binding the TLS layer
 * offers ("tls-exporter" or "tls-server-end-point") and its data; NULL when none. */
struct scram_server *scram_server_new(enum scram_hash h, bool plus, const char *cb_type,
                                      const unsigned char *cb_data, size_t cb_len);
void scram_server_free(struct scram_server *s);
/* Tests only: use `snonce` (printable ASCII, no ',') as the server nonce instead of 24
 * random bytes, so RFC test vectors can run end to end. Call before the challenge. */
void scram_server_set_nonce(struct scram_server *s, const char *snonce);

/* Step 1: parses client-first-message. On SCRAM_CONTINUE, *username gets the SASLprep'd
 * user name (valid while s lives) and the caller must look up credentials and call
 * scram_server_challenge(). authzid, if present, is returned in *authzid (NULL if none). */
enum scram_step_result scram_server_start(struct scram_server *s, const char *msg, size_t len,
                                          const char **username, const char **authzid);
/* Step 2: with the user's credentials (NULL if the user does not exist: a fake salt is
 * used so the exchange looks the same, and step 3 fails), writes server-first-message
 * into out (NUL-terminated, outlen bytes). */
enum scram_step_result scram_server_challenge(struct scram_server *s,
                                              const struct scram_credentials *cred, char *out,
                                              size_t outlen);
/* Step 3: verifies client-final-message; on SCRAM_SUCCESS writes server-final-message
 * ("v=...") into out. */
enum scram_step_result scram_server_finish(struct scram_server *s, const char *msg, size_t len,
                                           char *out, size_t outlen);

/* Base64 helpers (RFC 4648), for SASL payloads. Return output length or -1. */
int base64_encode(const unsigned char *in, size_t len, char *out, size_t outlen);
int base64_decode(const char *in, size_t len, unsigned char *out, size_t outlen);

/* SASLprep (RFC 4013) of a UTF-8 string into out; -1 if prohibited. */
int saslprep(const char *in, char *out, size_t outlen);

#endif
