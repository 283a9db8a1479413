/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * portcullis-vault: the administrator's tool for the file vault (root).
 * Process glue only: sealing, unsealing and rotation live in lib/vault.c.
 * It never prints a secret.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <libssh/libssh.h>

#include "portcullis/conf.h"
#include "portcullis/err.h"
#include "portcullis/file.h"
#include "portcullis/ini.h"
#include "portcullis/log.h"
#include "portcullis/vault.h"

#define DEFAULT_CONFIG SYSCONFDIR "/portcullis/portcullis.conf"
#define EXIT_FAIL 1
#define EXIT_USAGE 64

static void __attribute__((noreturn))
usage(void)
{
    fprintf(stderr,
            "usage: portcullis-vault [-f config_file] [-g group] init\n"
            "       portcullis-vault [-f ...] [-g ...] add NAME "
            "(--ssh-key FILE | --password-stdin | --ca-key FILE) "
            "[--replace]\n"
            "       portcullis-vault [-f ...] list\n"
            "       portcullis-vault [-f ...] [-g ...] rotate\n"
            "       portcullis-vault [-f ...] remove NAME\n"
            "       portcullis-vault [-f ...] export-ca-pub NAME\n");
    exit(EXIT_USAGE);
}

static void __attribute__((format(printf, 1, 2)))
complain(const char *fmt, ...)
{
    va_list ap;

    fputs("portcullis-vault: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Opens the file vault of the configuration. */
static int
open_vault(const struct pcl_conf *c, struct pcl_vault **v)
{
    struct pcl_vault_params p;
    char why[512];

    memset(&p, 0, sizeof(p));
    p.backend = "file";
    p.directory = c->vault_directory;
    p.master_key = c->vault_master_key;
    if (pcl_vault_open(&p, v, why, sizeof(why)) != PCL_OK) {
        complain("%s", why);
        return EXIT_FAIL;
    }
    return 0;
}

static int
cmd_init(const struct pcl_conf *c, gid_t gid)
{
    char why[512];
    struct stat st;

    if (lstat(c->vault_directory, &st) != 0) {
        if (errno != ENOENT || mkdir(c->vault_directory, 0750) != 0 ||
            chown(c->vault_directory, 0, gid) != 0 ||
            chmod(c->vault_directory, 0750) != 0) {
            complain("cannot create %s: %s", c->vault_directory,
                     strerror(errno));
            return EXIT_FAIL;
        }
        printf("created %s (root, group %ld, 0750)\n", c->vault_directory,
               (long)gid);
    }
    if (pcl_file_check_dir(c->vault_directory, PCL_FILE_DIR, why,
                           sizeof(why)) != PCL_OK) {
        complain("%s", why);
        return EXIT_FAIL;
    }
    if (pcl_vault_init_key(c->vault_master_key, gid, why, sizeof(why)) !=
        PCL_OK) {
        complain("%s", why);
        return EXIT_FAIL;
    }
    printf("created master key %s (root, group %ld, 0640)\n",
           c->vault_master_key, (long)gid);
    return 0;
}

/* Reads a secret from stdin: at most PCL_VAULT_SECRET_MAX bytes, one
 * trailing newline removed. */
static int
read_stdin_secret(struct pcl_secret **out)
{
    struct pcl_secret *s = NULL;
    size_t n = 0;
    ssize_t r;

    *out = NULL;
    if (pcl_secret_new(PCL_VAULT_PASSWORD, PCL_VAULT_SECRET_MAX + 1, &s) !=
        PCL_OK) {
        complain("out of memory");
        return EXIT_FAIL;
    }
    while (n < s->len) {
        r = read(STDIN_FILENO, s->data + n, s->len - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            complain("reading standard input: %s", strerror(errno));
            pcl_secret_free(s);
            return EXIT_FAIL;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    if (n > PCL_VAULT_SECRET_MAX) {
        complain("password longer than %d bytes", PCL_VAULT_SECRET_MAX);
        pcl_secret_free(s);
        return EXIT_FAIL;
    }
    if (n > 0 && s->data[n - 1] == '\n') {
        n--;
        if (n > 0 && s->data[n - 1] == '\r') {
            n--;
        }
    }
    s->data[n] = '\0';
    s->len = n;
    /* The mask engine refuses secrets under 4 bytes: such a password
     * could not be kept out of recordings. */
    if (n < 4 || memchr(s->data, '\0', n) != NULL ||
        memchr(s->data, '\n', n) != NULL) {
        complain("a password must be one line of at least 4 bytes, "
                 "without NUL");
        pcl_secret_free(s);
        return EXIT_FAIL;
    }
    *out = s;
    return 0;
}

/* Reads a private key file (checked like a secret: owned by root, not
 * readable by others) and checks that libssh can use it. */
static int
read_key_file(const char *path, enum pcl_vault_type type,
              struct pcl_secret **out)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    char why[512];
    ssh_key k = NULL;
    int rc;

    *out = NULL;
    rc = pcl_file_read_secret(path, PCL_VAULT_SECRET_MAX, &raw, &len, why,
                              sizeof(why));
    if (rc != PCL_OK) {
        complain("%s%s", why,
                 rc == PCL_ERR_PERM ? " (make it root-owned, mode 0600)"
                                    : "");
        return EXIT_FAIL;
    }
    if (len == 0 ||
        ssh_pki_import_privkey_base64((const char *)raw, NULL, NULL, NULL,
                                      &k) != SSH_OK) {
        complain("%s: not an unencrypted private key libssh can read", path);
        pcl_file_secret_free(raw, len);
        return EXIT_FAIL;
    }
    if (type == PCL_VAULT_CA_KEY && ssh_key_type(k) != SSH_KEYTYPE_ED25519) {
        complain("%s: a CA key must be Ed25519 (ssh-keygen -t ed25519)",
                 path);
        ssh_key_free(k);
        pcl_file_secret_free(raw, len);
        return EXIT_FAIL;
    }
    ssh_key_free(k);
    rc = pcl_secret_new(type, len, out);
    if (rc == PCL_OK) {
        memcpy((*out)->data, raw, len);
    } else {
        complain("out of memory");
    }
    pcl_file_secret_free(raw, len);
    return rc == PCL_OK ? 0 : EXIT_FAIL;
}

static int
cmd_add(const struct pcl_conf *c, gid_t gid, int argc, char **argv)
{
    const char *name;
    const char *file = NULL;
    enum pcl_vault_type type = PCL_VAULT_PASSWORD;
    struct pcl_vault_entry_info info;
    struct pcl_secret *s = NULL;
    struct pcl_vault *v = NULL;
    bool replace = false;
    bool have_type = false;
    char why[512];
    int i;
    int rc;

    if (argc < 2) {
        usage();
    }
    name = argv[1];
    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--replace") == 0) {
            replace = true;
            continue;
        }
        if (have_type) {
            usage();
        }
        have_type = true;
        if (strcmp(argv[i], "--password-stdin") == 0) {
            type = PCL_VAULT_PASSWORD;
        } else if ((strcmp(argv[i], "--ssh-key") == 0 ||
                    strcmp(argv[i], "--ca-key") == 0) &&
                   i + 1 < argc) {
            type = argv[i][2] == 's' ? PCL_VAULT_SSH_KEY : PCL_VAULT_CA_KEY;
            file = argv[++i];
        } else {
            usage();
        }
    }
    if (!have_type) {
        usage();
    }
    if (!pcl_vault_name_ok(name)) {
        complain("invalid name \"%.64s\": 1-%d letters, digits, '.', '_', "
                 "'-', not starting with '.'", name, PCL_VAULT_NAME_MAX);
        return EXIT_FAIL;
    }
    rc = open_vault(c, &v);
    if (rc != 0) {
        return rc;
    }
    if (!replace && pcl_vault_stat(v, name, &info, why, sizeof(why)) !=
                        PCL_ERR_NOTFOUND) {
        complain("%s exists already (use --replace)", name);
        pcl_vault_close(v);
        return EXIT_FAIL;
    }
    rc = file != NULL ? read_key_file(file, type, &s) : read_stdin_secret(&s);
    if (rc == 0 && pcl_vault_store(v, name, s, 0, gid, why, sizeof(why)) !=
                       PCL_OK) {
        complain("%s", why);
        rc = EXIT_FAIL;
    }
    if (rc == 0) {
        char kid[32];
        pcl_vault_key_id(v, kid, sizeof(kid));
        printf("sealed %s (%s, %zu bytes) under master key %s\n", name,
               pcl_vault_type_name(type), s->len, kid);
    }
    pcl_secret_free(s);
    pcl_vault_close(v);
    return rc;
}

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmd_list(const struct pcl_conf *c)
{
    struct pcl_vault *v = NULL;
    DIR *d = NULL;
    struct dirent *e;
    char *names[4096];
    size_t n = 0;
    size_t i;
    int rc;

    rc = open_vault(c, &v);
    if (rc != 0) {
        return rc;
    }
    d = opendir(c->vault_directory);
    if (d == NULL) {
        complain("%s: %s", c->vault_directory, strerror(errno));
        pcl_vault_close(v);
        return EXIT_FAIL;
    }
    while ((e = readdir(d)) != NULL && n < sizeof(names) / sizeof(names[0])) {
        if (pcl_vault_name_ok(e->d_name)) {
            names[n] = strdup(e->d_name);
            if (names[n] != NULL) {
                n++;
            }
        }
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), name_cmp);
    printf("%-32s %-9s %7s %-20s %s\n", "NAME", "TYPE", "BYTES", "CREATED",
           "MASTER-KEY");
    for (i = 0; i < n; i++) {
        struct pcl_vault_entry_info info;
        char why[512];
        char when[32] = "-";
        struct tm tm;
        if (pcl_vault_stat(v, names[i], &info, why, sizeof(why)) != PCL_OK) {
            printf("%-32s unreadable: %s\n", names[i], why);
            rc = EXIT_FAIL;
        } else {
            if (gmtime_r(&info.created, &tm) != NULL) {
                strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
            }
            printf("%-32s %-9s %7zu %-20s %s\n", info.name,
                   pcl_vault_type_name(info.type), info.length, when,
                   info.key_id);
        }
        free(names[i]);
    }
    pcl_vault_close(v);
    return rc;
}

static int
cmd_rotate(const struct pcl_conf *c, gid_t gid)
{
    struct pcl_vault *v = NULL;
    char why[512];
    char kid[32];
    size_t count = 0;
    int rc;

    rc = open_vault(c, &v);
    if (rc != 0) {
        return rc;
    }
    if (pcl_vault_rotate(v, gid, &count, why, sizeof(why)) != PCL_OK) {
        complain("rotation stopped after %zu entries: %s (every entry is "
                 "still readable; run rotate again)", count, why);
        rc = EXIT_FAIL;
    } else {
        pcl_vault_key_id(v, kid, sizeof(kid));
        printf("new master key %s; %zu entries re-sealed\n", kid, count);
    }
    pcl_vault_close(v);
    return rc;
}

static int
cmd_remove(const struct pcl_conf *c, const char *name)
{
    char path[PATH_MAX];

    if (!pcl_vault_name_ok(name) ||
        (size_t)snprintf(path, sizeof(path), "%s/%s", c->vault_directory,
                         name) >= sizeof(path)) {
        complain("invalid name \"%.64s\"", name);
        return EXIT_FAIL;
    }
    if (unlink(path) != 0) {
        complain("%s: %s", path, strerror(errno));
        return EXIT_FAIL;
    }
    printf("removed %s\n", name);
    return 0;
}

static int
cmd_export_ca_pub(const struct pcl_conf *c, const char *name)
{
    struct pcl_vault *v = NULL;
    struct pcl_secret *s = NULL;
    ssh_key priv = NULL;
    ssh_key pub = NULL;
    char *b64 = NULL;
    char why[512];
    int rc;

    rc = open_vault(c, &v);
    if (rc != 0) {
        return rc;
    }
    if (pcl_vault_unseal(v, name, &s, why, sizeof(why)) != PCL_OK) {
        complain("%s", why);
        rc = EXIT_FAIL;
    } else if (s->type != PCL_VAULT_CA_KEY) {
        complain("%s is a %s, not a CA key", name,
                 pcl_vault_type_name(s->type));
        rc = EXIT_FAIL;
    } else if (ssh_pki_import_privkey_base64((const char *)s->data, NULL,
                                             NULL, NULL, &priv) != SSH_OK ||
               ssh_pki_export_privkey_to_pubkey(priv, &pub) != SSH_OK ||
               ssh_pki_export_pubkey_base64(pub, &b64) != SSH_OK) {
        complain("%s: the CA key cannot be read", name);
        rc = EXIT_FAIL;
    } else {
        printf("%s %s portcullis-ca:%s\n", ssh_key_type_to_char(
                   ssh_key_type(pub)), b64, name);
    }
    ssh_string_free_char(b64);
    ssh_key_free(pub);
    ssh_key_free(priv);
    pcl_secret_free(s);
    pcl_vault_close(v);
    return rc;
}

/* One administrator at a time: add, rotate and remove hold an exclusive
 * lock on the vault directory (flock(2)), so two rotations cannot
 * interleave their key file writes. Returns the locked fd or -1. */
static int
lock_vault(const struct pcl_conf *c)
{
    int fd = open(c->vault_directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0) {
        complain("%s: %s", c->vault_directory, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        complain("%s is locked by another portcullis-vault; try again",
                 c->vault_directory);
        close(fd);
        return -1;
    }
    return fd;
}

int
main(int argc, char **argv)
{
    const char *config = DEFAULT_CONFIG;
    const char *group = PCL_GROUP_NAME;
    struct pcl_conf *conf = NULL;
    struct pcl_diag *diag = NULL;
    struct rlimit nocore = { 0, 0 };
    struct group *gr;
    gid_t gid;
    size_t i;
    int lockfd = -1;
    int ch;
    int rc;

    /* Secrets pass through this process: no core file, not ptrace-able
     * by another process of root's, files private until chmod'ed. */
    (void)setrlimit(RLIMIT_CORE, &nocore);
    (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    umask(077);
    while ((ch = getopt(argc, argv, "+f:g:h")) != -1) {
        switch (ch) {
        case 'f':
            config = optarg;
            break;
        case 'g':
            group = optarg;
            break;
        default:
            usage();
        }
    }
    argc -= optind;
    argv += optind;
    if (argc < 1) {
        usage();
    }
    if (getuid() != 0 || geteuid() != 0) {
        complain("must be run as root");
        return EXIT_FAIL;
    }
    pcl_log_init("portcullis-vault", PCL_LOG_STDERR, PCL_LOG_INFO);
    gr = getgrnam(group);
    if (gr == NULL) {
        complain("no group %s (-g GROUP, or create it)", group);
        return EXIT_FAIL;
    }
    gid = gr->gr_gid;
    if (pcl_diag_new(&diag) != PCL_OK) {
        complain("out of memory");
        return EXIT_FAIL;
    }
    if (pcl_conf_load(config, diag, &conf) != PCL_OK) {
        for (i = 0; i < pcl_diag_count(diag); i++) {
            fprintf(stderr, "%s\n", pcl_diag_get(diag, i));
        }
        pcl_diag_free(diag);
        return EXIT_FAIL;
    }
    pcl_diag_free(diag);
    if (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "rotate") == 0 ||
        strcmp(argv[0], "remove") == 0) {
        lockfd = lock_vault(conf);
        if (lockfd < 0) {
            pcl_conf_free(conf);
            return EXIT_FAIL;
        }
    }
    if (strcmp(argv[0], "init") == 0 && argc == 1) {
        rc = cmd_init(conf, gid);
    } else if (strcmp(argv[0], "add") == 0) {
        rc = cmd_add(conf, gid, argc, argv);
    } else if (strcmp(argv[0], "list") == 0 && argc == 1) {
        rc = cmd_list(conf);
    } else if (strcmp(argv[0], "rotate") == 0 && argc == 1) {
        rc = cmd_rotate(conf, gid);
    } else if (strcmp(argv[0], "remove") == 0 && argc == 2) {
        rc = cmd_remove(conf, argv[1]);
    } else if (strcmp(argv[0], "export-ca-pub") == 0 && argc == 2) {
        rc = cmd_export_ca_pub(conf, argv[1]);
    } else {
        usage();
    }
    if (lockfd >= 0) {
        close(lockfd);
    }
    pcl_conf_free(conf);
    return rc;
}
