/* SPDX-License-Identifier: BSD-2-Clause */
/* OpenSSH user certificates for the ssh-ca vault backend: a fresh Ed25519
 * key per session, certified by a CA key from the vault (OpenSSH
 * PROTOCOL.certkeys, "ssh-ed25519-cert-v01@openssh.com"), signed with
 * OpenSSL. No ssh-keygen, no file, no argv. */
#ifndef PCL_SSHCERT_H
#define PCL_SSHCERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portcullis/vault.h"

/* Wire constants (PROTOCOL.certkeys; changing them breaks every target). */
#define PCL_SSHCERT_TYPE "ssh-ed25519-cert-v01@openssh.com"
#define PCL_SSHCERT_KEY_TYPE "ssh-ed25519"
#define PCL_SSHCERT_USER 1 /* SSH_CERT_TYPE_USER */

/* What the certificate says. Borrowed strings. */
struct pcl_sshcert_params {
    const char *principal;  /* the one valid principal: the target account */
    const char *key_id;     /* logged by the target's sshd */
    uint64_t serial;        /* 0: a random serial */
    uint64_t valid_after;   /* seconds since the epoch */
    uint64_t valid_before;  /* seconds since the epoch */
    bool permit_pty;        /* the "permit-pty" extension */
};

/*
 * Issues a certificate: makes a fresh Ed25519 key pair (OpenSSL), builds
 * the certificate (nonce, public key, serial, type user, key id, the one
 * principal, validity, no critical options, only the extensions asked
 * for, the CA's public key) and signs it with ca, an unencrypted Ed25519
 * private key in OpenSSH format (type PCL_VAULT_CA_KEY). On success *out
 * is a locked secret owned by the caller (pcl_secret_free) of type
 * PCL_VAULT_SSH_CERT: data is the new private key in OpenSSH format and
 * cert the certificate in base64 (public). Returns 0, PCL_ERR_INVAL
 * (principal or key id empty, validity empty), PCL_ERR_CONFIG (ca is not
 * an unencrypted OpenSSH Ed25519 key), PCL_ERR_CRYPTO or PCL_ERR_NOMEM,
 * with why filled (never a secret).
 */
int pcl_sshcert_issue(const struct pcl_secret *ca,
                      const struct pcl_sshcert_params *p,
                      struct pcl_secret **out, char *why, size_t whylen);

#endif /* PCL_SSHCERT_H */
